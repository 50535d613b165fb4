"""`coherence obligation` from the terminal: answers, clocks and a report from draft to sent."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.helpers import Run, cli_runner

KEY = "eu-nis2.early-warning"


@pytest.fixture
def run(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, facility: None) -> Run:
    """Run a CLI command against the test database, failing loudly on tracebacks."""
    monkeypatch.delenv("COHERENCE_OBLIGATIONS_FILE", raising=False)
    return cli_runner(engine, tmp_path / "data", monkeypatch)


def test_a_report_from_answers_to_submission(run: Run, tmp_path: Path) -> None:
    opened = run(
        "incident",
        "open",
        "--asset",
        "fridge-1",
        "--playbook",
        "dilution-refrigerator-warm-up",
        "--as",
        "amara-osei",
        "--json",
    )
    ref = json.loads(opened.stdout)["reference"]
    listed = run("obligation", "list").output
    assert "eu-nis2" in listed
    assert "us-circia" in listed
    assessed = run(
        "obligation",
        "assess",
        ref,
        "--significant",
        "--impact",
        "Fridge 1 warmed up",
        "--as",
        "oskar-nilsen",
    ).output
    assert "started: eu-nis2.early-warning" in assessed
    assert "significant: not yet answered" not in assessed
    assert KEY in run("obligation", "clocks").output
    assert "important entity" in run("obligation", "show", ref).output

    drafted = run("obligation", "draft", ref, KEY, "--as", "oskar-nilsen").output
    assert "still empty: suspected_malicious" in drafted
    assert "Fridge 1 warmed up" in drafted
    run("obligation", "edit", ref, KEY, "--set", "suspected_malicious=no", "--as", "oskar-nilsen")
    own = run("obligation", "review", ref, KEY, "--as", "oskar-nilsen", code=1)
    assert "someone else must review it" in own.output
    run("obligation", "review", ref, KEY, "--as", "amara-osei")
    sent = tmp_path / "sent.txt"
    sent.write_text("Early warning as sent by e-mail.\n", encoding="utf-8")
    submitted = run(
        "obligation",
        "submit",
        ref,
        KEY,
        "--content-file",
        str(sent),
        "--receipt",
        "R-1",
        "--as",
        "amara-osei",
        "--json",
    )
    report = json.loads(submitted.stdout)
    assert report["submitted_sha256"] == hashlib.sha256(sent.read_bytes()).hexdigest()
    running = json.loads(run("obligation", "clocks", "--incident", ref, "--json").stdout)
    assert KEY not in [c["key"] for c in running]
    assert [
        c["state"]
        for c in json.loads(run("obligation", "clocks", "--all", "--json").stdout)
        if c["key"] == KEY
    ] == ["submitted"]
    shown = run("obligation", "report", ref, KEY).output
    assert report["submitted_sha256"] in shown


def test_bad_input_from_the_terminal_names_the_field(run: Run, tmp_path: Path) -> None:
    opened = run(
        "incident",
        "open",
        "--asset",
        "fridge-1",
        "--playbook",
        "dilution-refrigerator-warm-up",
        "--json",
    )
    ref = json.loads(opened.stdout)["reference"]
    assert "aware_at" in run("obligation", "assess", ref, "--aware-at", "yesterday", code=1).output
    naive = run("obligation", "assess", ref, "--aware-at", "2026-01-05T09:00:00", code=1).output
    assert "aware_at" in naive
    assert "report" in run("obligation", "draft", ref, "nis2.warning", code=1).output
    bad = tmp_path / "bad.yaml"
    bad.write_text("obligations:\n  - key: x\n    title: X\n")
    checked = run("obligation", "check", str(bad), code=1).output
    assert "obligations[0].citation" in checked
    assert "obligations[0].enabled" in checked
    assert "6 obligations, 4 on" in run("obligation", "check").output
