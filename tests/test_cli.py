"""The `coherence` command as a person at a terminal uses it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine
from typer.testing import CliRunner

from coherence.cli import app
from tests.conftest import SAMPLE_FACILITY
from tests.helpers import Run, cli_runner, packaged_file


@pytest.fixture
def run(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a CLI command against the test database, failing loudly on tracebacks."""
    return cli_runner(engine, tmp_path / "data", monkeypatch)


def test_init_loads_the_library_and_sample_and_prints_a_login(run: Run) -> None:
    result = run("init", "--sample")
    assert "playbooks: 12 shipped" in result.output or "playbooks:" in result.output
    assert "/login?token=coh_" in result.output
    again = run("init", "--sample")
    assert "created 0, updated 0" in again.output


def test_the_incident_loop_from_the_terminal(run: Run) -> None:
    run("init", "--sample")
    opened = json.loads(
        run(
            "incident",
            "open",
            "--asset",
            "fridge-1",
            "--playbook",
            "dilution-refrigerator-warm-up",
            "--as",
            "amara-osei",
            "--json",
        ).stdout
    )
    ref = opened["reference"]
    assert opened["status"] == "detected"
    assert ref in run("incident", "list").output
    run("incident", "ack", ref, "--as", "priya-raman")
    run("incident", "transition", ref, "contained", "--note", "Heaters off")
    run("incident", "assign", ref, "safety_officer", "amara-osei")
    run("incident", "note", ref, "Mixture recovered to tank")
    run(
        "incident",
        "decide",
        ref,
        "Warm to room temperature",
        "--rationale",
        "Pulse tube head failed",
        "--by",
        "amara-osei",
    )
    tasks = json.loads(run("task", "list", ref, "--json").stdout)
    run("task", "done", str(tasks[0]["id"]), "--note", "Checked")
    skipped = run("task", "done", str(tasks[1]["id"]), "--skip", code=1)
    assert "why" in skipped.output
    timeline = json.loads(run("incident", "timeline", ref, "--json").stdout)
    types = [entry["type"] for entry in timeline]
    for expected in (
        "incident:opened",
        "incident:acknowledged",
        "incident:transitioned",
        "role:assigned",
        "incident:note_added",
        "decision:recorded",
        "task:completed",
    ):
        assert expected in types
    shown = run("incident", "show", ref).output
    assert "contained" in shown
    metrics = json.loads(run("incident", "metrics", "--json").stdout)
    assert metrics["metrics"]["time_to_acknowledge"]["count"] == 1


def test_errors_are_one_clear_line_and_exit_1(run: Run) -> None:
    run("init", "--sample")
    missing = run(
        "incident",
        "open",
        "--asset",
        "no-such",
        "--playbook",
        "dilution-refrigerator-warm-up",
        code=1,
    )
    assert "no asset with key 'no-such'" in missing.output
    bad_kind = run(
        "incident",
        "open",
        "--asset",
        "fridge-1",
        "--playbook",
        "dilution-refrigerator-warm-up",
        "--kind",
        "drill",
        code=2,
    )
    assert "drill" in bad_kind.output
    bad_time = run(
        "incident",
        "open",
        "--asset",
        "fridge-1",
        "--playbook",
        "dilution-refrigerator-warm-up",
        "--occurred-at",
        "noon",
        code=1,
    )
    assert "occurred_at" in bad_time.output
    ref = json.loads(
        run(
            "incident",
            "open",
            "--asset",
            "fridge-1",
            "--playbook",
            "dilution-refrigerator-warm-up",
            "--json",
        ).stdout
    )["reference"]
    illegal = run("incident", "transition", ref, "closed", code=1)
    assert "allowed from detected: acknowledged" in illegal.output
    assert "no incident" in run("incident", "show", "INC-424242", code=1).output
    assert "must not be empty" in run("incident", "note", ref, "  ", code=1).output
    anonymous = run("incident", "decide", ref, "Evacuate", "--rationale", "ODH alarm", code=1)
    assert "--by" in anonymous.output


def test_a_malformed_facility_is_rejected_whole(run: Run, tmp_path: Path) -> None:
    run("db", "upgrade")
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE_FACILITY.read_text().replace("site: sc-lab", "site: atlantis", 1))
    result = run("facility", "load", str(broken), code=1)
    assert "atlantis" in result.output
    assert "assets[" in result.output
    unparsable = tmp_path / "unparsable.yaml"
    unparsable.write_text("assets: [\n  - key: x\n")
    assert "line" in run("facility", "load", str(unparsable), code=1).output
    assert "no such file" in run("facility", "load", str(tmp_path / "none.yaml"), code=1).output
    loaded = json.loads(run("facility", "assets", "--json").stdout)
    assert loaded == []


