"""`coherence exercise` from the terminal: validate, start, advance, status, end, report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.helpers import cli_runner

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "exercises" / "cooling-outage.yaml"


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_run_from_the_terminal(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoke = cli_runner(engine, tmp_path / "data", monkeypatch)

    def run(*args: str, code: int = 0) -> str:
        return invoke(*args, code=code).output

    run("init", "--sample")
    assert "is valid" in run("exercise", "validate", str(SCENARIO))
    started = json.loads(run("exercise", "start", str(SCENARIO), "--as", "amara-osei", "--json"))
    assert started["reference"] == "EX-00001"
    assert started["incidents"]
    assert "T+2 min" in run("exercise", "advance", "EX-00001")
    assert "T+17 min" in run("exercise", "advance", "1", "--minutes", "15")
    assert "minutes: " in run("exercise", "advance", "1", "--minutes", "-3", code=1)
    assert "running" in run("exercise", "status", "EX-00001")
    assert "ended" in run("exercise", "end", "EX-00001", "--note", "stopped early")
    assert "EX-00001" in run("exercise", "list")
    out = tmp_path / "report.html"
    assert "wrote" in run("exercise", "report", "EX-00001", "--format", "html", "-o", str(out))
    assert out.read_text().startswith("<!doctype html>")
    assert "## Findings" in run("exercise", "report", "EX-00001")
    assert "no exercise" in run("exercise", "status", "EX-00042", code=1)
    bad = tmp_path / "bad.yaml"
    bad.write_text("key: x\n")
    assert "problem" in run("exercise", "validate", str(bad), code=1)
