"""`coherence risk` as a person at a terminal uses it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine

from tests.helpers import Run, cli_runner

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def run(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a CLI command against the test database, failing loudly on tracebacks."""
    monkeypatch.setenv("COLUMNS", "200")
    return cli_runner(engine, tmp_path / "data", monkeypatch)


def test_the_register_from_the_terminal(run: Run) -> None:
    assert "risks risks.yaml: created 7" in run("init", "--sample").output
    listed = json.loads(run("risk", "register", "list", "--json").output)
    assert len(listed) == 7
    run(
        "risk",
        "register",
        "add",
        "chiller-fault",
        "--scenario",
        "Chiller 1 fails",
        "--asset",
        "sc-chiller-1",
        "--likelihood",
        "3",
        "--impact",
        "2",
        "--owner",
        "priya-raman",
        "--review-date",
        "2026-06-01",
        "--control",
        "Second chiller",
        "--category",
        "power_cooling",
        "--as",
        "amara-osei",
    )
    updated = run("risk", "register", "update", "chiller-fault", "--status", "treated", "--json")
    assert json.loads(updated.output)[0]["status"] == "treated"
    shown = run("risk", "register", "list", "--status", "treated")
    assert "chiller-fault" in shown.output
    assert (
        "created 0, updated 0, unchanged 7"
        in run("risk", "register", "load", str(EXAMPLES / "risks.yaml")).output
    )
    bad = run(
        "risk",
        "register",
        "add",
        "x",
        "--scenario",
        "s",
        "--asset",
        "ghost",
        "--likelihood",
        "3",
        "--impact",
        "2",
        "--owner",
        "priya-raman",
        "--review-date",
        "2026-06-01",
        code=1,
    )
    assert "no asset 'ghost'" in bad.output
    worse = run("risk", "register", "update", "chiller-fault", "--likelihood", "7", code=1)
    assert "likelihood" in worse.output
    assert (
        "give at least one field"
        in run("risk", "register", "update", "chiller-fault", code=1).output
    )
    assert "no risk 'ghost'" in run("risk", "register", "show", "ghost", code=1).output


def test_advisories_rates_and_simulation_from_the_terminal(run: Run) -> None:
    run("init", "--sample")
    expires = (datetime.now(UTC) + timedelta(days=30)).isoformat()
    run(
        "risk",
        "advisory",
        "record",
        "cve-2026-0003",
        "--reason",
        "Compressor Modbus accepts unauthenticated writes",
        "--factor",
        "3",
        "--expires",
        expires,
        "--asset",
        "compressor-1",
        "--software",
        "CPA controller 2.1",
        "--reference",
        "CVE-2026-0003",
    )
    listed = json.loads(run("risk", "advisory", "list", "--json").output)
    assert listed[0]["in_force"] is True
    register = run("risk", "register", "list").output
    assert "fridge-1-warm-up: likelihood raised by cve-2026-0003" in register
    assert "no advisory 'ghost'" in run("risk", "advisory", "withdraw", "ghost", code=1).output
    run("risk", "advisory", "withdraw", "cve-2026-0003")
    bad = run(
        "risk",
        "advisory",
        "record",
        "x",
        "--reason",
        "r",
        "--factor",
        "0.5",
        "--expires",
        expires,
        "--asset",
        "fridge-1",
        code=1,
    )
    assert "factor" in bad.output
    rates = run("risk", "rates").output
    assert "pulse_tube_compressor" in rates
    assert "Gamma(1, 2)" in rates
    assert "since" in run("risk", "rates", "--since", "last tuesday", code=1).output
    assert "dilution_refrigerator" in run("risk", "trend").output
    points = json.loads(run("risk", "trend", "--points", "3", "--json").output)
    assert points[-1]["rates"][0]["prior_source"]
    assert json.loads(run("risk", "rates", "--json").output)[0]["mean"] > 0
    simulated = json.loads(
        run(
            "risk",
            "simulate",
            "--trials",
            "5000",
            "--add-redundant",
            "compressor-1",
            "--spare",
            "fridge-1=pulse-tube-head",
            "--repair-hours",
            "laser-729=12",
            "--json",
        ).output
    )
    fridge = next(s for s in simulated["services"] if s["key"] == "fridge-1")
    assert fridge["downtime_hours"] < fridge["baseline_downtime_hours"]
    table = run("risk", "simulate", "--trials", "2000", "--spare", "fridge-1").output
    assert "baseline h/yr" in table
    assert "qpu-1" in table
    assert "add_redundant" in run("risk", "simulate", "--add-redundant", "ghost", code=1).output
    assert (
        "repair_hours" in run("risk", "simulate", "--repair-hours", "fridge-1=soon", code=1).output
    )
