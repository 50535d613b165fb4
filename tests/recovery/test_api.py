"""The recovery API: plan, progress, gates; hostile input is a 4xx naming the field."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.db import session_scope
from tests.conftest import ManualClock

PASSWORD = "correct horse battery staple"

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def opened(client: TestClient, asset: str = "fridge-1") -> str:
    response = client.post(
        "/api/v1/incidents",
        json={"asset": asset, "playbook": "dilution-refrigerator-warm-up"},
    )
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
