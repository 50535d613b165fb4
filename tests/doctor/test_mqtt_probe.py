"""The doctor connects to an MQTT broker the way the intake will: user, password, TLS, CA."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from coherence.doctor.network import probe_mqtt
from coherence.settings import Settings
from tests.detection import mosquitto
from tests.detection.mosquitto import PASSWORD, Mosquitto

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    yield from mosquitto.start(tmp_path_factory.mktemp("mosquitto"))


def probe(tmp_path: Path, url: str, ca_file: Path | None = None) -> tuple[str | None, float | None]:
    return probe_mqtt(Settings(data_dir=tmp_path, mqtt_url=url, mqtt_ca_file=ca_file), TIMEOUT)


def test_the_intakes_credentials_and_tls_pass(broker: Mosquitto, tmp_path: Path) -> None:
    assert probe(tmp_path, broker.url())[0] is None
    error, latency = probe(tmp_path, broker.url(tls=True), broker.ca_file)
    assert error is None
    assert latency is not None


def test_a_wrong_password_fails_without_showing_it(broker: Mosquitto, tmp_path: Path) -> None:
    error, _ = probe(tmp_path, broker.url(password="not-the-password"))
    assert error is not None
    assert "refused" in error
    assert "not-the-password" not in error
    assert PASSWORD not in error


def test_tls_against_an_untrusted_broker_fails(broker: Mosquitto, tmp_path: Path) -> None:
    error, _ = probe(tmp_path, broker.url(tls=True))
    assert error is not None
    assert "certificate" in error.lower()


def test_a_ca_file_without_tls_is_refused_by_name(broker: Mosquitto, tmp_path: Path) -> None:
    error, _ = probe(tmp_path, broker.url(), broker.ca_file)
    assert error is not None
    assert "mqtt_ca_file" in error
