"""Dashboard pages: sign-in, the incident board, the incident page and its forms."""

from __future__ import annotations

import html
import re
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.access.api import WEB_TOKEN_COOKIE
from coherence.clock import ManualClock
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.domain import RETRY_AFTER_SECONDS, ChannelHealth
from coherence.db import session_scope

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}


@pytest.fixture
def token(client: TestClient) -> str:
    """The API token of ``amara-osei``, taken from the API client's header."""
    return client.headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
def anonymous(client: TestClient, token: str) -> TestClient:
    """A browser with no cookie and no Authorization header (after ``token`` has been read)."""
    del client.headers["Authorization"]
    return client


@pytest.fixture
def browser(anonymous: TestClient, token: str) -> TestClient:
    """A browser signed in through ``/login?token=``, so it carries the cookie."""
    response = anonymous.get(f"/login?token={token}", follow_redirects=False)
    assert response.status_code == 303
    return anonymous


def api(browser: TestClient, token: str, method: str, path: str, **kwargs: Any) -> Any:
    """Call the JSON API with the bearer token, as another tool would."""
    headers = {"Authorization": f"Bearer {token}"}
    response = browser.request(method, f"/api/v1{path}", headers=headers, **kwargs)
    assert response.status_code < 300, response.text
    return response.json()


def open_incident(browser: TestClient, token: str, **extra: str) -> dict[str, Any]:
    """Open a dilution-refrigerator warm-up incident through the API."""
    detail: dict[str, Any] = api(browser, token, "POST", "/incidents", json={**WARM_UP, **extra})
    return detail


def timeline_types(browser: TestClient, token: str, ref: str) -> list[str]:
    """Return the incident's ledger entry types from the API."""
    return [e["type"] for e in api(browser, token, "GET", f"/incidents/{ref}/timeline")]


# Sign-in


