"""Unified command: joint objectives per operational period and the status summary."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.partners import service
from tests.conftest import ManualClock
from tests.helpers import counts

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agreements.yaml"
WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}


@pytest.fixture
def ref(client: TestClient, factory: sessionmaker[Session], clock: ManualClock) -> str:
    with session_scope(factory) as session:
        service.load_agreements(
            session, clock=clock, data=load_yaml_file(SAMPLE), actor="test", source="sample"
        )
    reference: str = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    return reference


def period(clock: ManualClock, **changes: object) -> dict[str, object]:
    start = clock.now()
    body: dict[str, object] = {
        "starts_at": start.isoformat(),
        "ends_at": (start + timedelta(hours=12)).isoformat(),
        "objectives": ["Keep the mixing chamber below 1 K", "Recover the helium mixture"],
        "organisations": ["polar-cryogenics"],
        "safety_message": "Oxygen monitors on before entering the pit.",
    }
    return {**body, **changes}


def test_objectives_per_period_are_set_in_order_and_ledgered(
    client: TestClient, ref: str, clock: ManualClock
) -> None:
    first = client.post(f"/api/v1/incidents/{ref}/periods", json=period(clock))
    assert first.status_code == 201, first.text
    assert first.json()["number"] == 1
    assert set(first.json()["organisations"]) >= {"northbridge", "polar-cryogenics"}
    clock.advance(timedelta(hours=12))
    second = client.post(
        f"/api/v1/incidents/{ref}/periods", json=period(clock, objectives=["Warm up safely"])
    )
    assert second.json()["number"] == 2
    listed = client.get(f"/api/v1/incidents/{ref}/periods").json()
    assert [p["number"] for p in listed] == [1, 2]
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    assert [e["payload"]["number"] for e in timeline if e["type"] == "incident:period_set"] == [
        1,
        2,
    ]
    summary = client.get(f"/api/v1/incidents/{ref}/summary").json()
    assert summary["period"]["objectives"] == ["Warm up safely"]


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"ends_at": "2026-01-05T09:00:00+00:00"}, "ends_at"),
        ({"ends_at": "2026-02-05T09:00:00+00:00"}, "ends_at"),
        ({"objectives": []}, "objectives"),
        ({"objectives": ["x" * 501]}, "objectives[0]"),
        ({"organisations": ["no-such-org"]}, "organisations"),
        ({"starts_at": "yesterday"}, "starts_at"),
        ({"starts_at": "2026-01-05T10:00:00"}, "starts_at"),
        ({"extra": 1}, "extra"),
    ],
)
def test_a_bad_period_names_the_field_and_changes_nothing(
    client: TestClient,
    ref: str,
    clock: ManualClock,
    factory: sessionmaker[Session],
    changes: dict[str, object],
    field: str,
) -> None:
    before = counts(factory)
    refused = client.post(f"/api/v1/incidents/{ref}/periods", json=period(clock, **changes))
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert counts(factory) == before


def test_a_scribe_may_not_set_objectives(
    client: TestClient, ref: str, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    client.post(f"/api/v1/incidents/{ref}/roles", json={"role": "scribe", "person": "oskar-nilsen"})
    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="oskar-nilsen", name="t", actor="t"
        )
    refused = client.post(
        f"/api/v1/incidents/{ref}/periods",
        json=period(clock),
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert refused.status_code == 403


def test_the_status_summary_is_built_from_the_incidents_records(
    client: TestClient, ref: str, clock: ManualClock
) -> None:
    client.post(f"/api/v1/incidents/{ref}/periods", json=period(clock))
    client.post(
        f"/api/v1/incidents/{ref}/decisions",
        json={"decision": "Warm up to 4 K", "rationale": "Compressor lost"},
    )
    summary = client.get(f"/api/v1/incidents/{ref}/summary").json()
    assert summary["incident"] == ref
    assert summary["phase"] == "detected"
    assert summary["decisions"][0]["decision"] == "Warm up to 4 K"
    assert summary["tasks"]["open"] > 0
    partners = {p["organisation"]: p for p in summary["partners"]}
    assert "polar-cryogenics" in partners
    aid = [a["resource"] for a in partners["polar-cryogenics"]["mutual_aid"]]
    assert "250 L liquid helium-4 dewar" in aid
    assert "polar-cryogenics" in summary["organisations"]
    page = client.get(f"/api/v1/incidents/{ref}/summary", params={"format": "markdown"})
    assert page.headers["content-type"].startswith("text/markdown")
    assert "1. Keep the mixing chamber below 1 K" in page.text
    assert "can lend: 2 of 250 L liquid helium-4 dewar" in page.text
    assert (
        client.get(f"/api/v1/incidents/{ref}/summary", params={"format": "pdf"}).status_code == 422
    )
