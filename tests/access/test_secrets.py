"""No secret reaches a log record, the ledger or a delivery record, whatever path it takes."""

from __future__ import annotations

import logging
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence.access.api import WEB_TOKEN_COOKIE
from coherence.app import create_app
from coherence.cli import RedactTokens, _log_config
from coherence.cli import app as cli_app
from coherence.clock import ManualClock
from coherence.comms.models import DeliveryAttempt
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from coherence.settings import Settings
from tests.helpers import cli_runner

PASSWORD = "correct horse battery staple"
MISTYPED = "correct horse battery stapel"
SMTP_PASSWORD = "smtp-password-5f1c2e"
WEBHOOK_SECRET = "webhook-secret-9d8e7f6a5b4c"
SMS_TOKEN = "sms-gateway-token-77aa31"
MATRIX_TOKEN = "matrix-access-token-0b9c"
SECRET_KEY = "server-secret-key-3c4d5e6f7a8b"
# The relay below asks for a login without TLS on purpose; aiosmtpd warns about that.
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _Inbox:
    async def handle_DATA(self, _server: object, _session: object, _envelope: object) -> str:
        return "250 OK"


def _refuse_login(*_args: object) -> AuthResult:
    return AuthResult(success=False, handled=False)


@pytest.fixture
def relay() -> Iterator[int]:
    """An SMTP relay that asks for a login over plain text and refuses every one."""
    port = _closed_port()
    controller = Controller(
        _Inbox(),
        hostname="127.0.0.1",
        port=port,
        auth_required=True,
        auth_require_tls=False,
        authenticator=_refuse_login,
    )
    controller.start()
    yield port
    controller.stop()


@pytest.fixture
def channels_file(tmp_path: Path, relay: int) -> Path:
    """Every contact kind of the sample facility on a channel holding a secret."""
    dead = f"http://127.0.0.1:{_closed_port()}"
    path = tmp_path / "channels.yaml"
    path.write_text(
        f"""
channels:
  email:
    type: smtp
    host: 127.0.0.1
    port: {relay}
    security: none
    username: pager
    password: {SMTP_PASSWORD}
    sender: pager@lab.example.org
    timeout_seconds: 2
  sms:
    type: http_gateway
    url: {dead}/sms
    headers:
      Authorization: Bearer {SMS_TOKEN}
    body_template: '{{"to": {{{{ to | tojson }}}}}}'
    timeout_seconds: 1
  voice:
    type: webhook
    url: {dead}/voice
    secret: {WEBHOOK_SECRET}
    timeout_seconds: 1
  pager:
    type: matrix
    homeserver: {dead}
    access_token: {MATRIX_TOKEN}
    timeout_seconds: 1
""",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_no_secret_is_logged_or_recorded(
    engine: Engine,
    factory: sessionmaker[Session],
    clock: ManualClock,
    facility: None,
    channels_file: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    settings = Settings(
        data_dir=tmp_path / "data", channels_file=channels_file, secret_key=SECRET_KEY
    )
    monkeypatch.setenv("COHERENCE_CHANNELS_FILE", str(channels_file))
    monkeypatch.setenv("COHERENCE_SECRET_KEY", SECRET_KEY)
    run = cli_runner(engine, tmp_path / "data", monkeypatch)
    token = run("token", "create", "--person", "amara-osei", "--name", "laptop").output
    token = next(word for word in token.split() if word.startswith("coh_"))
    typed = CliRunner().invoke(
        cli_app, ["password", "set", "amara-osei", "--password-stdin"], input=PASSWORD + "\n"
    )
    assert typed.exit_code == 0, typed.output
    secrets = [PASSWORD, MISTYPED, token, SMTP_PASSWORD, WEBHOOK_SECRET, SMS_TOKEN, MATRIX_TOKEN]
    secrets.append(SECRET_KEY)

    app = create_app(settings, engine=engine, clock=clock, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as browser:
        refused = browser.post("/login", data={"person": "amara-osei", "password": MISTYPED})
        assert refused.status_code == 401
        signed_in = browser.post(
            "/login", data={"person": "amara-osei", "password": PASSWORD}, follow_redirects=False
        )
        assert signed_in.status_code == 303
        cookie = browser.cookies[WEB_TOKEN_COOKIE]
        secrets.append(cookie)
        assert browser.get("/").status_code == 200
        browser.post("/logout")
        assert browser.get(f"/login?token={token}", follow_redirects=False).status_code == 303
        secrets.append(browser.cookies[WEB_TOKEN_COOKIE])
        api = {"Authorization": f"Bearer {token}"}
        opened = browser.post(
            "/api/v1/incidents",
            json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"},
            headers=api,
        )
        assert opened.status_code == 201, opened.text
        assert (
            browser.get("/api/v1/me", headers={"Authorization": "Bearer coh_x"}).status_code == 401
        )
        sent = 0
        for _ in range(4):
            _fired, passed = app.state.workers.run_once()
            sent += passed
    app.state.engine.dispose()

    with session_scope(factory) as session:
        ledger = [
            str(e.payload) + e.subject + e.actor for e in session.scalars(select(LedgerEntry))
        ]
        attempts = [a.detail for a in session.scalars(select(DeliveryAttempt))]
    assert attempts, "the pages were never attempted, so their channels were not exercised"
    assert any(a.startswith("SMTP answered 535") for a in attempts), attempts
    shown = RedactTokens()
    logged = []
    for record in caplog.records:
        if record.name.startswith(("coherence", "uvicorn")):
            logged.append(record.getMessage())
        shown.filter(record)
        logged.append(record.getMessage())
    for secret in secrets:
        for where, texts in (("log", logged), ("ledger", ledger), ("delivery", attempts)):
            leaks = [t for t in texts if secret in t]
            assert not leaks, f"{secret!r} appears in the {where}: {leaks[:2]}"


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("GET /login?token=coh_Secret-123_x HTTP/1.1", "Secret-123_x"),
        ("POST /login person=amara-osei&password=hunter2-hunter2", "hunter2"),
        ("Cookie: coherence_token=AbC-dEf_123; theme=dark", "AbC-dEf_123"),
        ("Authorization: Bearer sms-gateway-token-77aa31", "sms-gateway-token-77aa31"),
        ("postgresql+psycopg://coherence:db-pass-42@db.example.org/coherence", "db-pass-42"),
        ("smtp secret=webhook-secret-9d8e7f6a5b4c failed", "webhook-secret-9d8e7f6a5b4c"),
    ],
)
def test_the_log_filter_masks_every_kind_of_credential(line: str, secret: str) -> None:
    record = logging.LogRecord("coherence", logging.WARNING, __file__, 1, "%s", (line,), None)
    RedactTokens().filter(record)
    assert secret not in record.getMessage()
    assert "[redacted]" in record.getMessage()


def test_the_log_filter_masks_a_traceback_and_keeps_other_lines_as_they_are() -> None:
    try:
        raise ValueError(f"bad login {PASSWORD!r} password={PASSWORD}")
    except ValueError:
        record = logging.LogRecord(
            "coherence", logging.ERROR, __file__, 1, "failed %d times", (3,), sys.exc_info()
        )
    RedactTokens().filter(record)
    assert record.getMessage() == "failed 3 times"
    assert "password=[redacted]" in (record.exc_text or "")
    assert f"password={PASSWORD}" not in (record.exc_text or "")


def test_serve_filters_every_handler_including_coherence_own_warnings() -> None:
    config = _log_config()
    assert all("redact_tokens" in h["filters"] for h in config["handlers"].values())
    assert config["root"]["handlers"] == ["default"]