def test_playbook_commands(run: Run, tmp_path: Path) -> None:
    run("init")
    assert "magnet-quench" in run("playbook", "list").output
    shown = run("playbook", "show", "magnet-quench").output
    assert "safety_officer" in shown
    path = tmp_path / "p.yaml"
    path.write_text("key: x\ntitle: y\n")
    invalid = run("playbook", "validate", str(path), code=1)
    assert "steps" in invalid.output
    assert "sev1" in run("playbook", "classes").output
    assert "QBER" in run("playbook", "glossary", "QBER").output


def test_tokens(run: Run) -> None:
    run("init", "--sample")
    created = run("token", "create", "--person", "amara-osei", "--name", "laptop")
    assert created.stdout.strip().startswith("coh_")
    listed = json.loads(run("token", "list", "--json").stdout)
    laptop = next(t for t in listed if t["name"] == "laptop")
    assert "--yes" in run("token", "revoke", str(laptop["id"]), code=1).output
    run("token", "revoke", str(laptop["id"]), "--yes")
    assert "no person" in run("token", "create", "--person", "ghost", code=1).output


def test_an_unmigrated_database_is_refused_with_the_fix(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERENCE_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    result = CliRunner().invoke(app, ["incident", "list"])
    assert result.exit_code == 1
    assert "coherence db upgrade" in result.output
    served = CliRunner().invoke(app, ["serve"])
    assert served.exit_code == 1
    assert "coherence db upgrade" in served.output


def test_production_refuses_the_default_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERENCE_ENVIRONMENT", "production")
    monkeypatch.setenv("COHERENCE_DATABASE_URL", f"sqlite:///{tmp_path / 'x.db'}")
    monkeypatch.delenv("COHERENCE_SECRET_KEY", raising=False)
    result = CliRunner().invoke(app, ["serve"])
    assert result.exit_code == 1
    assert "COHERENCE_SECRET_KEY" in result.output


def test_the_server_log_never_shows_a_token() -> None:
    import logging

    from coherence.cli import RedactTokens

    record = logging.LogRecord(
        "uvicorn.access",
        logging.INFO,
        __file__,
        1,
        '%s "%s"',
        ("127.0.0.1", "GET /login?token=coh_Secret-123_x HTTP/1.1"),
        None,
    )
    RedactTokens().filter(record)
    assert "coh_Secret" not in record.getMessage()
    assert "coh_[redacted]" in record.getMessage()
    # uvicorn's access formatter unpacks the arguments; a masked line must still format.
    assert isinstance(record.args, tuple)
    assert len(record.args) == 2


def test_ledger_and_people_text_print_literally(run: Run) -> None:
    run("init", "--sample")
    ref = json.loads(
        run(
            "incident",
            "open",
            "--asset",
            "fridge-1",
            "--playbook",
            "dilution-refrigerator-warm-up",
            "--json",
        ).stdout
    )["reference"]
    run("incident", "note", ref, "Vendor says [/V3] and [bold]x[/bold]")
    assert "[/V3]" in run("incident", "timeline", ref).output
    entries = json.loads(run("ledger", "list", "--incident", ref, "--json").stdout)
    assert entries[0]["type"] == "incident:opened"
    assert [e["seq"] for e in entries] == sorted(e["seq"] for e in entries)
    assert "no incident" in run("ledger", "list", "--incident", "INC-4242", code=1).output


@pytest.fixture
def fez_props() -> Path:
    """IBM's real ibm_fez calibration snapshot, as the qiskit-ibm-runtime package ships it."""
    return packaged_file(
        "qiskit-ibm-runtime", "qiskit_ibm_runtime/fake_provider/backends/fez/props_fez.json"
    )


def replay_ibm(run: Run, props: str) -> dict[str, Any]:
    """Replay an IBM snapshot onto the sample's qpu-1 and return the JSON summary."""
    result: dict[str, Any] = json.loads(
        run(
            "telemetry",
            "replay",
            props,
            "--format",
            "ibm",
            "--site",
            "sc-lab",
            "--asset",
            "qpu-1",
            "--json",
        ).stdout
    )
    return result


def test_replaying_real_calibrations_opens_one_incident_per_processor(
    run: Run, fez_props: Path
) -> None:
    props = str(fez_props)
    run("init", "--sample")
    result = replay_ibm(run, props)
    assert result["accepted"] == result["read"] > 100
    assert len(result["incidents_opened"]) == 1
    again = replay_ibm(run, props)
    assert again["incidents_opened"] == []


def test_replay_refuses_what_it_cannot_read(run: Run, tmp_path: Path) -> None:
    run("init", "--sample")
    assert (
        "--site" in run("telemetry", "replay", str(tmp_path), "--format", "bluefors", code=1).output
    )
    missing = run(
        "telemetry",
        "replay",
        str(tmp_path / "none.json"),
        "--format",
        "ibm",
        "--site",
        "sc-lab",
        "--asset",
        "qpu-1",
        code=1,
    )
    assert "no such file" in missing.output
    lines = tmp_path / "samples.ndjson"
    lines.write_text(
        '{"site":"sc-lab","asset":"fridge-1","metric":"mxc_temperature_k","value":0.01,'
        '"unit":"K","timestamp":1767607200}\n'
        '{"site":"sc-lab","asset":"atlantis","metric":"mxc_temperature_k","value":0.01,'
        '"unit":"K","timestamp":1767607201}\nnot json\n'
    )
    result = json.loads(
        run("telemetry", "replay", str(lines), "--format", "ndjson", "--json").stdout
    )
    assert result["accepted"] == 1
    assert result["rejected"] == 1
    assert result["skipped_lines"] == 1


def test_simulated_faults_are_checked_before_serving(run: Run) -> None:
    run("init", "--sample")
    assert "--simulate" in run("serve", "--fault", "cooling-outage@fridge-1", code=1).output
    assert "choose from" in run("serve", "--simulate", "--fault", "meteor@fridge-1", code=1).output
    assert "NAME@ASSET" in run("serve", "--simulate", "--fault", "cooling-outage", code=1).output
    assert (
        "strikes"
        in run("serve", "--simulate", "--fault", "cooling-outage@laser-397", code=1).output
    )


def test_a_device_wide_t1_collapse_in_real_data_is_one_severe_incident(
    run: Run, tmp_path: Path, fez_props: Path
) -> None:
    snapshot = json.loads(fez_props.read_text())
    for qubit in snapshot["qubits"]:
        for entry in qubit:
            if entry["name"] == "T1":
                entry["value"] *= 0.1
    degraded = tmp_path / "props_fez_warm.json"
    degraded.write_text(json.dumps(snapshot))
    run("init", "--sample")
    result = replay_ibm(run, str(degraded))
    assert len(result["incidents_opened"]) == 1
    ref = result["incidents_opened"][0]
    shown = json.loads(run("incident", "show", ref, "--json").stdout)
    assert shown["severity"] == "sev1"
    timeline = json.loads(run("incident", "timeline", ref, "--json").stdout)
    assert any("device-wide" in str(e["payload"].get("detail", "")) for e in timeline)


def test_a_t1_collapse_on_a_third_of_a_real_google_device_is_one_incident(
    run: Run, tmp_path: Path
) -> None:
    source = packaged_file(
        "cirq-google",
        "cirq_google/devices/calibrations/willow_pink_d7v1-2024_08_16_calibration.json",
    )
    calibration = json.loads(source.read_text())
    t1_entries = [
        m for m in calibration["metrics"]["metrics"] if m["name"] == "single_qubit_idle_t1_micros"
    ]
    run("init", "--sample")
    replay = ("telemetry", "replay", "--format", "google", "--site", "sc-lab", "--asset", "qpu-1")
    healthy = json.loads(run(*replay, str(source), "--at", "1767607200", "--json").stdout)
    assert healthy["accepted"] == healthy["read"] > 400
    # The real device has one weak qubit (T1 27 us against a median of 70 us): a minor incident.
    [ref] = healthy["incidents_opened"]
    assert json.loads(run("incident", "show", ref, "--json").stdout)["severity"] != "sev1"
    for entry in t1_entries[::3]:
        entry["values"][0]["doubleVal"] *= 0.3
    degraded = tmp_path / "willow_pink_warm.json"
    degraded.write_text(json.dumps(calibration))
    result = json.loads(run(*replay, str(degraded), "--at", "1767610800", "--json").stdout)
    assert result["incidents_opened"] == []
    assert result["incidents_updated"] == [ref]
    assert json.loads(run("incident", "show", ref, "--json").stdout)["severity"] == "sev1"
    timeline = json.loads(run("incident", "timeline", ref, "--json").stdout)
    assert any("device-wide" in str(e["payload"].get("detail", "")) for e in timeline)
