"""The recovery API: plan, progress, gates; hostile input is a 4xx naming the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.db import session_scope
from coherence.errors import Conflict
from coherence.recovery import pausing
from tests.conftest import ManualClock

PASSWORD = "correct horse battery staple"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def opened(
    client: TestClient, asset: str = "fridge-1", playbook: str = "dilution-refrigerator-warm-up"
) -> str:
    response = client.post("/api/v1/incidents", json={"asset": asset, "playbook": playbook})
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def test_plan_progress_and_gates_over_the_api(client: TestClient) -> None:
    loaded = client.post(
        "/api/v1/recovery/supply",
        content=(EXAMPLES / "supply.yaml").read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert loaded.status_code == 200
    assert loaded.json()["contracts"] == 4
    ref = opened(client)
    made = client.post(f"/api/v1/incidents/{ref}/recovery", json={})
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["version"] == 1
    assert body["eta_hours"] == 44.0
    assert [s["asset"] for s in body["steps"]] == ["fridge-1", "qpu-1"]
    assert client.post(f"/api/v1/incidents/{ref}/recovery/steps/qpu-1/start").status_code == 409
    started = client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/start")
    assert started.json()["state"] == "in_progress"
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/complete")
    judged = client.post(
        f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/readings",
        json={"readings": [{"metric": "mxc_temperature_k", "value": 0.011, "unit": "K"}]},
    )
    assert judged.status_code == 200, judged.text
    assert judged.json()["state"] == "done"
    shown = client.get(f"/api/v1/incidents/{ref}/recovery").json()
    assert shown["done"] == 1
    assert shown["total"] == 2


def test_the_incident_page_draws_the_plan(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = opened(client)
    client.post(f"/api/v1/incidents/{ref}/recovery", json={"also": ["fridge-2"]})
    with session_scope(factory) as session:
        passwords.set_password(
            session, clock=clock, person_key="amara-osei", password=PASSWORD, actor="test"
        )
    del client.headers["Authorization"]
    response = client.post(
        "/login", data={"person": "amara-osei", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    page = client.get(f"/incidents/{ref}")
    assert page.status_code == 200
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="recovery-plan"' in page.text
    assert "wave 2" in page.text
    assert ">ready<" in page.text
    assert ">waiting" in page.text
    assert "Estimated full service" in page.text


def test_hostile_input_is_refused_naming_the_field_and_changes_nothing(
    client: TestClient,
) -> None:
    ref = opened(client)
    bad = [
        ({"also": ["../../etc"]}, "also"),
        ({"also": ["ghost"]}, "also"),
        ({"parts": {"fridge-1": "x" * 500}}, "parts"),
        ({"unexpected": 1}, "unexpected"),
    ]
    for payload, field in bad:
        response = client.post(f"/api/v1/incidents/{ref}/recovery", json=payload)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert client.get(f"/api/v1/incidents/{ref}/recovery").status_code == 404
    client.post(f"/api/v1/incidents/{ref}/recovery", json={})
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/start")
    wrong = client.post(
        f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/readings",
        json={"readings": [{"metric": "mxc_temperature_k", "value": 0.01, "unit": "furlong"}]},
    )
    assert wrong.status_code == 422
    assert "samples[0]" in wrong.text
    typed = client.post(
        f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/gate",
        json={"gate": "mxc-cold", "passed": True},
    )
    assert typed.status_code == 422
    assert "telemetry" in typed.text
    supply = client.post(
        "/api/v1/recovery/supply",
        json={"spares": [{"site": "nowhere", "part": "p", "quantity": 1, "fits": ["ups"]}]},
    )
    assert supply.status_code == 422
    assert "spares[0].site" in supply.text
    assert client.get("/api/v1/recovery/supply").json()["spares"] == []


def test_telemetry_through_the_normal_intake_passes_a_verifying_step(
    client: TestClient, clock: ManualClock
) -> None:
    client.post(
        "/api/v1/recovery/supply",
        content=(EXAMPLES / "supply.yaml").read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    ref = opened(client)
    assert client.post(f"/api/v1/incidents/{ref}/recovery", json={}).status_code == 201
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/start")
    verifying = client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/complete")
    assert verifying.json()["state"] == "verifying"
    clock.advance(timedelta(seconds=10))  # the detector picks up what recovery watches
    sample = {
        "site": "sc-lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "value": 0.011,
        "unit": "K",
        "timestamp": clock.now().isoformat(),
    }
    sent = client.post("/api/v1/telemetry", json=[sample])
    assert sent.status_code == 200, sent.text
    shown = client.get(f"/api/v1/incidents/{ref}/recovery").json()
    step = next(s for s in shown["steps"] if s["asset"] == "fridge-1")
    assert step["state"] == "done", step
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    assert any(e["actor"] == "detector" and e["type"].startswith("recovery:") for e in timeline)


def report_state(client: TestClient, clock: ManualClock, asset: str, state: int) -> Any:
    """Post a compressor's state twice, 15 s apart: past the rules' 10 s hold."""
    for _ in range(2):
        sample = {
            "site": "sc-lab",
            "asset": asset,
            "metric": "compressor_state",
            "value": state,
            "unit": "state",
            "timestamp": clock.now().isoformat(),
        }
        sent = client.post("/api/v1/telemetry", json=[sample])
        assert sent.status_code == 200, sent.text
        clock.advance(timedelta(seconds=15))
    return sent.json()


def test_a_new_anomaly_pauses_its_branch_as_the_signal_arrives(
    client: TestClient, clock: ManualClock
) -> None:
    ref = opened(client, "sc-chiller-1", "pulse-tube-compressor-fault")
    made = client.post(f"/api/v1/incidents/{ref}/recovery", json={"also": ["sc-chiller-2"]})
    assert made.status_code == 201, made.text
    clock.advance(timedelta(minutes=10))
    # compressor-1 runs: no signal, nothing paused.
    assert not report_state(client, clock, "compressor-1", 3)["incidents_opened"]
    assert client.get(f"/api/v1/incidents/{ref}/recovery").json()["version"] == 1
    # compressor-2 reports an error: the rule fires and its branch pauses at once.
    # The signal opens an incident of its own as well.
    assert report_state(client, clock, "compressor-2", 7)["incidents_opened"]
    shown = client.get(f"/api/v1/incidents/{ref}/recovery").json()  # no refresh
    assert (shown["version"], shown["reason"]) == (2, "paused")
    assert shown["eta_hours"] is None
    states = {s["asset"]: s["state"] for s in shown["steps"]}
    assert states["compressor-2"] == states["fridge-2"] == states["qpu-2"] == "paused"
    assert states["compressor-1"] == states["fridge-1"] == "waiting"
    assert states["sc-chiller-1"] == states["sc-chiller-2"] == "ready"
    note = next(s["note"] for s in shown["steps"] if s["asset"] == "compressor-2")
    assert note == "paused: new signal compressor-2:pulse-tube-compressor-fault"
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    paused = [e for e in timeline if e["type"] == "recovery:paused"]
    assert len(paused) == 1
    assert paused[0]["actor"] == "detector"
    assert paused[0]["payload"]["branch"] == ["compressor-2", "fridge-2", "qpu-2"]
    # Nothing left to pause on that branch: the next refresh changes nothing.
    again = client.post(f"/api/v1/incidents/{ref}/recovery/refresh")
    assert again.json()["version"] == 2


def test_a_signal_on_an_asset_outside_the_plan_changes_nothing(
    client: TestClient, clock: ManualClock
) -> None:
    ref = opened(client)  # fridge-1 and qpu-1
    assert client.post(f"/api/v1/incidents/{ref}/recovery", json={}).status_code == 201
    before = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    clock.advance(timedelta(minutes=10))
    assert report_state(client, clock, "compressor-2", 7)["incidents_opened"]
    shown = client.get(f"/api/v1/incidents/{ref}/recovery").json()
    assert shown["version"] == 1
    assert {s["state"] for s in shown["steps"]} == {"ready", "waiting"}
    after = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    assert after == before


def test_a_recovery_failure_never_loses_the_signal(
    client: TestClient, clock: ManualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    ref = opened(client, "sc-chiller-1", "pulse-tube-compressor-fault")
    client.post(f"/api/v1/incidents/{ref}/recovery", json={"also": ["sc-chiller-2"]})

    def broken(*args: object, **kwargs: object) -> list[object]:
        raise Conflict("the plan is being rewritten", field="plan")

    monkeypatch.setattr(pausing, "pause_for_signal", broken)
    clock.advance(timedelta(minutes=10))
    opened_now = report_state(client, clock, "compressor-2", 7)["incidents_opened"]
    assert len(opened_now) == 1  # the signal and its incident are kept
    timeline = client.get(f"/api/v1/incidents/{opened_now[0]}/timeline").json()
    assert "signal:raised" in [e["type"] for e in timeline]
    assert client.get(f"/api/v1/incidents/{ref}/recovery").json()["version"] == 1
    # The next look at the plan still pauses the branch, from the recorded signal.
    refreshed = client.post(f"/api/v1/incidents/{ref}/recovery/refresh").json()
    assert {s["asset"]: s["state"] for s in refreshed["steps"]}["compressor-2"] == "paused"
