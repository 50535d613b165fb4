"""`coherence metrics` at a terminal: figures, kinds kept apart, and the Prometheus text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.helpers import Run, cli_runner


@pytest.fixture
def run(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, facility: None) -> Run:
    """Run a CLI command against the test database with the sample facility loaded."""
    return cli_runner(engine, tmp_path / "data", monkeypatch)


def test_no_incidents_says_so_and_points_at_the_other_kinds(run: Run) -> None:
    shown = run("metrics", "show").output
    assert "No real incidents in this range yet" in shown
    assert "--kind exercise" in shown


def test_an_acknowledged_incident_counts_for_its_kind_only(run: Run) -> None:
    run("incident", "open", "--asset", "fridge-1", "--playbook", "dilution-refrigerator-warm-up")
    run("incident", "ack", "INC-00001", "--as", "amara-osei")
    rows = json.loads(run("metrics", "show", "--json").output)
    mtta = next(r for r in rows if r["metric"] == "mtta")
    assert mtta["count"] == 1
    assert "No exercise incidents" in run("metrics", "show", "--kind", "exercise").output
    exposition = run("metrics", "prometheus").output
    assert "# TYPE" in exposition
    assert 'kind="real"' in exposition
