"""`coherence doctor` against real SQLite, PostgreSQL, Mosquitto, NATS and an SMTP relay."""

from __future__ import annotations

import os
import shutil
import socket
import sqlite3
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import Envelope
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from sqlalchemy import Engine, text
from typer.testing import CliRunner

from coherence.cli import app
from coherence.clock import SystemClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.ledger import checkpoints, keys
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from tests.conftest import IN_CI, POSTGRES_URL
from tests.helpers import database_url

MQTT_URL = os.environ.get("COHERENCE_TEST_MQTT_URL", "mqtt://127.0.0.1:1883")
NATS_URL = os.environ.get("COHERENCE_TEST_NATS_URL", "nats://127.0.0.1:4222")
SECRET = "a-long-random-test-secret-of-more-than-32-characters"


def _missing(message: str, variable: str) -> None:
    if IN_CI:
        pytest.fail(message + "; under CI=true this is a failure, not a skip")
    pytest.skip(message + f"; set {variable} to run this")


def _service(url: str, default_port: int, what: str, variable: str) -> str:
    parts = urlsplit(url)
    try:
        socket.create_connection((parts.hostname or "", parts.port or default_port), 2).close()
    except OSError as exc:
        _missing(f"no {what} at {url} ({exc})", variable)
    return url


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def doctor(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Any:
    """Return ``run(*args, code=...)``: the doctor's JSON report, with a clean environment."""
    for name in list(os.environ):
        if name.startswith("COHERENCE_") and not name.startswith("COHERENCE_TEST_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("COHERENCE_ENVIRONMENT", "production")
    monkeypatch.setenv("COHERENCE_SECRET_KEY", SECRET)
    runner = CliRunner()

    def run(*args: str, code: int = 0) -> dict[str, Any]:
        result = runner.invoke(app, ["doctor", "--json", *args])
        assert "Traceback" not in result.output, result.output
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, result.output
        report: dict[str, Any] = orjson.loads(result.stdout)
        return report

    return run


def _check(report: dict[str, Any], name: str) -> dict[str, str]:
    found = [c for c in report["checks"] if c["check"] == name]
    assert len(found) == 1, report["checks"]
    return found[0]


@pytest.fixture
def deployed(engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, doctor: Any) -> Path:
    """A migrated database (SQLite, and PostgreSQL when reachable) with its ledger key."""
    monkeypatch.setenv("COHERENCE_DATABASE_URL", database_url(engine))
    key = tmp_path / "data" / "ledger-signer.key"
    keys.ensure_signer(key)
    return key


def test_a_sound_deployment_passes(doctor: Any, deployed: Path) -> None:
    report = doctor()
    assert report["ok"] is True
    assert report["counts"]["fail"] == 0
    for name in ("settings", "database", "migrations", "clock", "ledger key", "evidence store"):
        assert _check(report, name)["verdict"] == "ok", report
    assert "owner-only" in _check(report, "ledger key")["summary"]
    assert _check(report, "channels")["verdict"] == "warn"


def test_a_world_readable_key_fails(doctor: Any, deployed: Path) -> None:
    deployed.chmod(0o644)
    report = doctor(code=1)
    key = _check(report, "ledger key")
    assert key["verdict"] == "fail"
    assert key["fix"] == f"run `chmod 600 {deployed}`"


def test_a_key_that_did_not_sign_the_ledger_fails(
    doctor: Any, deployed: Path, engine: Engine
) -> None:
    other = keys.ensure_signer(deployed.parent / "other.key")
    with session_scope(make_session_factory(engine)) as session:
        ledger_service.append(
            session,
            clock=SystemClock(),
            entry_type=EntryType.FACILITY_LOADED,
            actor="test",
            subject="facility",
            payload={},
        )
        checkpoints.sign_latest(session, clock=SystemClock(), signer_key=other)
    report = doctor(code=1)
    key = _check(report, "ledger key")
    assert key["verdict"] == "fail"
    assert "did not sign" in key["summary"]


def test_an_unmigrated_sqlite_database_fails(doctor: Any, tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    sqlite3.connect(tmp_path / "data" / "coherence.db").close()
    report = doctor(code=1)
    migrations = _check(report, "migrations")
    assert migrations["verdict"] == "fail"
    assert migrations["summary"] == "the database has no Coherence schema"
    assert "coherence db upgrade" in migrations["fix"]


def test_a_missing_sqlite_database_fails_without_creating_it(doctor: Any, tmp_path: Path) -> None:
    report = doctor(code=1)
    assert _check(report, "database")["verdict"] == "fail"
    assert "coherence init" in _check(report, "database")["fix"]
    assert not (tmp_path / "data" / "coherence.db").exists()


@pytest.fixture
def empty_postgres(postgres_schema: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A PostgreSQL schema with no tables, named in COHERENCE_DATABASE_URL."""
    schema = f"coherence_doctor_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    monkeypatch.setenv("COHERENCE_DATABASE_URL", f"{POSTGRES_URL}?options=-csearch_path%3D{schema}")
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def test_an_unmigrated_postgres_database_fails(doctor: Any, empty_postgres: str) -> None:
    report = doctor(code=1)
    assert _check(report, "database")["verdict"] == "ok"
    migrations = _check(report, "migrations")
    assert migrations["verdict"] == "fail"
    assert "coherence db upgrade" in migrations["fix"]
    assert _check(report, "clock")["verdict"] == "ok"


def test_an_unreachable_database_fails_with_the_fix(
    doctor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(
        "COHERENCE_DATABASE_URL", f"postgresql+psycopg://nobody:pw@127.0.0.1:{_free_port()}/x"
    )
    report = doctor("--timeout", "1", code=1)
    database = _check(report, "database")
    assert database["verdict"] == "fail"
    assert "pw" not in database["summary"]
    assert "COHERENCE_DATABASE_URL" in database["fix"]
    assert _check(report, "migrations")["verdict"] == "warn"


def test_real_brokers_pass(doctor: Any, deployed: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "COHERENCE_MQTT_URL", _service(MQTT_URL, 1883, "MQTT broker", "COHERENCE_TEST_MQTT_URL")
    )
    monkeypatch.setenv(
        "COHERENCE_NATS_URL", _service(NATS_URL, 4222, "NATS server", "COHERENCE_TEST_NATS_URL")
    )
    report = doctor()
    assert _check(report, "mqtt")["verdict"] == "ok"
    assert "with JetStream" in _check(report, "nats")["summary"]


@pytest.mark.parametrize(
    ("variable", "scheme", "check"),
    [("COHERENCE_MQTT_URL", "mqtt", "mqtt"), ("COHERENCE_NATS_URL", "nats", "nats")],
)
def test_an_unreachable_broker_fails_with_the_fix(
    doctor: Any,
    deployed: Path,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    scheme: str,
    check: str,
) -> None:
    url = f"{scheme}://127.0.0.1:{_free_port()}"
    monkeypatch.setenv(variable, url)
    report = doctor("--timeout", "2", code=1)
    finding = _check(report, check)
    assert finding["verdict"] == "fail"
    assert (
        finding["fix"]
        == f"start the broker at {url}, open the firewall to it, or correct {variable}"
    )


@pytest.fixture
def nats_without_jetstream(tmp_path: Path) -> Iterator[str]:
    """A nats-server of our own, started without JetStream."""
    binary = shutil.which("nats-server")
    if binary is None:
        _missing("no nats-server on PATH", "PATH")
    port = _free_port()
    process = subprocess.Popen(
        [str(binary), "-a", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), 0.2).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "nats-server did not start"
                time.sleep(0.05)
        yield f"nats://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(10)


def test_nats_without_jetstream_fails(
    doctor: Any, deployed: Path, monkeypatch: pytest.MonkeyPatch, nats_without_jetstream: str
) -> None:
    monkeypatch.setenv("COHERENCE_NATS_URL", nats_without_jetstream)
    finding = _check(doctor(code=1), "nats")
    assert finding["summary"].endswith("JetStream is not enabled")
    assert "nats-server -js" in finding["fix"]


class Inbox:
    """An aiosmtpd handler keeping what it was sent."""

    def __init__(self) -> None:
        self.received: list[Envelope] = []

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Envelope) -> str:
        self.received.append(envelope)
        return "250 OK"


@pytest.fixture
def relay() -> Iterator[tuple[Inbox, int]]:
    """A real SMTP relay on a free port."""
    inbox, port = Inbox(), _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


def _subscribe(topic: str) -> tuple[mqtt.Client, list[bytes], threading.Event]:
    parts = urlsplit(MQTT_URL)
    received: list[bytes] = []
    subscribed = threading.Event()
    client = mqtt.Client(CallbackAPIVersion.VERSION2)
    client.on_message = lambda _c, _u, message: received.append(message.payload)
    client.on_subscribe = lambda *_args: subscribed.set()
    client.connect(parts.hostname or "127.0.0.1", parts.port or 1883)
    client.loop_start()
    client.subscribe(topic, qos=1)
    return client, received, subscribed


def test_each_channel_gets_a_test_message(
    doctor: Any,
    deployed: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    relay: tuple[Inbox, int],
) -> None:
    _service(MQTT_URL, 1883, "MQTT broker", "COHERENCE_TEST_MQTT_URL")
    _service(NATS_URL, 4222, "NATS server", "COHERENCE_TEST_NATS_URL")
    inbox, port = relay
    prefix = f"doctor-test-{uuid.uuid4().hex[:8]}"
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        "channels:\n"
        f"  email: {{type: smtp, host: 127.0.0.1, port: {port}, security: none,"
        " sender: coherence@lab.example.org, timeout_seconds: 2}\n"
        f"  mqtt: {{type: mqtt, url: '{MQTT_URL}', topic_prefix: {prefix}}}\n"
        f"  nats: {{type: nats, url: '{NATS_URL}'}}\n"
        f"  sms: {{type: http_gateway, url: 'http://127.0.0.1:{port}/', "
        "body_template: '{{ text }}'}\n"
        f"  webhook: {{type: webhook, url: 'http://127.0.0.1:{_free_port()}/hook',"
        " secret: '0123456789abcdef0123', timeout_seconds: 2}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COHERENCE_CHANNELS_FILE", str(channels))
    client, received, subscribed = _subscribe(f"{prefix}/#")
    try:
        assert subscribed.wait(5)
        report = doctor("--test-to", "email=oncall@lab.example.org", code=1)
        deadline = time.monotonic() + 5
        while not received and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        client.disconnect()
        client.loop_stop()
    assert _check(report, "channel email")["verdict"] == "ok"
    assert inbox.received[0].rcpt_tos == ["oncall@lab.example.org"]
    assert _check(report, "channel mqtt")["verdict"] == "ok"
    assert orjson.loads(received[0])["subject"] == "Coherence doctor: test message"
    assert _check(report, "channel nats")["verdict"] == "ok"
    sms = _check(report, "channel sms")
    assert sms["verdict"] == "warn"
    assert sms["fix"] == "run again with --test-to sms=ADDRESS"
    webhook = _check(report, "channel webhook")
    assert webhook["verdict"] == "fail"
    assert str(channels) in webhook["fix"]


def test_no_send_only_reads_the_channels_file(
    doctor: Any, deployed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        f"channels:\n  webhook: {{type: webhook, url: 'http://127.0.0.1:{_free_port()}/',"
        " secret: '0123456789abcdef0123'}\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("COHERENCE_CHANNELS_FILE", str(channels))
    assert "nothing sent" in _check(doctor("--no-send"), "channels")["summary"]


def test_a_broken_channels_file_fails_naming_it(
    doctor: Any, deployed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    channels = tmp_path / "channels.yaml"
    channels.write_text("channels:\n  email: {type: smtp}\n", encoding="utf-8")
    monkeypatch.setenv("COHERENCE_CHANNELS_FILE", str(channels))
    finding = _check(doctor(code=1), "channels")
    assert "channels.email.host" in finding["summary"]
    assert str(channels) in finding["fix"]


def test_an_evidence_store_that_is_a_file_fails(
    doctor: Any, deployed: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "evidence"
    blocker.write_text("not a directory", encoding="utf-8")
    monkeypatch.setenv("COHERENCE_EVIDENCE_DIR", str(blocker))
    finding = _check(doctor(code=1), "evidence store")
    assert finding["verdict"] == "fail"
    assert "not a directory" in finding["summary"]


def test_invalid_settings_fail_naming_the_variable(
    doctor: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COHERENCE_PORT", "99999")
    report = doctor(code=1)
    assert [c["check"] for c in report["checks"]] == ["settings"]
    assert "COHERENCE_PORT" in report["checks"][0]["summary"]


def test_text_output_says_what_to_fix(doctor: Any, deployed: Path) -> None:
    deployed.chmod(0o640)
    result = CliRunner().invoke(app, ["doctor"])
    assert result.exit_code == 1
    assert "FAIL  ledger key" in result.stdout
    assert f"fix: run `chmod 600 {deployed}`" in result.stdout
    assert result.stdout.rstrip().endswith("1 FAIL")


@pytest.mark.parametrize(
    ("args", "code", "needle"),
    [
        (["--test-to", "oncall"], 1, "--test-to 'oncall': write KIND=ADDRESS"),
        (["--test-to", "fax=1"], 1, "'fax' is not a channel kind"),
        (["--test-to", "sms=1", "--test-to", "sms=2"], 1, "--test-to names sms twice"),
        (["--timeout", "0"], 2, "--timeout"),
    ],
)
def test_bad_options_name_the_option(doctor: Any, args: list[str], code: int, needle: str) -> None:
    result = CliRunner().invoke(app, ["doctor", *args])
    assert result.exit_code == code
    assert needle in result.output
    assert "Traceback" not in result.output
