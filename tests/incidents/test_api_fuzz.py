"""Arbitrary JSON thrown at the write endpoints: never a 500, never a write on refusal."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import counts

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=80),
    st.sampled_from(["fridge-1", "magnet-quench", "INC-00001", "closed"]),
)
JSON = st.recursive(
    SCALARS,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=12), children, max_size=4)
    ),
    max_leaves=12,
)
FIELDS = st.sampled_from(
    [
        "asset",
        "playbook",
        "category",
        "impact",
        "urgency",
        "title",
        "summary",
        "kind",
        "occurred_at",
        "status",
        "note",
        "text",
        "reason",
        "decision",
        "rationale",
        "role",
        "person",
        "decided_by",
    ]
)
BODIES = st.one_of(JSON, st.dictionaries(FIELDS, JSON, max_size=6))
PATHS = st.sampled_from(
    [
        "/api/v1/incidents",
        "/api/v1/incidents/INC-00001/transition",
        "/api/v1/incidents/INC-00001/notes",
        "/api/v1/incidents/INC-00001/decisions",
        "/api/v1/incidents/INC-00001/roles",
        "/api/v1/incidents/INC-00001/reopen",
        "/api/v1/playbooks/validate",
        "/api/v1/facility",
    ]
)


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(path=PATHS, body=BODIES)
def test_hostile_json_never_breaks_the_server(
    client: TestClient, factory: sessionmaker[Session], path: str, body: Any
) -> None:
    if client.get("/api/v1/incidents/INC-00001").status_code == 404:
        opened = client.post(
            "/api/v1/incidents",
            json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"},
        )
        assert opened.status_code == 201
    before = counts(factory)
    response = client.post(path, json=body)
    assert response.status_code < 500, response.text
    payload = response.json()
    if response.status_code >= 400:
        assert payload["message"]
        assert counts(factory) == before
