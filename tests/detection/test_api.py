"""Telemetry and alerts over HTTP, through the detector, into incidents."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from tests.conftest import START
from tests.helpers import counts

T0 = START.timestamp()


def mxc(at: float, value: float, **extra: Any) -> dict[str, Any]:
    return {
        "site": "sc-lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "value": value,
        "unit": "K",
        "timestamp": at,
        **extra,
    }


def post(client: TestClient, samples: list[dict[str, Any]]) -> dict[str, Any]:
    response = client.post("/api/v1/telemetry", json=samples)
    assert response.status_code in (200, 422), response.text
    body: dict[str, Any] = response.json()
    return body


def test_a_warming_fridge_becomes_one_incident_with_evidence(client: TestClient) -> None:
    normal = post(client, [mxc(T0 + t, 0.010) for t in range(0, 60, 10)])
    assert normal == {
        "accepted": 6,
        "rejected": [],
        "incidents_opened": [],
        "incidents_updated": [],
    }
    warming = post(client, [mxc(T0 + 60 + t, 0.06) for t in range(0, 130, 10)])
    assert len(warming["incidents_opened"]) == 1
    ref = warming["incidents_opened"][0]
    still = post(client, [mxc(T0 + 200 + t, 0.07) for t in range(0, 400, 20)])
    assert still["incidents_opened"] == []
    incident = client.get(f"/api/v1/incidents/{ref}").json()
    assert incident["playbook"] == "dilution-refrigerator-warm-up"
    assert incident["severity"] == "sev2"
    timeline = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    assert "signal:raised" in timeline
    assert "evidence:captured" in timeline
    listed = client.get("/api/v1/incidents").json()
    assert listed["total"] == 1


def test_bad_samples_are_listed_and_the_rest_accepted(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    batch = [
        mxc(T0, 0.01),
        mxc(T0 + 1, 0.01, asset="atlantis"),
        mxc(T0 + 2, 0.01, unit="furlong"),
        mxc(T0 + 3, 0.01, site="ion-lab"),
        mxc(T0 + 4, "warm"),
        mxc(T0 + 5, 0.01),
    ]
    result = post(client, batch)
    assert result["accepted"] == 2
    assert [(r["index"], r["field"]) for r in result["rejected"]] == [
        (1, "asset"),
        (2, "unit"),
        (3, "site"),
        (4, "value"),
    ]
    before = counts(factory)
    nothing = client.post("/api/v1/telemetry", json=[mxc(T0, 0.01, asset="atlantis")])
    assert nothing.status_code == 422
    assert counts(factory) == before


def test_ndjson_and_columnar_bodies(client: TestClient) -> None:
    lines = b"\n".join(orjson.dumps(mxc(T0 + t, 0.01)) for t in range(3)) + b"\nnot json\n"
    result = client.post(
        "/api/v1/telemetry", content=lines, headers={"content-type": "application/x-ndjson"}
    ).json()
    assert result["accepted"] == 3
    assert result["rejected"][0]["index"] == 3
    columnar = {
        "site": "sc-lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "unit": "K",
        "timestamps": [T0 + 10, T0 + 11],
        "values": [0.01, 0.011],
    }
    assert client.post("/api/v1/telemetry", json=columnar).json()["accepted"] == 2


@pytest.mark.parametrize(
    "body", [b"", b"hello", b"[1, 2", b'"a string"', b"{}", b"[" + b"[" * 5000 + b"]" * 5001]
)
def test_hostile_bodies_are_refused_cleanly(
    client: TestClient, factory: sessionmaker[Session], body: bytes
) -> None:
    before = counts(factory)
    response = client.post(
        "/api/v1/telemetry", content=body, headers={"content-type": "application/json"}
    )
    assert 400 <= response.status_code < 500, response.text
    assert response.json()["message"]
    assert counts(factory) == before


def test_a_silent_sensor_raises_a_signal(client: TestClient, clock: ManualClock) -> None:
    from datetime import timedelta

    post(client, [mxc(T0, 0.01)])
    pipeline = client.app.state.pipeline  # type: ignore[attr-defined]
    clock.advance(timedelta(minutes=4))
    assert not pipeline.sweep().opened
    clock.advance(timedelta(minutes=2))
    pipeline.sweep()  # the app's own sweeper may raise it first: one incident either way
    [listed] = client.get("/api/v1/incidents").json()["items"]
    ref = listed["reference"]
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    raised = [e for e in timeline if e["type"] == "signal:raised"]
    assert "no mxc_temperature_k" in raised[0]["payload"]["detail"]
    back = post(client, [mxc(clock.now().timestamp(), 0.01)])
    assert back["incidents_updated"] == [ref]


def alertmanager(status: str) -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": "g",
        "status": status,
        "receiver": "coherence",
        "groupLabels": {},
        "commonLabels": {},
        "commonAnnotations": {},
        "externalURL": "http://prometheus.local",
        "truncatedAlerts": 0,
        "alerts": [
            {
                "status": status,
                "labels": {
                    "alertname": "CompressorOilHot",
                    "asset": "compressor-1",
                    "severity": "critical",
                },
                "annotations": {"summary": "Compressor oil temperature high"},
                "startsAt": "2026-01-05T09:59:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.local/graph",
                "fingerprint": "c0ffee",
            }
        ],
    }


def test_alertmanager_firing_then_resolved(client: TestClient) -> None:
    fired = client.post("/api/v1/alerts/alertmanager", json=alertmanager("firing")).json()
    ref = fired["incidents_opened"][0]
    incident = client.get(f"/api/v1/incidents/{ref}").json()
    assert incident["severity"] == "sev1"
    assert incident["category"] == "cryogenic"
    again = client.post("/api/v1/alerts/alertmanager", json=alertmanager("firing")).json()
    assert again["incidents_opened"] == []
    assert again["incidents_updated"] == [ref]
    client.post("/api/v1/alerts/alertmanager", json=alertmanager("resolved"))
    timeline = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    assert "signal:cleared" in timeline
    wrong = client.post(
        "/api/v1/alerts/alertmanager", json={**alertmanager("firing"), "version": "3"}
    )
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "version"


def test_a_generic_signal(client: TestClient) -> None:
    signal = {
        "source": "epics-alarm-server",
        "dedup_key": "epics:ion-vacuum:pressure",
        "asset": "ion-vacuum",
        "severity": "MAJOR",
        "status": "firing",
        "summary": "Ion pump current high",
    }
    result = client.post("/api/v1/signals", json=signal).json()
    assert len(result["incidents_opened"]) == 1
    missing = client.post("/api/v1/signals", json={**signal, "asset": None})
    assert missing.status_code == 422


@pytest.fixture
def simulating(
    engine: Any,
    clock: ManualClock,
    facility: None,
    tmp_path: Any,
    factory: sessionmaker[Session],
) -> Any:
    from coherence.access import service as access_service
    from coherence.app import create_app
    from coherence.db import session_scope
    from coherence.settings import Settings

    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="amara-osei", name="test", actor="test"
        )
    app = create_app(
        Settings(data_dir=tmp_path / "data"),
        engine=engine,
        clock=clock,
        run_workers=False,
        simulate=(),
    )
    # Stopped before it starts, so the test drives it by hand with the manual clock.
    app.state.simulation.stop()
    with TestClient(app) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client


def test_faults_are_injected_into_a_running_simulation(
    simulating: TestClient, clock: ManualClock
) -> None:
    from datetime import timedelta

    injected = simulating.post(
        "/api/v1/simulator/faults", json={"fault": "magnet-quench", "asset": "ion-magnet"}
    )
    assert injected.status_code == 201, injected.text
    assert [f["asset"] for f in simulating.get("/api/v1/simulator/faults").json()] == ["ion-magnet"]
    runner = simulating.app.state.simulation  # type: ignore[attr-defined]
    clock.advance(timedelta(seconds=5))
    runner.tick()
    listed = simulating.get("/api/v1/incidents").json()
    assert [i["asset"] for i in listed["items"]] == ["ion-magnet"]
    for body, field in (
        ({"fault": "meteor", "asset": "ion-magnet"}, "fault"),
        ({"fault": "magnet-quench", "asset": "fridge-1"}, "asset"),
        ({"fault": "magnet-quench", "asset": "nowhere"}, "asset"),
        ({"fault": "magnet-quench", "asset": "ion-magnet", "after_seconds": -1}, "after_seconds"),
    ):
        refused = simulating.post("/api/v1/simulator/faults", json=body)
        assert refused.status_code == 422
        assert refused.json()["field"] == field


def test_fault_injection_without_a_simulation_says_how_to_start_one(client: TestClient) -> None:
    refused = client.post(
        "/api/v1/simulator/faults", json={"fault": "magnet-quench", "asset": "ion-magnet"}
    )
    assert refused.status_code == 409
    assert "--simulate" in refused.json()["message"]