def test_login_link_sets_a_strict_httponly_cookie_and_redirects_home(
    anonymous: TestClient, token: str
) -> None:
    response = anonymous.get(f"/login?token={token}", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith(f"{WEB_TOKEN_COOKIE}=")
    assert token not in cookie, "the cookie carries a session secret, never the API token"
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/" in cookie
    assert "Secure" not in cookie
    board = anonymous.get("/")
    assert board.status_code == 200
    assert "Amara Osei" in board.text


def test_login_over_https_marks_the_cookie_secure(anonymous: TestClient, token: str) -> None:
    response = anonymous.get(f"https://testserver/login?token={token}", follow_redirects=False)
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


def test_login_form_explains_where_tokens_come_from(anonymous: TestClient) -> None:
    response = anonymous.get("/login")
    assert response.status_code == 200
    assert "coherence token create --person" in response.text
    assert "coherence init --sample" in response.text
    assert 'name="token"' in response.text


@pytest.mark.parametrize(
    ("token_value", "message"),
    [
        ("coh_not-a-real-token", "unknown or revoked"),
        ("hunter2", "not a Coherence API token"),
        ("", "enter your API token"),
    ],
)
def test_bad_token_shows_the_form_again_with_401(
    anonymous: TestClient, token_value: str, message: str
) -> None:
    for response in (
        anonymous.get("/login", params={"token": token_value}),
        anonymous.post("/login", data={"token": token_value}),
    ):
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert message in response.text
        assert 'name="token"' in response.text
        assert "set-cookie" not in response.headers


def test_post_login_signs_in(anonymous: TestClient, token: str) -> None:
    response = anonymous.post("/login", data={"token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    assert anonymous.get("/", follow_redirects=False).status_code == 200


def test_login_returns_only_to_local_pages(anonymous: TestClient, token: str) -> None:
    local = anonymous.get(
        "/login", params={"token": token, "next": "/incidents/INC-00001"}, follow_redirects=False
    )
    assert local.headers["location"] == "/incidents/INC-00001"
    for elsewhere in ("//evil.example", "https://evil.example/", "/\\evil.example", "/\t/evil"):
        response = anonymous.get(
            "/login", params={"token": token, "next": elsewhere}, follow_redirects=False
        )
        assert response.headers["location"] == "/"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/"), ("GET", "/incidents/INC-00001"), ("POST", "/incidents/INC-00001/ack")],
)
def test_pages_without_a_cookie_redirect_to_login(
    anonymous: TestClient, method: str, path: str
) -> None:
    response = anonymous.request(method, path, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")
    assert response.headers.get("content-type") != "application/json"


def test_a_revoked_or_stale_cookie_sends_you_to_login_and_is_dropped(
    anonymous: TestClient,
) -> None:
    anonymous.cookies.set(WEB_TOKEN_COOKIE, "coh_stale")
    response = anonymous.get("/", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert f'{WEB_TOKEN_COOKIE}=""' in response.headers["set-cookie"]


def test_logout_clears_the_cookie(browser: TestClient) -> None:
    response = browser.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert browser.get("/", follow_redirects=False).status_code == 303


# The board


def test_board_lists_open_incidents_with_severity_kind_and_an_ack_button(
    browser: TestClient, token: str, clock: ManualClock
) -> None:
    real = open_incident(browser, token)
    drill = open_incident(browser, token, kind="exercise")
    clock.advance(timedelta(minutes=7))
    response = browser.get("/")
    assert response.status_code == 200
    page = response.text
    assert '<meta http-equiv="refresh" content="15">' in page
    for incident in (real, drill):
        assert f'href="/incidents/{incident["reference"]}"' in page
        assert f'action="/incidents/{incident["reference"]}/ack"' in page
    assert real["severity"] == "sev2"
    assert 'class="badge sev sev-sev2">SEV2 Major<' in page
    assert ">EXERCISE<" in page
    assert "row-drill" in page
    assert "2 incidents not acknowledged" in page
    assert "row-unacked" in page
    assert ">7 min<" in page  # age from the injected clock, not the wall clock
    assert "fridge-1" in page
    assert "sc-lab" in page
    assert f"{real['open_tasks']} open" in page


def test_board_hides_resolved_incidents_unless_asked(browser: TestClient, token: str) -> None:
    done = open_incident(browser, token)["reference"]
    live = open_incident(browser, token)["reference"]
    api(browser, token, "POST", f"/incidents/{done}/ack")
    api(browser, token, "POST", f"/incidents/{done}/transition", json={"status": "resolved"})
    board = browser.get("/").text
    assert live in board
    assert done not in board
    everything = browser.get("/?all=1").text
    assert live in everything
    assert done in everything


def test_empty_board_says_so(browser: TestClient) -> None:
    assert "No open incidents." in browser.get("/").text


# The incident page


def test_incident_page_shows_tasks_hazards_roles_and_timeline(
    browser: TestClient, token: str, clock: ManualClock
) -> None:
    incident = open_incident(browser, token, kind="exercise")
    clock.advance(timedelta(minutes=7))
    response = browser.get(f"/incidents/{incident['reference']}")
    assert response.status_code == 200
    page = html.unescape(response.text)
    assert incident["title"] in page
    assert "EXERCISE — this is a drill, not a real incident" in page
    assert "Cryogenic systems" in page
    for task in incident["tasks"]:
        assert task["title"] in page
    hazards = [t["hazard"].strip() for t in incident["tasks"] if t["hazard"]]
    assert hazards
    for hazard in hazards:
        assert hazard in page
    assert "⚠ HAZARD" in page
    assert "CHANGE RECORD REQUIRED" in page
    # confirm-readings is due 5 min after detection, check-pulse-tube after 10.
    assert "overdue by 2 min" in page
    assert "in 3 min" in page
    assert "incident:opened" in page
    assert "incident commander" in page
    assert "Move to" not in page  # a detected incident can only be acknowledged
    assert 'action="/incidents/{}/ack"'.format(incident["reference"]) in page


def test_unknown_incident_is_a_404_page(browser: TestClient) -> None:
    response = browser.get("/incidents/INC-99999")
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "no incident" in response.text


def test_acknowledge_changes_status_and_appears_in_the_timeline(
    browser: TestClient, token: str
) -> None:
    ref = open_incident(browser, token)["reference"]
    response = browser.post(f"/incidents/{ref}/ack", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == f"/incidents/{ref}"
    assert api(browser, token, "GET", f"/incidents/{ref}")["status"] == "acknowledged"
    page = browser.get(f"/incidents/{ref}").text
    assert "incident:acknowledged" in page
    assert "detected → acknowledged" in html.unescape(page)
    assert "Move to contained" in page
    assert "Time to acknowledge" in page


def test_transition_and_reopen_through_forms(browser: TestClient, token: str) -> None:
    ref = open_incident(browser, token)["reference"]
    browser.post(f"/incidents/{ref}/ack")
    moved = browser.post(
        f"/incidents/{ref}/transition",
        data={"status": "resolved", "note": "cooling restored"},
        follow_redirects=False,
    )
    assert moved.status_code == 303
    page = browser.get(f"/incidents/{ref}").text
    assert "cooling restored" in page
    assert f'action="/incidents/{ref}/reopen"' in page
    missing = browser.post(f"/incidents/{ref}/reopen", data={"reason": ""})
    assert missing.status_code == 422
    assert "reason" in missing.text
    reopened = browser.post(
        f"/incidents/{ref}/reopen", data={"reason": "MXC warming again"}, follow_redirects=False
    )
    assert reopened.status_code == 303
    assert api(browser, token, "GET", f"/incidents/{ref}")["status"] == "acknowledged"


def test_illegal_transition_shows_the_error_with_409_and_changes_nothing(
    browser: TestClient, token: str
) -> None:
    ref = open_incident(browser, token)["reference"]
    before = timeline_types(browser, token, ref)
    response = browser.post(f"/incidents/{ref}/transition", data={"status": "closed"})
    assert response.status_code == 409
    assert response.headers["content-type"].startswith("text/html")
    assert "cannot move a detected incident to closed" in response.text
    assert 'role="alert"' in response.text
    assert api(browser, token, "GET", f"/incidents/{ref}")["status"] == "detected"
    assert timeline_types(browser, token, ref) == before


def test_unknown_phase_is_a_422_naming_the_field(browser: TestClient, token: str) -> None:
    ref = open_incident(browser, token)["reference"]
    response = browser.post(f"/incidents/{ref}/transition", data={"status": "exploded"})
    assert response.status_code == 422
    assert "(status)" in response.text


def test_empty_note_is_refused_with_422_and_writes_nothing(browser: TestClient, token: str) -> None:
    ref = open_incident(browser, token)["reference"]
    before = timeline_types(browser, token, ref)
    blank = browser.post(f"/incidents/{ref}/note", data={"text": "   "})
    assert blank.status_code == 422
    assert "The note text (text) must not be empty" in blank.text
    missing = browser.post(f"/incidents/{ref}/note", data={})
    assert missing.status_code == 422
    assert "The note text (text) is required" in missing.text
    assert timeline_types(browser, token, ref) == before


def test_note_text_is_html_escaped(browser: TestClient, token: str) -> None:
    ref = open_incident(browser, token)["reference"]
    hostile = '<script>alert("x")</script>'
    response = browser.post(f"/incidents/{ref}/note", data={"text": hostile})
    assert response.status_code == 200  # followed the redirect
    assert "&lt;script&gt;alert(" in response.text
    assert hostile not in response.text
    # The only script on the page is the dashboard's own live-update file.
    assert response.text.count("<script") == 1
    assert '<script src="/static/live.js" defer></script>' in response.text


def test_decision_is_recorded_and_a_missing_rationale_is_named(
    browser: TestClient, token: str
) -> None:
    ref = open_incident(browser, token)["reference"]
    refused = browser.post(
        f"/incidents/{ref}/decide", data={"decision": "Warm up under control", "rationale": ""}
    )
    assert refused.status_code == 422
    assert "The rationale (rationale) is required" in refused.text  # blank counts as missing
    assert "Warm up under control" in refused.text  # the typed text is kept
    response = browser.post(
        f"/incidents/{ref}/decide",
        data={"decision": "Warm up under control", "rationale": "Mixture cannot be saved"},
    )
    assert response.status_code == 200
    assert "Decision: Warm up under control" in response.text
    assert "Rationale: Mixture cannot be saved" in response.text
    assert "Decided by amara-osei" in response.text


def test_task_done_and_skip(browser: TestClient, token: str) -> None:
    incident = open_incident(browser, token)
    ref = incident["reference"]
    first, second = incident["tasks"][0]["id"], incident["tasks"][1]["id"]
    done = browser.post(f"/tasks/{first}", data={"status": "done"}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == f"/incidents/{ref}#task-{first}"
    unexplained = browser.post(f"/tasks/{second}", data={"status": "skipped", "note": ""})
    assert unexplained.status_code == 422
    assert "say why the task is skipped" in unexplained.text
    skipped = browser.post(
        f"/tasks/{second}", data={"status": "skipped", "note": "pulse tube visibly running"}
    )
    assert skipped.status_code == 200
    tasks = {t["id"]: t for t in api(browser, token, "GET", f"/incidents/{ref}/tasks")}
    assert tasks[first]["status"] == "done"
    assert tasks[first]["completed_by"] == "amara-osei"
    assert tasks[second]["status"] == "skipped"
    assert timeline_types(browser, token, ref).count("task:completed") == 2
    assert browser.post("/tasks/999999", data={"status": "done"}).status_code == 404


def test_cross_origin_post_is_refused_and_changes_nothing(browser: TestClient, token: str) -> None:
    ref = open_incident(browser, token)["reference"]
    for origin in ("http://evil.example", "null"):
        response = browser.post(
            f"/incidents/{ref}/ack", headers={"Origin": origin}, follow_redirects=False
        )
        assert response.status_code == 403
        assert response.headers["content-type"].startswith("text/html")
    assert api(browser, token, "GET", f"/incidents/{ref}")["status"] == "detected"
    same = browser.post(
        f"/incidents/{ref}/ack", headers={"Origin": "http://testserver"}, follow_redirects=False
    )
    assert same.status_code == 303
    assert api(browser, token, "GET", f"/incidents/{ref}")["status"] == "acknowledged"


def test_pages_use_no_external_assets_and_send_protective_headers(
    browser: TestClient, token: str
) -> None:
    ref = open_incident(browser, token)["reference"]
    for path in ("/", f"/incidents/{ref}", "/login"):
        response = browser.get(path)
        assert not re.search(r"""(src|href)=["']?(https?:)?//""", response.text), path
        assert response.headers["cache-control"] == "no-store"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]
    css = browser.get("/static/style.css")
    assert css.status_code == 200
    assert css.headers["content-type"].startswith("text/css")
    assert "url(" not in css.text
    assert "@import" not in css.text


def test_web_routes_stay_out_of_the_api_schema(browser: TestClient) -> None:
    paths = browser.get("/openapi.json").json()["paths"]
    # /healthz, /readyz and /metrics are for machines (probes, Prometheus), described like the API.
    machine = ("/api/", "/taxii2/", "/healthz", "/readyz", "/metrics")
    assert all(path.startswith(machine) for path in paths), list(paths)


def test_a_session_ends_when_it_expires_or_its_token_is_revoked(
    anonymous: TestClient, token: str, clock: ManualClock, factory: sessionmaker[Session]
) -> None:
    anonymous.get(f"/login?token={token}")
    assert anonymous.get("/", follow_redirects=False).status_code == 200
    clock.advance(timedelta(hours=12, seconds=1))
    assert anonymous.get("/", follow_redirects=False).status_code == 303
    anonymous.get(f"/login?token={token}")
    with session_scope(factory) as session:
        for row in access_service.list_tokens(session):
            access_service.revoke_token(session, clock=clock, token_id=row.id, actor="test")
    assert anonymous.get("/", follow_redirects=False).status_code == 303


def test_a_forged_or_tampered_cookie_is_refused(anonymous: TestClient, token: str) -> None:
    anonymous.get(f"/login?token={token}")
    genuine = anonymous.cookies[WEB_TOKEN_COOKIE]
    for forged in (
        genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),
        genuine + "A",
        "v1.1.99999999999.AAAA",
        token,
        "",
        "a" * 500,
    ):
        anonymous.cookies.clear()
        anonymous.cookies.set(WEB_TOKEN_COOKIE, forged)
        assert anonymous.get("/", follow_redirects=False).status_code == 303, forged


def test_the_api_does_not_accept_the_dashboard_cookie(anonymous: TestClient, token: str) -> None:
    anonymous.get(f"/login?token={token}")
    assert anonymous.get("/api/v1/me").status_code == 401


def test_pages_that_failed_on_every_channel_are_an_alarm_on_board_and_incident(
    browser: TestClient, token: str, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = open_incident(browser, token)["reference"]
    dispatcher = Dispatcher(
        factory, clock=clock, channels={}, fallback=None, health=ChannelHealth()
    )
    dispatcher.run_once()
    for pause in RETRY_AFTER_SECONDS:
        clock.advance(timedelta(seconds=pause))
        dispatcher.run_once()
    dispatcher.close()
    board = browser.get("/").text
    assert "Pages that failed on every channel" in board
    assert f'href="/incidents/{ref}"' in board
    page = html.unescape(browser.get(f"/incidents/{ref}").text)
    assert "failed on every channel" in page
    assert "PAGE NOT DELIVERED" in page
    assert "notification:failed" in timeline_types(browser, token, ref)


def test_the_incident_page_shows_how_each_role_is_reached_and_the_statements(
    browser: TestClient, token: str
) -> None:
    ref = open_incident(browser, token)["reference"]
    page = html.unescape(browser.get(f"/incidents/{ref}").text)
    assert "Reached by, in order" in page
    assert "email → sms" in page
    assert "None issued." in page
    assert 'href="/status"' in page
