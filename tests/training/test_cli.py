"""`coherence training` and `coherence watch` as a person at a terminal uses them."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from coherence import console
from coherence.clock import ManualClock
from tests.test_cli import Run, run  # noqa: F401 - the CLI fixture


def test_init_sample_loads_training_and_readiness_shows_it(run: Run) -> None:  # noqa: F811
    first = run("init", "--sample")
    assert "curriculum curriculum.yaml: version 1 (new), 7 courses" in first.output
    assert "training training.yaml: created 36, unchanged 0" in first.output
    again = run("init", "--sample")
    assert "training training.yaml: created 0, unchanged 36" in again.output
    assert "version 1 (unchanged)" in again.output
    read = json.loads(run("training", "readiness", "--days", "2", "--json").stdout)
    assert {r["role"] for r in read["roles"]} == {"incident_commander", "safety_officer"}
    gaps = json.loads(run("training", "on-call", "--days", "30", "--json").stdout)
    assert any(g["person"] == "chen-wei" for g in gaps)
    shown = run("training", "show", "yuki-tanaka")
    assert "ic-tabletop" in shown.output
    assert "incident-command" in run("training", "curriculum", "show").output
    refused = run(
        "training",
        "record",
        "helen-marsh",
        "--course",
        "nope",
        "--on",
        "2025-01-01",
        "--assessor",
        "x",
        code=1,
    )
    assert "no course 'nope'" in refused.output
    bad_day = run(
        "training",
        "record",
        "helen-marsh",
        "--course",
        "odh-awareness",
        "--on",
        "yesterday",
        "--assessor",
        "x",
        code=1,
    )
    assert "completed_on" in bad_day.output
    run(
        "training",
        "exercise",
        "yuki-tanaka",
        "--exercise",
        "EX-9",
        "--on",
        "2025-12-01",
        "--drill",
        "ic-tabletop",
        "--score",
        "90",
    )
    assert "EX-9" in run("training", "show", "yuki-tanaka").output


def test_assigning_an_unqualified_commander_from_the_terminal(
    run: Run,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Midday today: the sample's evening rotation puts chen-wei on call as commander already.
    midday = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    monkeypatch.setattr(console, "clock", lambda: ManualClock(midday))
    run("init", "--sample")
    opened = json.loads(
        run(
            "incident",
            "open",
            "--asset",
            "qkd-node-harbour",
            "--playbook",
            "qkd-error-rate-spike",
            "--as",
            "fatima-idrissi",
            "--json",
        ).stdout
    )
    ref = opened["reference"]
    monkeypatch.setenv("COHERENCE_QUALIFICATION_POLICY", "refuse")
    refused = run("incident", "assign", ref, "incident_commander", "chen-wei", code=1)
    assert "override_reason" in refused.output
    run(
        "incident",
        "assign",
        ref,
        "incident_commander",
        "chen-wei",
        "--override-reason",
        "Fatima is evacuating the building",
    )
    timeline = json.loads(run("incident", "timeline", ref, "--json").stdout)
    override = next(e for e in timeline if e["type"] == "qualification:overridden")
    assert override["payload"]["reason"] == "Fatima is evacuating the building"
    history = json.loads(run("watch", "history", ref, "--json").stdout)
    assert history["incident"] == ref
    assert "unusual access raised: 0" in run("watch", "run").output
    assert json.loads(run("watch", "findings", "--json").stdout) == []
