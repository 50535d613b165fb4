"""On-call overrides and handoffs: cover for a while, then the rotation's turn again."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from tests.helpers import counts

SHIFT_END = datetime(2026, 1, 5, 19, 0, tzinfo=UTC)


def oncall(client: TestClient, at: datetime) -> dict[str, Any]:
    response = client.get(
        "/api/v1/oncall", params={"site": "sc-lab", "role": "operations", "at": at.isoformat()}
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def cover(client: TestClient, clock: ManualClock, **changes: Any) -> Any:
    body = {
        "person": "jonas-veldhuis",
        "starts_at": clock.now().isoformat(),
        "ends_at": (clock.now() + timedelta(hours=4)).isoformat(),
        "reason": "Priya is at the dentist",
        **changes,
    }
    return client.post("/api/v1/rotations/sc-lab-ops/overrides", json=body)


def test_the_shift_says_when_it_hands_over(client: TestClient, clock: ManualClock) -> None:
    now = oncall(client, clock.now())
    assert (now["person"], now["covering"]) == ("priya-raman", False)
    assert datetime.fromisoformat(now["until"]) == SHIFT_END
    assert oncall(client, SHIFT_END)["person"] == "tomasz-kowal"


def test_an_override_covers_its_window_and_no_more(client: TestClient, clock: ManualClock) -> None:
    made = cover(client, clock)
    assert made.status_code == 201, made.text
    during = oncall(client, clock.now() + timedelta(hours=1))
    assert (during["person"], during["covering"]) == ("jonas-veldhuis", True)
    assert datetime.fromisoformat(during["until"]) == clock.now() + timedelta(hours=4)
    after = oncall(client, clock.now() + timedelta(hours=4))
    assert (after["person"], after["covering"]) == ("priya-raman", False)
    listed = client.get("/api/v1/oncall/overrides").json()
    assert [o["id"] for o in listed] == [made.json()["id"]]
    cancelled = client.delete(f"/api/v1/oncall/overrides/{made.json()['id']}")
    assert cancelled.status_code == 200
    assert oncall(client, clock.now() + timedelta(hours=1))["person"] == "priya-raman"
    assert client.delete(f"/api/v1/oncall/overrides/{made.json()['id']}").status_code == 404


def test_an_incident_opened_during_cover_pages_the_cover(
    client: TestClient, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    assert cover(client, clock).status_code == 201
    opened = client.post(
        "/api/v1/incidents",
        json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"},
    )
    assert opened.json()["roles"]["operations"] == "jonas-veldhuis"
    with session_scope(factory) as session:
        addresses = set(session.scalars(select(OutboxMessage.address)))
    assert "jonas.veldhuis@example.org" in addresses


@pytest.mark.parametrize(
    ("changes", "status", "field"),
    [
        ({"person": "helen-marsh"}, 422, "person"),
        ({"person": "nobody"}, 404, "person"),
        ({"ends_at": "2026-01-05T09:00:00+00:00"}, 422, "until"),
        ({"starts_at": "2025-12-01T00:00:00+00:00"}, 422, "until"),
        ({"ends_at": "2026-03-01T00:00:00+00:00"}, 422, "until"),
        ({"ends_at": "2026-01-05T12:00:00"}, 422, "ends_at"),
        ({"reason": ""}, 422, "reason"),
        ({"extra": 1}, 422, "extra"),
    ],
)
def test_bad_overrides_are_refused_and_change_nothing(
    client: TestClient,
    clock: ManualClock,
    factory: sessionmaker[Session],
    changes: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = counts(factory)
    response = cover(client, clock, **changes)
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("field") == field or field in str(body.get("problems"))
    assert counts(factory) == before


def test_an_unknown_rotation_is_named(client: TestClient, clock: ManualClock) -> None:
    response = client.post(
        "/api/v1/rotations/nope/overrides",
        json={
            "person": "jonas-veldhuis",
            "starts_at": clock.now().isoformat(),
            "ends_at": (clock.now() + timedelta(hours=1)).isoformat(),
            "reason": "x",
        },
    )
    assert (response.status_code, response.json()["field"]) == (404, "rotation")
