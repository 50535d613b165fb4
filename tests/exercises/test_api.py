"""The exercise API, runner and pages: hostile scenarios are refused naming the field and
change nothing; complications really fail pages; accelerated clocks fire on their own."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import yaml
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.comms.channels import MemoryChannel
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.models import DeliveryAttempt, OutboxMessage
from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.exercises.runner import Runner
from coherence.recovery import supply_service
from tests.conftest import ManualClock
from tests.helpers import counts

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "exercises" / "cooling-outage.yaml"


def scenario(**changes: Any) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SCENARIO.read_text())
    data.update(changes)
    return data


def start(client: TestClient, data: dict[str, Any]) -> Any:
    return client.post("/api/v1/exercises", json=data)


def test_bad_scenarios_name_the_field_and_change_nothing(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    before = counts(factory)
    injects = scenario()["injects"]
    cases = {
        "playbook": scenario(playbook="no-such-playbook"),
        "assets[0]": scenario(assets=["nowhere"]),
        "assets[1]": scenario(assets=["compressor-1", "qpu-ion-1"]),
        "injects[0].metric": scenario(injects=[{**injects[0], "metric": "flux_capacitance"}]),
        "injects[0].values[1]": scenario(injects=[{**injects[0], "values": [20.0, "hot"]}]),
        "injects[0].kind": scenario(injects=[{**injects[0], "kind": "earthquake"}]),
        "injects[0]": scenario(injects=[{**injects[1], "role": "incident_commander"}]),
        "step_dependencies.restart-compressor[0]": scenario(
            step_dependencies={"restart-compressor": ["pray"]}
        ),
        "clock": scenario(clock={"mode": "accelerated", "speed": 1}),
        "surprise": scenario(surprise=True),
    }
    for field, data in cases.items():
        for path in ("/api/v1/exercises/validate", "/api/v1/exercises"):
            response = client.post(path, json=data)
            assert response.status_code == 422, (field, response.text)
            paths = [p["path"] for p in response.json()["problems"]]
            assert any(p.startswith(field) for p in paths), (field, paths)
    for body in (b"", b"- a list", b"key: [unclosed", b"\xff\xfe"):
        response = client.post(
            "/api/v1/exercises", content=body, headers={"Content-Type": "application/yaml"}
        )
        assert response.status_code == 422
        assert response.json()["field"] == "body"
    assert client.get("/api/v1/exercises/EX-99999").status_code == 404
    assert client.post("/api/v1/exercises/nonsense/advance", json={}).status_code == 404
    assert counts(factory) == before
    assert client.get("/api/v1/exercises").json() == []


def test_stepping_rules_and_the_end(client: TestClient, clock: ManualClock) -> None:
    exercise = start(client, scenario()).json()["reference"]
    bad = client.post(f"/api/v1/exercises/{exercise}/advance", json={"minutes": -5})
    assert bad.status_code == 422
    assert bad.json()["field"] == "minutes"
    assert client.post(f"/api/v1/exercises/{exercise}/advance", json={"x": 1}).status_code == 422
    clock.advance(timedelta(seconds=10))
    stepped = client.post(f"/api/v1/exercises/{exercise}/advance", json={"minutes": 6})
    assert stepped.json()["elapsed_minutes"] == 6
    fired = [i["status"] for i in stepped.json()["injects"]]
    assert fired[:3] == ["fired", "fired", "fired"]
    assert fired[3] == "pending"
    assert stepped.json()["complications"] == ["sms down"]
    ended = client.post(f"/api/v1/exercises/{exercise}/end")
    assert ended.status_code == 200
    assert ended.json()["next_inject_minutes"] is None
    again = client.post(f"/api/v1/exercises/{exercise}/advance", json={})
    assert again.status_code == 409
    assert again.json()["field"] == "exercise"
    token = client.headers["Authorization"].removeprefix("Bearer ")
    assert client.get(f"/login?token={token}", follow_redirects=False).status_code == 303
    page = client.get(f"/exercises/{exercise}")
    assert page.status_code == 200
    assert "<svg" in page.text
    assert "exercise-timeline" in page.text
    assert exercise in client.get("/exercises").text
    missing = client.get("/exercises/EX-99999")
    assert missing.status_code == 404
    assert "no exercise" in missing.text


def test_complications_fail_pages_for_real(
    client: TestClient, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    exercise = start(client, scenario()).json()["reference"]
    for _ in range(5):
        clock.advance(timedelta(seconds=10))
        client.post(f"/api/v1/exercises/{exercise}/advance", json={})
    console = MemoryChannel(name="exercise")
    dispatcher = Dispatcher(factory, clock=clock, channels={"exercise": console}, fallback=None)
    try:
        dispatcher.run_once()
    finally:
        dispatcher.close()
    with session_scope(factory) as session:
        injected = session.scalars(
            select(OutboxMessage).where(OutboxMessage.reason == "exercise:inject")
        ).all()
        pio, commander = injected[0], injected[1]
        # SMS down since T+2: the PIO's SMS contact point is the failing channel.
        assert [c["channel"] for c in pio.contacts or []] == ["exercise", "exercise-down"]
        assert pio.status == "sent"
        # The commander unreachable since T+10: every contact point fails.
        attempts = session.scalars(
            select(DeliveryAttempt).where(DeliveryAttempt.message_id == commander.id)
        ).all()
        assert attempts
        assert {(a.channel, a.outcome) for a in attempts} == {("exercise-down", "refused")}
        assert commander.status == "pending"
        assert commander.rounds == 1
    assert console.sent
    assert all(m.address.startswith("email:") for m in console.sent)


def test_an_accelerated_clock_fires_injects_as_it_reaches_them(
    client: TestClient, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    fast = start(client, scenario(clock={"mode": "accelerated", "speed": 60})).json()
    assert fast["mode"] == "accelerated"
    refused = client.post(f"/api/v1/exercises/{fast['reference']}/advance", json={"minutes": 5})
    assert refused.status_code == 409
    runner = Runner(factory, clock=clock)
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock.advance(timedelta(seconds=seconds))

    assert runner.run(fast["id"], actor="director", sleep=sleep) == 8
    status = client.get(f"/api/v1/exercises/{fast['reference']}").json()
    assert all(i["status"] == "fired" for i in status["injects"])
    assert 59 <= status["elapsed_minutes"] <= 61
    assert sum(slept) <= 61


def test_a_back_ordered_spare_is_gone_from_the_drills_plan_only(
    client: TestClient, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    supply = Path(__file__).resolve().parents[2] / "examples" / "supply.yaml"
    with session_scope(factory) as session:
        supply_service.load_supply(
            session, clock=clock, data=load_yaml_file(supply), actor="test", source="supply.yaml"
        )
    exercise = start(client, scenario()).json()["reference"]
    clock.advance(timedelta(seconds=10))
    status = client.post(f"/api/v1/exercises/{exercise}/advance", json={"minutes": 31}).json()
    assert "spare adsorber-cartridge back-ordered" in status["complications"]
    drill = status["incidents"][0]
    fault = {"asset": "compressor-2", "playbook": "pulse-tube-compressor-fault"}
    real = client.post("/api/v1/incidents", json=fault).json()["reference"]
    sources = {}
    for ref, asset in ((drill, "compressor-1"), (real, "compressor-2")):
        plan = client.post(
            f"/api/v1/incidents/{ref}/recovery", json={"parts": {asset: "adsorber-cartridge"}}
        )
        assert plan.status_code == 201, plan.text
        step = next(s for s in plan.json()["steps"] if s["asset"] == asset)
        sources[ref] = step["part"]["source"]
    # The drill must find its adsorber elsewhere; the real incident still draws the spare.
    assert sources[drill] in ("vendor", "mutual_aid")
    assert sources[real] == "spare"
