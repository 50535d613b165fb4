"""Containment over HTTP: two-person approval, preconditions, the gate and its override."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from tests.conftest import ManualClock
from tests.helpers import counts

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
Headers = Callable[[str], dict[str, str]]


def open_staffed(client: TestClient) -> str:
    """Open a fridge warm-up (by amara-osei) with kwame-asante commanding; return its ref."""
    ref: str = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    assigned = client.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "incident_commander", "person": "kwame-asante"},
    )
    assert assigned.status_code == 200, assigned.text
    assert client.post(f"/api/v1/incidents/{ref}/ack").status_code == 200
    return ref


def entries(factory: sessionmaker[Session], entry_type: str) -> list[dict[str, Any]]:
    with session_scope(factory) as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.entry_type == entry_type))
        return [json.loads(row.payload) for row in rows]


def fridge_change(client: TestClient, ref: str) -> dict[str, Any]:
    changes = client.get(f"/api/v1/incidents/{ref}/changes").json()
    assert len(changes) == 1
    change: dict[str, Any] = changes[0]
    return change


def execute_ready(client: TestClient, as_person: Headers, ref: str) -> int:
    """Approve the fridge change twice, check its preconditions and execute it."""
    change = fridge_change(client, ref)
    for approver in ("kwame-asante", "priya-raman"):
        approved = client.post(
            f"/api/v1/changes/{change['id']}/approve", json={}, headers=as_person(approver)
        )
        assert approved.status_code == 200, approved.text
    for number in range(1, len(change["preconditions"]) + 1):
        checked = client.post(
            f"/api/v1/changes/{change['id']}/check", json={"precondition": number}
        )
        assert checked.status_code == 200, checked.text
    executed = client.post(f"/api/v1/changes/{change['id']}/execute", json={})
    assert executed.status_code == 200, executed.text
    assert executed.json()["state"] == "executed"
    return int(change["id"])


def test_the_fridge_playbook_proposes_its_safe_state_change(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = open_staffed(client)
    change = fridge_change(client, ref)
    assert change["procedure"] == "fridge-safe-state"
    assert change["safety_critical"] is True
    assert change["approvals_needed"] == 2
    assert change["state"] == "proposed"
    assert change["assets"] == ["fridge-1"]
    assert change["proposed_by"] == "amara-osei"
    assert len(change["preconditions"]) == 3
    assert all(not p["met"] for p in change["preconditions"])
    assert entries(factory, "change:proposed")[0]["procedure"] == "fridge-safe-state"
    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="kwame-asante", name="web", actor="test"
        )
    browser = TestClient(client.app, raise_server_exceptions=False)
    browser.post("/login", data={"token": secret}, follow_redirects=False)
    page = browser.get(f"/incidents/{ref}")
    assert page.status_code == 200
    assert 'id="changes"' in page.text
    assert "SAFETY-CRITICAL" in page.text
    assert "Proposed, awaiting approval" in page.text


def test_two_person_rule(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    change_id = fridge_change(client, ref)["id"]
    before = counts(factory)
    by_proposer = client.post(f"/api/v1/changes/{change_id}/approve", json={})
    assert by_proposer.status_code == 409
    assert "cannot approve" in by_proposer.json()["message"]
    assert counts(factory) == before
    kwame = as_person("kwame-asante")
    first = client.post(f"/api/v1/changes/{change_id}/approve", json={}, headers=kwame)
    assert first.status_code == 200
    assert first.json()["state"] == "proposed"
    before = counts(factory)
    twice = client.post(f"/api/v1/changes/{change_id}/approve", json={}, headers=kwame)
    assert twice.status_code == 409
    assert "already approved" in twice.json()["message"]
    refused = client.post(f"/api/v1/changes/{change_id}/execute", json={})
    assert refused.status_code == 409
    body = refused.json()
    assert body["field"] == "approvals"
    assert "two-person approval" in body["message"]
    assert "1 of 2" in body["message"]
    assert counts(factory) == before
    second = client.post(
        f"/api/v1/changes/{change_id}/approve", json={}, headers=as_person("priya-raman")
    )
    assert second.json()["state"] == "approved"
    assert [e["approved"] for e in entries(factory, "change:approved")] == [False, True]


def test_unmet_preconditions_refuse_execution(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    change_id = fridge_change(client, ref)["id"]
    for approver in ("kwame-asante", "priya-raman"):
        client.post(f"/api/v1/changes/{change_id}/approve", json={}, headers=as_person(approver))
    client.post(f"/api/v1/changes/{change_id}/check", json={"precondition": 1})
    before = counts(factory)
    refused = client.post(f"/api/v1/changes/{change_id}/execute", json={})
    assert refused.status_code == 409
    assert refused.json()["field"] == "preconditions"
    assert "2 precondition(s)" in refused.json()["message"]
    out_of_range = client.post(f"/api/v1/changes/{change_id}/check", json={"precondition": 9})
    assert out_of_range.status_code == 409
    assert counts(factory) == before


def test_the_containment_gate_and_its_override(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    change_id = execute_ready(client, as_person, ref)
    commander = as_person("kwame-asante")
    before = counts(factory)
    blocked = client.post(
        f"/api/v1/incidents/{ref}/transition", json={"status": "contained"}, headers=commander
    )
    assert blocked.status_code == 409
    assert f"#{change_id}" in blocked.json()["message"]
    assert "override" in blocked.json()["message"]
    # Not the commander: the administrator may command, but only the IC may override.
    not_ic = client.post(f"/api/v1/incidents/{ref}/containment-override", json={"reason": "x"})
    assert not_ic.status_code == 403
    assert "kwame-asante" in not_ic.json()["message"]
    no_reason = client.post(
        f"/api/v1/incidents/{ref}/containment-override", json={"reason": ""}, headers=commander
    )
    assert no_reason.status_code == 422
    assert no_reason.json()["field"] == "reason"
    assert counts(factory) == before
    overridden = client.post(
        f"/api/v1/incidents/{ref}/containment-override",
        json={"reason": "Tank pressure confirmed by phone; gauge photo to follow"},
        headers=commander,
    )
    assert overridden.status_code == 201, overridden.text
    assert overridden.json()["unverified"] == [change_id]
    ledgered = entries(factory, "containment:overridden")
    assert ledgered[0]["reason"].startswith("Tank pressure")
    moved = client.post(
        f"/api/v1/incidents/{ref}/transition", json={"status": "contained"}, headers=commander
    )
    assert moved.status_code == 200, moved.text


def test_verifying_lifts_the_gate(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    change_id = execute_ready(client, as_person, ref)
    verified = client.post(
        f"/api/v1/changes/{change_id}/verify", json={"how": "P5 back to 0.9 bar; heaters off"}
    )
    assert verified.status_code == 200
    assert verified.json()["verification"] == "P5 back to 0.9 bar; heaters off"
    moved = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "contained"})
    assert moved.status_code == 200, moved.text
    rolled = client.post(f"/api/v1/changes/{change_id}/rollback", json={"reason": "cooling back"})
    assert rolled.json()["state"] == "rolled_back"
    again = client.post(f"/api/v1/changes/{change_id}/cancel", json={"reason": "x"})
    assert again.status_code == 409
    assert len(entries(factory, "change:verified")) == 1


def test_ad_hoc_change_and_hostile_input(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    adhoc = {
        "title": "Block the vendor VPN",
        "what": "Disable the vendor VPN account",
        "why": "Suspicious login",
        "expected_effect": "No vendor sessions",
        "risk": "low",
        "rollback_plan": "Re-enable the account",
    }
    before = counts(factory)
    for body, field in (
        ({**adhoc, "title": "x" * 201}, "title"),
        ({**adhoc, "what": "x" * 4001}, "what"),
        ({**adhoc, "risk": "extreme"}, "risk"),
        ({**adhoc, "procedure": "fridge-safe-state"}, "body"),
        ({"title": "only a title"}, "body"),
    ):
        refused = client.post(f"/api/v1/incidents/{ref}/changes", json=body)
        assert refused.status_code == 422, body
        assert refused.json()["field"] == field
    unknown_procedure = client.post(
        f"/api/v1/incidents/{ref}/changes", json={"procedure": "close-gate-valve"}
    )
    assert unknown_procedure.status_code == 422
    assert "fridge-safe-state" in unknown_procedure.json()["message"]
    assert client.get("/api/v1/changes/999999").status_code == 404
    assert client.post("/api/v1/changes/999999/approve", json={}).status_code == 404
    assert client.post("/api/v1/changes/1/approve", json={"matrix": True}).status_code == 422
    assert counts(factory) == before
    created = client.post(f"/api/v1/incidents/{ref}/changes", json=adhoc)
    assert created.status_code == 201, created.text
    assert created.json()["approvals_needed"] == 1
    again = client.post(f"/api/v1/incidents/{ref}/changes", json={"procedure": "fridge-safe-state"})
    assert again.status_code == 201
    assert len(client.get(f"/api/v1/incidents/{ref}/changes").json()) == 3
