"""Dashboard sign-in by password or token, server-side sessions, and the CLI for both."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import pytest
from click.testing import Result
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence.access import passwords, sessions
from coherence.access import service as access_service
from coherence.access.api import WEB_TOKEN_COOKIE
from coherence.catalog import service as catalog_service
from coherence.cli import app as cli_app
from coherence.clock import ManualClock, SystemClock
from coherence.db import session_scope
from coherence.errors import NotAuthenticated
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.settings import Settings
from tests.helpers import database_url

PASSWORD = "correct horse battery staple"
Run = Callable[..., Result]


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
def with_password(factory: sessionmaker[Session], clock: ManualClock, client: TestClient) -> None:
    """Give ``amara-osei`` the dashboard password PASSWORD."""
    with session_scope(factory) as opened:
        passwords.set_password(
            opened, clock=clock, person_key="amara-osei", password=PASSWORD, actor="test"
        )


def sign_in(browser: TestClient, person: str = "amara-osei", password: str = PASSWORD) -> str:
    """Sign in through the password form; return the session cookie."""
    response = browser.post(
        "/login", data={"person": person, "password": password}, follow_redirects=False
    )
    assert response.status_code == 303, response.text
    return browser.cookies[WEB_TOKEN_COOKIE]


def signed_in(browser: TestClient, cookie: str) -> bool:
    """Say whether a page opens with this cookie (rather than sending you to /login)."""
    browser.cookies.clear()
    browser.cookies.set(WEB_TOKEN_COOKIE, cookie)
    status = browser.get("/", follow_redirects=False).status_code
    assert status in (200, 303)
    return status == 200


def ledger(factory: sessionmaker[Session], *types: EntryType) -> list[LedgerEntry]:
    """Return the entries of the given types, oldest first."""
    with session_scope(factory) as opened:
        rows = opened.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type.in_([t.value for t in types]))
            .order_by(LedgerEntry.seq)
        ).all()
        opened.expunge_all()
        return list(rows)


# The form


def test_the_form_offers_password_and_token_with_labels(anonymous: TestClient) -> None:
    page = anonymous.get("/login").text
    assert '<label for="person">' in page
    assert '<label for="password">' in page
    assert '<label for="token">' in page
    assert 'autocomplete="username"' in page
    assert 'autocomplete="current-password"' in page
    assert 'name="token"' in page
    assert "coherence password set" in page


# Password sign-in


@pytest.mark.usefixtures("with_password")
def test_password_sign_in_sets_a_strict_httponly_cookie_and_opens_the_board(
    anonymous: TestClient,
) -> None:
    response = anonymous.post(
        "/login",
        data={"person": "amara-osei", "password": PASSWORD, "next": "/incidents/INC-00001"},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert response.headers["location"] == "/incidents/INC-00001"
    cookie = response.headers["set-cookie"]
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Secure" not in cookie
    assert PASSWORD.split()[0] not in cookie
    board = anonymous.get("/")
    assert board.status_code == 200
    assert "Amara Osei" in board.text


@pytest.mark.usefixtures("with_password")
def test_password_sign_in_over_https_marks_the_cookie_secure(anonymous: TestClient) -> None:
    response = anonymous.post(
        "https://testserver/login",
        data={"person": "amara-osei", "password": PASSWORD},
        follow_redirects=False,
    )
    assert response.status_code == 303
    assert "Secure" in response.headers["set-cookie"]


@pytest.mark.usefixtures("with_password")
def test_wrong_password_and_unknown_person_get_the_same_401(anonymous: TestClient) -> None:
    answers = [
        anonymous.post("/login", data={"person": person, "password": password})
        for person, password in [
            ("amara-osei", "not the password at all"),
            ("ghost", PASSWORD),
            ("tomasz-kowal", PASSWORD),  # exists, has no password
        ]
    ]
    for response in answers:
        assert response.status_code == 401
        assert response.headers["content-type"].startswith("text/html")
        assert passwords.WRONG_CREDENTIALS in response.text
        assert "no person" not in response.text
        assert "set-cookie" not in response.headers
        assert 'name="password"' in response.text
    # Apart from the key typed back into the form, the pages are identical.
    keys = ["amara-osei", "ghost", "tomasz-kowal"]
    bodies = {r.text.replace(key, "KEY") for r, key in zip(answers, keys, strict=True)}
    assert len(bodies) == 1


def test_a_password_without_a_person_asks_for_both(anonymous: TestClient) -> None:
    response = anonymous.post("/login", data={"person": "", "password": PASSWORD})
    assert response.status_code == 401
    assert "enter your person key and password" in response.text


# Token sign-in


def test_token_sign_in_by_form_and_by_link(anonymous: TestClient, token: str) -> None:
    posted = anonymous.post("/login", data={"token": token}, follow_redirects=False)
    assert posted.status_code == 303
    assert anonymous.get("/", follow_redirects=False).status_code == 200
    anonymous.cookies.clear()
    linked = anonymous.get("/login", params={"token": token}, follow_redirects=False)
    assert linked.status_code == 303
    assert token not in linked.headers["set-cookie"]
    assert anonymous.get("/", follow_redirects=False).status_code == 200


# Ending sessions


@pytest.mark.usefixtures("with_password")
def test_logout_ends_the_session_so_the_cookie_stops_working(anonymous: TestClient) -> None:
    cookie = sign_in(anonymous)
    response = anonymous.post("/logout", follow_redirects=False)
    assert response.status_code == 303
    assert "Max-Age=0" in response.headers["set-cookie"]
    assert not signed_in(anonymous, cookie), "a copy of the cookie must not outlive logout"


@pytest.mark.usefixtures("with_password")
def test_a_session_expires_after_session_hours(
    anonymous: TestClient, clock: ManualClock, settings: Settings
) -> None:
    cookie = sign_in(anonymous)
    clock.advance(timedelta(hours=settings.session_hours) - timedelta(minutes=1))
    assert signed_in(anonymous, cookie)
    clock.advance(timedelta(minutes=1))
    assert not signed_in(anonymous, cookie)


@pytest.mark.usefixtures("with_password")
def test_revoking_the_token_ends_its_sessions_but_not_password_sessions(
    anonymous: TestClient, token: str, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    anonymous.get("/login", params={"token": token})
    by_token = anonymous.cookies[WEB_TOKEN_COOKIE]
    anonymous.cookies.clear()
    by_password = sign_in(anonymous)
    with session_scope(factory) as opened:
        for row in access_service.list_tokens(opened):
            access_service.revoke_token(opened, clock=clock, token_id=row.id, actor="test")
    assert not signed_in(anonymous, by_token)
    assert signed_in(anonymous, by_password)


@pytest.mark.usefixtures("with_password")
def test_a_forged_or_random_cookie_is_refused(anonymous: TestClient, token: str) -> None:
    genuine = sign_in(anonymous)
    for forged in (
        secrets.token_urlsafe(32),
        genuine[:-1] + ("A" if genuine[-1] != "A" else "B"),
        sessions.hash_secret(genuine),  # what the database holds is not a cookie
        token,
        PASSWORD,
        "x" * 4000,
    ):
        assert not signed_in(anonymous, forged), forged
    assert signed_in(anonymous, genuine)


@pytest.mark.usefixtures("with_password")
def test_sign_in_and_out_are_in_the_ledger_without_any_secret(
    anonymous: TestClient, token: str, factory: sessionmaker[Session]
) -> None:
    by_password = sign_in(anonymous)
    anonymous.post("/logout")
    anonymous.get("/login", params={"token": token})
    by_token = anonymous.cookies[WEB_TOKEN_COOKIE]
    entries = ledger(
        factory, EntryType.PASSWORD_SET, EntryType.SESSION_STARTED, EntryType.SESSION_ENDED
    )
    assert [(e.entry_type, json.loads(e.payload)) for e in entries] == [
        ("access:password_set", {"person": "amara-osei", "cleared": False}),
        ("access:session_started", {"person": "amara-osei", "via": "password", "session": 1}),
        ("access:session_ended", {"session": 1, "why": "signed out"}),
        ("access:session_started", {"person": "amara-osei", "via": "token", "session": 2}),
    ]
    for entry in entries:
        for hidden in (PASSWORD, token, by_password, by_token, sessions.hash_secret(by_token)):
            assert hidden not in entry.payload
            assert hidden not in entry.subject


# The CLI


@pytest.fixture
def run(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Run a CLI command against the test database, optionally feeding standard input."""
    monkeypatch.setenv("COHERENCE_DATABASE_URL", database_url(engine))
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("COHERENCE_AS", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0, stdin: str | None = None) -> Result:
        result = runner.invoke(cli_app, list(args), input=stdin)
        assert "Traceback" not in result.output, result.output
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, result.output
        return result

    return invoke


