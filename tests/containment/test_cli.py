"""`coherence change` at a terminal: propose, refuse a rollback of what never ran, cancel."""

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


def test_a_change_that_never_ran_cannot_be_rolled_back_but_can_be_cancelled(run: Run) -> None:
    run("incident", "open", "--asset", "fridge-1", "--playbook", "dilution-refrigerator-warm-up")
    proposed = json.loads(
        run(
            "change", "propose", "INC-00001",
            "--title", "Close the still line valve",
            "--what", "Close V-12 on the still line",
            "--why", "Stop the mixture leaving the fridge",
            "--expected-effect", "Still pressure stops falling",
            "--risk", "low",
            "--rollback-plan", "Open V-12",
            "--asset", "fridge-1",
            "--as", "amara-osei",
            "--json",
        ).stdout
    )  # fmt: skip
    change = str(proposed["id"])
    refused = run("change", "rollback", change, "--reason", "undo", "--as", "amara-osei", code=1)
    assert "is proposed and cannot become rolled_back" in refused.output
    empty = run("change", "cancel", change, "--reason", " ", "--as", "amara-osei", code=1)
    assert "reason" in empty.output
    cancelled = json.loads(
        run(
            "change", "cancel", change, "--reason", "Not needed", "--as", "amara-osei", "--json"
        ).stdout
    )
    assert cancelled["state"] == "cancelled"
