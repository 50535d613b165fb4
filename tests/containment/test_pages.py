"""Change records on the dashboard: the API's actions as forms, for those the policy allows."""

from __future__ import annotations

import html
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.db import session_scope
from tests.conftest import ManualClock
from tests.containment.test_api import fridge_change, open_staffed
from tests.helpers import counts

Browser = Callable[[str], TestClient]


@pytest.fixture(name="browser")
def browser_fixture(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> Iterator[Browser]:
    """Return a function giving a dashboard browser signed in as any sample person."""
    opened: list[TestClient] = []

    def sign_in(person: str) -> TestClient:
        with session_scope(factory) as session:
            _row, secret = access_service.create_token(
                session, clock=clock, person_key=person, name="pages", actor="test"
            )
        page = TestClient(client.app, raise_server_exceptions=False)
        assert page.get(f"/login?token={secret}", follow_redirects=False).status_code == 303
        opened.append(page)
        return page

    yield sign_in
    for page in opened:
        page.close()


def change_of(client: TestClient, change_id: int) -> dict[str, Any]:
    shown: dict[str, Any] = client.get(f"/api/v1/changes/{change_id}").json()
    return shown


def test_a_safety_critical_change_worked_through_on_the_dashboard(
    client: TestClient, browser: Browser
) -> None:
    ref = open_staffed(client)
    change = fridge_change(client, ref)
    cid = change["id"]
    amara, kwame, priya = browser("amara-osei"), browser("kwame-asante"), browser("priya-raman")
    # The proposer is not offered an approval; the others are.
    assert "You proposed it" in amara.get(f"/incidents/{ref}").text
    assert f'action="/changes/{cid}/approve"' not in amara.get(f"/incidents/{ref}").text
    assert f'action="/changes/{cid}/approve"' in kwame.get(f"/incidents/{ref}").text
    approved = kwame.post(
        f"/changes/{cid}/approve", data={"note": "agreed"}, follow_redirects=False
    )
    assert approved.status_code == 303
    assert approved.headers["location"] == f"/incidents/{ref}#change-{cid}"
    page = kwame.get(f"/incidents/{ref}").text
    assert "1 more approval(s) needed" in page
    assert f'action="/changes/{cid}/execute"' not in page  # not approved yet
    # One approval of two: executing is refused, saying why, and nothing is written.
    before = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    refused = amara.post(f"/changes/{cid}/execute", data={"note": ""})
    assert refused.status_code == 409
    assert 'role="alert"' in refused.text
    assert "approv" in refused.text
    assert client.get(f"/api/v1/incidents/{ref}/timeline").json() == before
    assert priya.post(f"/changes/{cid}/approve", data={}).status_code == 200
    assert change_of(client, cid)["state"] == "approved"
    for number in range(1, len(change["preconditions"]) + 1):
        checked = priya.post(
            f"/changes/{cid}/check", data={"precondition": str(number), "note": "seen"}
        )
        assert checked.status_code == 200, checked.text
    executed = amara.post(f"/changes/{cid}/execute", data={"note": "heaters off"})
    assert executed.status_code == 200
    assert f'action="/changes/{cid}/verify"' in executed.text
    verified = amara.post(f"/changes/{cid}/verify", data={"how": "MXC flow zero on the GHS"})
    assert verified.status_code == 200
    shown = change_of(client, cid)
    assert shown["state"] == "verified"
    assert shown["verified_by"] == "amara-osei"
    assert all(p["met"] and p["checked_by"] == "priya-raman" for p in shown["preconditions"])
    types = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    assert types.count("change:approved") == 2
    assert "change:executed" in types
    assert "change:verified" in types


def test_bad_form_input_shows_a_clear_error_and_changes_nothing(
    client: TestClient, browser: Browser, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    cid = fridge_change(client, ref)["id"]
    kwame = browser("kwame-asante")
    before = counts(factory)
    cases: list[tuple[str, dict[str, str], int, str]] = [
        (f"/changes/{cid}/check", {"precondition": "first"}, 422, "(precondition)"),
        (f"/changes/{cid}/check", {"precondition": "99"}, 409, "precondition"),
        (f"/changes/{cid}/check", {}, 422, "The precondition number (precondition) is required"),
        (f"/changes/{cid}/approve", {"note": "x" * 2001}, 422, "(note) is too long"),
        (f"/changes/{cid}/cancel", {"reason": "   "}, 422, "The reason (reason) must not be empty"),
        (f"/incidents/{ref}/changes", {"title": "Vent it"}, 422, "an ad hoc change needs"),
        (f"/incidents/{ref}/changes", {"procedure": "ghost"}, 422, "has no procedure 'ghost'"),
        (f"/incidents/{ref}/changes", {"procedure": "../x"}, 422, "(procedure)"),
        ("/changes/999999/approve", {}, 404, "no change record 999999"),
    ]
    for path, data, status, message in cases:
        response = kwame.post(path, data=data)
        assert response.status_code == status, (path, data, response.text)
        assert message in html.unescape(response.text), (path, data)
    # What was typed is kept on the page that explains the refusal.
    typed = kwame.post(f"/incidents/{ref}/changes", data={"title": "Vent <the> line"})
    assert "Vent &lt;the&gt; line" in typed.text
    assert counts(factory) == before
    assert fridge_change(client, ref)["state"] == "proposed"


def test_an_observer_sees_no_forms_and_is_refused_if_they_post(
    client: TestClient, browser: Browser, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    cid = fridge_change(client, ref)["id"]
    observer = browser("campus-visitor-desk")
    page = observer.get(f"/incidents/{ref}")
    assert page.status_code == 200
    assert "fridge" in page.text.lower()
    assert 'action="/changes/' not in page.text
    assert f'action="/incidents/{ref}/changes"' not in page.text
    before = counts(factory)
    for path, data in [
        (f"/changes/{cid}/approve", {}),
        (f"/changes/{cid}/cancel", {"reason": "not needed"}),
        (f"/incidents/{ref}/changes", {"procedure": "fridge-safe-state"}),
        (f"/incidents/{ref}/containment-override", {"reason": "go"}),
    ]:
        refused = observer.post(path, data=data)
        assert refused.status_code == 403, path
        assert refused.headers["content-type"].startswith("text/html")
    assert counts(factory) == before
    assert fridge_change(client, ref)["approvals"] == []


def test_only_the_commander_is_offered_the_override_and_it_is_recorded(
    client: TestClient, browser: Browser, as_person: Callable[[str], dict[str, str]]
) -> None:
    ref = open_staffed(client)
    cid = fridge_change(client, ref)["id"]
    for approver in ("kwame-asante", "priya-raman"):
        client.post(f"/api/v1/changes/{cid}/approve", json={}, headers=as_person(approver))
    for number in (1, 2, 3):
        client.post(f"/api/v1/changes/{cid}/check", json={"precondition": number})
    assert client.post(f"/api/v1/changes/{cid}/execute", json={}).status_code == 200
    kwame, amara = browser("kwame-asante"), browser("amara-osei")
    form = f'action="/incidents/{ref}/containment-override"'
    assert form in kwame.get(f"/incidents/{ref}").text
    admin_page = amara.get(f"/incidents/{ref}").text
    assert form not in admin_page
    assert "Only the incident commander" in admin_page
    blank = kwame.post(f"/incidents/{ref}/containment-override", data={"reason": ""})
    assert blank.status_code == 422
    done = kwame.post(
        f"/incidents/{ref}/containment-override",
        data={"reason": "fridge safe by inspection; verify after the shift"},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"] == f"/incidents/{ref}#changes"
    moved = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "contained"})
    assert moved.status_code == 200, moved.text
    # The incident is contained; the executed change can still be rolled back from the page.
    rolled = kwame.post(f"/changes/{cid}/rollback", data={"reason": "mixture recovered"})
    assert rolled.status_code == 200
    assert change_of(client, cid)["state"] == "rolled_back"


def test_proposing_from_the_playbook_and_ad_hoc(client: TestClient, browser: Browser) -> None:
    ref = open_staffed(client)
    priya = browser("priya-raman")
    page = priya.get(f"/incidents/{ref}").text
    assert '<option value="fridge-safe-state"' in page
    again = priya.post(
        f"/incidents/{ref}/changes", data={"procedure": "fridge-safe-state", "assets": ""}
    )
    assert again.status_code == 200
    ad_hoc = priya.post(
        f"/incidents/{ref}/changes",
        data={
            "title": "Close the GHS bypass",
            "what": "Close V9",
            "why": "Stop mixture loss",
            "expected_effect": "P2 stable",
            "risk": "medium",
            "rollback_plan": "Open V9",
            "preconditions": "GHS powered\n\n  Operator on site  \n",
            "assets": "fridge-1, fridge-2",
            "safety_critical": "true",
        },
        follow_redirects=False,
    )
    assert ad_hoc.status_code == 303
    changes = client.get(f"/api/v1/incidents/{ref}/changes").json()
    assert [c["procedure"] for c in changes] == ["fridge-safe-state", "fridge-safe-state", None]
    made = changes[-1]
    assert made["proposed_by"] == "priya-raman"
    assert made["assets"] == ["fridge-1", "fridge-2"]
    assert [p["text"] for p in made["preconditions"]] == ["GHS powered", "Operator on site"]
    assert made["safety_critical"] is True
    assert made["risk"] == "medium"