def test_cli_password_from_stdin_then_sign_in_then_clear(
    run: Run, anonymous: TestClient, factory: sessionmaker[Session]
) -> None:
    result = run("password", "set", "amara-osei", "--password-stdin", stdin=PASSWORD + "\n")
    assert PASSWORD not in result.output
    assert "password set for amara-osei" in result.output
    sign_in(anonymous)
    assert anonymous.get("/", follow_redirects=False).status_code == 200
    with session_scope(factory) as opened:
        stored = catalog_service.get_person_or_raise(opened, "amara-osei").password_hash
    assert stored is not None
    assert stored.startswith("$argon2id$")
    run("password", "clear", "amara-osei", "--as", "helen-marsh")
    anonymous.cookies.clear()
    refused = anonymous.post("/login", data={"person": "amara-osei", "password": PASSWORD})
    assert refused.status_code == 401
    actors = [e.actor for e in ledger(factory, EntryType.PASSWORD_SET)]
    assert actors[-1] == "helen-marsh"


def test_cli_password_prompt_and_policy(run: Run, anonymous: TestClient) -> None:
    prompted = run("password", "set", "tomasz-kowal", stdin=f"{PASSWORD}\n{PASSWORD}\n")
    assert PASSWORD not in prompted.output, "the prompt hides what is typed"
    sign_in(anonymous, "tomasz-kowal")
    short = run("password", "set", "tomasz-kowal", "--password-stdin", stdin="short\n", code=1)
    assert "at least 12" in short.output
    ghost = run("password", "set", "ghost", "--password-stdin", stdin=PASSWORD + "\n", code=1)
    assert "no person" in ghost.output


