"""The access policy at work over HTTP: the cases a facility relies on, end to end."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from tests.conftest import ManualClock
from tests.helpers import counts

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
Headers = Callable[[str], dict[str, str]]


def open_staffed(client: TestClient) -> str:
    """Open an incident with kwame-asante commanding and oskar-nilsen as scribe."""
    ref: str = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    for role, person in (("incident_commander", "kwame-asante"), ("scribe", "oskar-nilsen")):
        assert (
            client.post(
                f"/api/v1/incidents/{ref}/roles", json={"role": role, "person": person}
            ).status_code
            == 200
        )
    return ref


def entries(factory: sessionmaker[Session], entry_type: str) -> list[dict[str, Any]]:
    with session_scope(factory) as session:
        rows = session.scalars(select(LedgerEntry).where(LedgerEntry.entry_type == entry_type))
        return [json.loads(row.payload) for row in rows]


def test_a_scribe_records_but_cannot_close_and_is_told_why(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    scribe = as_person("oskar-nilsen")
    noted = client.post(
        f"/api/v1/incidents/{ref}/notes", json={"text": "valve V3 shut"}, headers=scribe
    )
    assert noted.status_code == 201
    before = counts(factory)
    refused = client.post(
        f"/api/v1/incidents/{ref}/transition", json={"status": "contained"}, headers=scribe
    )
    assert refused.status_code == 403
    assert refused.json()["code"] == "permission_denied"
    assert "incident commander" in refused.json()["message"]
    assert counts(factory) == before
    commander = as_person("kwame-asante")
    moved = client.post(
        f"/api/v1/incidents/{ref}/transition", json={"status": "acknowledged"}, headers=commander
    )
    assert moved.status_code == 200


def test_only_the_commander_hands_out_roles_but_anyone_may_take_a_free_one(
    client: TestClient, as_person: Headers
) -> None:
    ref = open_staffed(client)
    priya = as_person("priya-raman")
    taken = client.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "logistics", "person": "priya-raman"},
        headers=priya,
    )
    assert taken.status_code == 200, taken.text
    handed = client.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "planning", "person": "tomasz-kowal"},
        headers=priya,
    )
    assert handed.status_code == 403
    seized = client.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "incident_commander", "person": "priya-raman"},
        headers=priya,
    )
    assert seized.status_code == 403


def close(client: TestClient, ref: str) -> None:
    for status in ("acknowledged", "contained", "recovering", "resolved"):
        assert (
            client.post(f"/api/v1/incidents/{ref}/transition", json={"status": status}).status_code
            == 200
        )
    for task in client.get(f"/api/v1/incidents/{ref}/tasks").json():
        client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "skipped", "note": "n/a"})
    closed = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "closed"})
    assert closed.status_code == 200, closed.text


def test_a_closed_incident_is_read_only_except_for_after_action_reviewers(
    client: TestClient, as_person: Headers
) -> None:
    ref = open_staffed(client)
    close(client, ref)
    priya = as_person("priya-raman")
    assert client.get(f"/api/v1/incidents/{ref}", headers=priya).status_code == 200
    refused = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "late"}, headers=priya)
    assert refused.status_code == 403
    assert "after-action reviewers" in refused.json()["message"]
    # amara-osei holds the after_action_review clearance in the sample facility.
    review = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "finding: valve"})
    assert review.status_code == 201


def test_tlp_red_is_seen_by_its_named_recipients_only(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    labelled = client.post(
        f"/api/v1/incidents/{ref}/label", json={"tlp": "RED", "recipients": ["helen-marsh"]}
    )
    assert labelled.status_code == 200, labelled.text
    named = labelled.json()["tlp_recipients"]
    assert {"helen-marsh", "amara-osei", "kwame-asante", "oskar-nilsen"} <= set(named)
    outsider = as_person("grete-hansen")
    refused = client.get(f"/api/v1/incidents/{ref}", headers=outsider)
    assert refused.status_code == 403
    assert "TLP:RED" in refused.json()["message"]
    listed = client.get("/api/v1/incidents", headers=outsider).json()
    assert ref not in [i["reference"] for i in listed["items"]]
    assert listed["total"] == 0
    assert (
        client.get(f"/api/v1/incidents/{ref}", headers=as_person("helen-marsh")).status_code == 200
    )
    assert entries(factory, "incident:labelled")[0]["was"]["tlp"] == "AMBER"
    bad = client.post(f"/api/v1/incidents/{ref}/label", json={"tlp": "PURPLE"})
    assert bad.status_code == 422
    assert bad.json()["field"] == "tlp"
    nobody = client.post(
        f"/api/v1/incidents/{ref}/label", json={"tlp": "RED", "recipients": ["no-one"]}
    )
    assert nobody.status_code == 404
    assert nobody.json()["field"] == "recipients"


def test_break_glass_opens_for_a_time_is_ledgered_and_tells_the_commander_and_safety(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = open_staffed(client)
    fatima = as_person("fatima-idrissi")
    assert client.get(f"/api/v1/incidents/{ref}", headers=fatima).status_code == 403
    vague = client.post(
        f"/api/v1/incidents/{ref}/break-glass", json={"reason": "x"}, headers=fatima
    )
    assert vague.status_code == 422
    assert vague.json()["field"] == "reason"
    too_long = client.post(
        f"/api/v1/incidents/{ref}/break-glass",
        json={"reason": "helium line shared with our rack", "minutes": 10_000},
        headers=fatima,
    )
    assert too_long.status_code == 422
    taken = client.post(
        f"/api/v1/incidents/{ref}/break-glass",
        json={"reason": "our QKD rack shares this helium return line", "minutes": 30},
        headers=fatima,
    )
    assert taken.status_code == 201, taken.text
    assert client.get(f"/api/v1/incidents/{ref}", headers=fatima).status_code == 200
    noted = client.post(
        f"/api/v1/incidents/{ref}/notes", json={"text": "isolating"}, headers=fatima
    )
    assert noted.status_code == 201
    recorded = entries(factory, "access:break_glass")[0]
    assert recorded["reason"].startswith("our QKD rack")
    assert set(recorded["told"]) >= {"kwame-asante"}
    with session_scope(factory) as session:
        reasons = session.scalars(select(OutboxMessage.reason)).all()
    assert reasons.count("break_glass") == len(recorded["told"]) >= 2
    clock.advance(timedelta(minutes=31))
    assert client.get(f"/api/v1/incidents/{ref}", headers=fatima).status_code == 403
    again = client.post(
        f"/api/v1/incidents/{ref}/break-glass",
        json={"reason": "still isolating the helium return"},
        headers=fatima,
    ).json()
    ended = client.delete(f"/api/v1/break-glass/{again['id']}", headers=fatima)
    assert ended.status_code == 200
    assert ended.json()["ended_at"] is not None
    assert client.get(f"/api/v1/incidents/{ref}", headers=fatima).status_code == 403
    assert len(entries(factory, "access:break_glass_ended")) == 1
    assert (
        client.delete(
            f"/api/v1/break-glass/{again['id']}", headers=as_person("priya-raman")
        ).status_code
        == 403
    )
    review = client.get("/api/v1/break-glass", headers=as_person("ines-laurent"))
    assert [g["person"] for g in review.json()] == ["fatima-idrissi", "fatima-idrissi"]


def test_personal_data_is_redacted_for_an_observer_and_the_redaction_recorded(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    personal = {"text": "Call Dr Maria Jensen at home, +31 6 5555 0199", "category": "personal"}
    assert client.post(f"/api/v1/incidents/{ref}/notes", json=personal).status_code == 201
    observer = as_person("campus-visitor-desk")
    shown = client.get(f"/api/v1/incidents/{ref}/timeline", headers=observer).json()
    texts = [e["payload"].get("text") for e in shown if e["type"] == "incident:note_added"]
    assert texts == ["[redacted: personal data]"]
    recorded = entries(factory, "access:redacted")
    assert recorded[-1]["reader"] == "campus-visitor-desk"
    assert recorded[-1]["categories"] == ["personal"]
    full = client.get(f"/api/v1/incidents/{ref}/timeline", headers=as_person("priya-raman")).json()
    assert personal["text"] in [e["payload"].get("text") for e in full]
    people = client.get("/api/v1/people", headers=observer).json()
    assert {c["address"] for p in people for c in p["contacts"]} == {"[redacted: personal data]"}
    item = client.post(
        "/api/v1/evidence",
        params={"name": "roster.csv", "tlp": "AMBER", "category": "personal", "incident": ref},
        content=b"name,phone\n",
        headers={"Content-Type": "application/octet-stream"},
    ).json()
    refused = client.get(
        f"/api/v1/evidence/{item['id']}/content", params={"reason": "curious"}, headers=observer
    )
    assert refused.status_code == 403
    assert "personal data" in refused.json()["message"]
    assert entries(factory, "access:redacted")[-1]["fields"] == ["content"]


def test_an_integration_token_sends_telemetry_and_reads_nothing(
    client: TestClient, as_person: Headers
) -> None:
    gateway = as_person("telemetry-gateway")
    sample = [
        {
            "site": "sc-lab",
            "asset": "fridge-1",
            "metric": "mxc_temperature_k",
            "value": 0.012,
            "unit": "K",
            "timestamp": "2026-11-26T10:00:00Z",
        }
    ]
    sent = client.post("/api/v1/telemetry", json=sample, headers=gateway)
    assert sent.status_code in (200, 207), sent.text
    for path in ("/api/v1/incidents", "/api/v1/people", "/api/v1/ledger"):
        refused = client.get(path, headers=gateway)
        assert refused.status_code == 403, path
    assert client.get("/api/v1/me", headers=gateway).json()["key"] == "telemetry-gateway"


def test_a_refused_page_explains_itself_and_offers_no_forms_it_would_refuse(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = open_staffed(client)

    def browser(key: str) -> TestClient:
        with session_scope(factory) as session:
            _row, secret = access_service.create_token(
                session, clock=clock, person_key=key, name="web", actor="test"
            )
        signed_in = TestClient(client.app, raise_server_exceptions=False)
        signed_in.get(f"/login?token={secret}", follow_redirects=False)
        return signed_in

    observer_page = browser("campus-visitor-desk").get(f"/incidents/{ref}")
    assert observer_page.status_code == 200
    assert 'action="/incidents/' + ref + '/note"' not in observer_page.text
    assert "You can read this incident but not add to it" in observer_page.text
    scribe_page = browser("oskar-nilsen").get(f"/incidents/{ref}")
    assert 'action="/incidents/' + ref + '/note"' in scribe_page.text
    assert 'value="closed"' not in scribe_page.text
    stranger = browser("fatima-idrissi").get(f"/incidents/{ref}")
    assert stranger.status_code == 403
    assert "no role on this incident" in stranger.text
