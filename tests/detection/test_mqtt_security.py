"""MQTT intake with credentials and TLS, against a Mosquitto that refuses anonymous clients."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.app import create_app
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection.mqtt import broker_from_settings, parse_broker_url
from coherence.errors import ValidationFailed
from coherence.settings import Settings
from tests.conftest import START
from tests.detection import mosquitto
from tests.detection.mosquitto import PASSWORD, USER, Mosquitto
from tests.helpers import cli_runner

TOPIC = "coherence/sc-lab/fridge-1/mxc_temperature_k"
ENCODED = "s3cret%2Fp%40ss%3Aw0rd"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    yield from mosquitto.start(tmp_path_factory.mktemp("mosquitto"))


def test_credentials_are_percent_decoded_and_never_shown() -> None:
    broker = parse_broker_url(f"mqtt://{USER}:{ENCODED}@broker.lab:1884")
    assert (broker.host, broker.port, broker.username) == ("broker.lab", 1884, USER)
    assert broker.password == PASSWORD
    assert broker.tls is None
    assert broker.shown == f"mqtt://{USER}:***@broker.lab:1884"
    assert PASSWORD not in repr(broker)


def test_mqtts_means_tls_on_8883_verified_against_the_system() -> None:
    broker = parse_broker_url("mqtts://broker.lab")
    assert broker.port == 8883
    assert broker.tls is not None
    assert broker.tls.check_hostname
    assert broker.shown == "mqtts://broker.lab:8883"


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://u:hunter2@broker.lab", "must be mqtt://"),
        ("mqtt://u:hunter2@:1883", "names no host"),
        ("mqtt://u:hunter2@broker.lab:99999", "bad port"),
        ("mqtt://u:hunter2@broker.lab:port", "bad port"),
        ("mqtt://u:hunter2@broker.lab:1883/telemetry", "path"),
        ("mqtt://:hunter2@broker.lab", "no user name"),
        ("mqtt://[::1", "not a URL"),
    ],
)
def test_bad_urls_name_the_setting_and_hide_the_password(url: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as raised:
        parse_broker_url(url)
    assert "mqtt_url" in str(raised.value)
    assert "hunter2" not in str(raised.value)
    with pytest.raises(ValidationFailed) as refused:
        broker_from_settings(Settings(mqtt_url=url))
    assert refused.value.field == "mqtt_url"


@pytest.mark.parametrize(
    ("url", "ca_text", "problem"),
    [
        ("mqtt://broker.lab", "", "does not use TLS"),
        ("mqtts://broker.lab", None, "No such file"),
        ("mqtts://broker.lab", "not a certificate", "no CA certificates"),
    ],
)
def test_a_bad_ca_file_is_refused_by_name(
    tmp_path: Path, url: str, ca_text: str | None, problem: str
) -> None:
    ca_file = tmp_path / "ca.pem"
    if ca_text is not None:
        ca_file.write_text(ca_text)
    with pytest.raises(ValidationFailed, match=problem) as refused:
        broker_from_settings(Settings(mqtt_url=url, mqtt_ca_file=ca_file))
    assert refused.value.field == "mqtt_ca_file"


def test_serve_refuses_a_bad_url_by_setting_name(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli_runner(engine, tmp_path / "data", monkeypatch)
    monkeypatch.setenv("COHERENCE_MQTT_URL", "mqtt://intake:hunter2@broker.lab:70000")
    result = run("serve", code=1)
    assert "mqtt_url" in result.output
    assert "bad port" in result.output
    assert "hunter2" not in result.output


@pytest.fixture
def intake(
    engine: Engine,
    clock: ManualClock,
    facility: None,
    tmp_path: Path,
    factory: sessionmaker[Session],
    caplog: pytest.LogCaptureFixture,
) -> Iterator[Callable[..., TestClient]]:
    """Start the app with MQTT intake from a URL (and CA file); yields an opener."""
    caplog.set_level(logging.INFO, logger="coherence.detection")
    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="amara-osei", name="test", actor="test"
        )
    clients: list[TestClient] = []

    def open_app(url: str, ca_file: Path | None = None) -> TestClient:
        settings = Settings(data_dir=tmp_path / "data", mqtt_url=url, mqtt_ca_file=ca_file)
        app = create_app(settings, engine=engine, clock=clock, run_workers=False)
        client = TestClient(app)
        client.__enter__()
        clients.append(client)
        client.headers["Authorization"] = f"Bearer {secret}"
        return client

    yield open_app
    for client in clients:
        client.__exit__(None, None, None)


def _logged(caplog: pytest.LogCaptureFixture, text: str) -> Callable[[], bool]:
    return lambda: any(text in record.getMessage() for record in caplog.records)


def _wait(predicate: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def _samples(count: int, *, value: float = 0.012) -> list[tuple[str, bytes]]:
    t0 = START.timestamp()
    return [
        (TOPIC, orjson.dumps({"value": value, "unit": "K", "timestamp": t0 + 10 * i}))
        for i in range(count)
    ]


def test_the_right_credentials_feed_the_detector(
    broker: Mosquitto, intake: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = intake(broker.url())
    _wait(_logged(caplog, "subscribed"))
    asyncio.run(broker.publish(_samples(20, value=0.08)))
    _wait(lambda: client.get("/api/v1/incidents").json()["total"] == 1)
    assert client.get("/api/v1/incidents").json()["items"][0]["asset"] == "fridge-1"
    status = client.get("/api/v1/telemetry/status").json()
    assert status["mqtt_active"]
    assert status["mqtt_accepted"] == 20
    assert f"mqtt://{USER}:***@127.0.0.1:{broker.plain_port}" in caplog.text


def test_a_wrong_password_is_refused_and_not_logged(
    broker: Mosquitto, intake: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = intake(broker.url(password="wrong-password"))
    _wait(_logged(caplog, "Not authori"))
    asyncio.run(broker.publish(_samples(3)))
    assert client.get("/api/v1/telemetry/status").json()["mqtt_received"] == 0
    assert f"{USER}:***@" in caplog.text
    assert "wrong-password" not in caplog.text
    assert "subscribed" not in caplog.text


def test_mqtts_with_the_ca_file_feeds_the_detector(
    broker: Mosquitto, intake: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = intake(broker.url(tls=True), broker.ca_file)
    _wait(_logged(caplog, "subscribed"))
    assert f"mqtts://{USER}:***@127.0.0.1:{broker.tls_port}" in caplog.text
    asyncio.run(broker.publish(_samples(5)))
    _wait(lambda: client.get("/api/v1/telemetry/status").json()["mqtt_accepted"] == 5)


def test_mqtts_refuses_a_broker_nobody_vouches_for(
    broker: Mosquitto, intake: Callable[..., TestClient], caplog: pytest.LogCaptureFixture
) -> None:
    client = intake(broker.url(tls=True))
    _wait(_logged(caplog, "certificate verify failed"))
    assert "subscribed" not in caplog.text
    assert PASSWORD not in caplog.text
    assert ENCODED not in caplog.text
    assert client.get("/api/v1/telemetry/status").json()["mqtt_received"] == 0