@pytest.mark.usefixtures("facility")
def test_cli_lists_and_ends_sessions(run: Run, factory: sessionmaker[Session]) -> None:
    # The CLI reads the wall clock, so this session starts on it too.
    with session_scope(factory) as opened:
        person = catalog_service.get_person_or_raise(opened, "amara-osei")
        row, secret = sessions.start_session(
            opened, clock=SystemClock(), person=person, via="password", hours=12
        )
        session_id = row.id
    listed = json.loads(run("session", "list", "--json").stdout)
    assert [(s["id"], s["person"], s["via"]) for s in listed] == [
        (session_id, "amara-osei", "password")
    ]
    assert set(listed[0]) == {"id", "person", "via", "created_at", "expires_at"}
    assert "amara-osei" in run("session", "list").output
    assert "--yes" in run("session", "end", str(session_id), code=1).output
    run("session", "end", str(session_id), "--yes")
    assert json.loads(run("session", "list", "--json").stdout) == []
    assert "no session" in run("session", "end", "9999", "--yes", code=1).output
    ended = ledger(factory, EntryType.SESSION_ENDED)
    assert [json.loads(e.payload) for e in ended] == [{"session": session_id, "why": "revoked"}]
    with (
        session_scope(factory) as opened,
        pytest.raises(NotAuthenticated, match="sign in again"),
    ):
        sessions.person_for_secret(opened, clock=SystemClock(), secret=secret)
