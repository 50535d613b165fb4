"""What `coherence doctor` reaches over the network: the brokers and the notification channels."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import nats
from nats.errors import NoRespondersError
from nats.js.errors import ServiceUnavailableError
from paho.mqtt import client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.reasoncodes import ReasonCode

from coherence.comms.channels import Channel, OutgoingMessage
from coherence.comms.config import load_channels
from coherence.comms.domain import DeliveryFailed
from coherence.comms.http_channels import HttpGatewayChannel, MatrixChannel
from coherence.comms.other_channels import SmtpChannel
from coherence.detection.mqtt import broker_from_settings
from coherence.doctor import domain
from coherence.doctor.domain import Finding, Verdict
from coherence.doctor.probes import Options, first_line
from coherence.errors import CoherenceError, ValidationFailed
from coherence.settings import Environment, Settings

# Where a test message goes on channels whose destination is in the channels file.
TEST_ADDRESS = "coherence-doctor"
# These deliver to a person's own address (mailbox, phone, room): the doctor must be given one.
NEEDS_ADDRESS = (SmtpChannel, HttpGatewayChannel, MatrixChannel)


def shown(url: str) -> str:
    """A broker URL with any password masked."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def check_brokers(settings: Settings, options: Options) -> list[Finding]:
    """Connect to the MQTT broker and the NATS server the settings name."""
    found = []
    if settings.mqtt_url:
        error, latency = probe_mqtt(settings, options.timeout)
        found.append(
            domain.judge_broker(
                "mqtt",
                shown(settings.mqtt_url),
                error=error,
                latency_ms=latency,
                setting="COHERENCE_MQTT_URL",
            )
        )
    # The default NATS URL is only used by `worker detect`; check it when it was set on purpose.
    if "nats_url" in settings.model_fields_set:
        error, latency, jetstream = probe_nats(settings.nats_url, options.timeout)
        found.append(
            domain.judge_broker(
                "nats",
                shown(settings.nats_url),
                error=error,
                latency_ms=latency,
                setting="COHERENCE_NATS_URL",
                jetstream=jetstream,
            )
        )
    return found


def probe_mqtt(settings: Settings, timeout: float) -> tuple[str | None, float | None]:
    """Connect as the intake would (user, TLS, CA file) and wait for the broker's CONNACK:
    (error, milliseconds)."""
    try:
        broker = broker_from_settings(settings)
    except ValidationFailed as exc:
        return exc.message, None
    if broker is None:
        return "mqtt_url is empty", None
    answered = threading.Event()
    codes: list[ReasonCode] = []

    def on_connect(*args: Any) -> None:
        codes.append(args[3])
        answered.set()

    client = mqtt.Client(CallbackAPIVersion.VERSION2, client_id=f"coherence-doctor-{uuid.uuid4()}")
    client.connect_timeout = timeout
    client.on_connect = on_connect
    if broker.username is not None:
        client.username_pw_set(broker.username, broker.password)
    if broker.tls is not None:
        client.tls_set_context(broker.tls)
    start = time.perf_counter()
    try:
        client.connect(broker.host, broker.port, keepalive=30)
    except OSError as exc:
        return exc.strerror or first_line(exc) or "timed out", None
    client.loop_start()
    try:
        if not answered.wait(timeout):
            return f"no answer to CONNECT within {timeout:g} s", None
        if codes[0].is_failure:
            return f"the broker refused the connection: {codes[0]}", None
        return None, (time.perf_counter() - start) * 1000
    finally:
        client.disconnect()
        client.loop_stop()


def probe_nats(url: str, timeout: float) -> tuple[str | None, float | None, bool | None]:
    """Connect and ask for the JetStream account: (error, milliseconds, JetStream enabled)."""
    start = time.perf_counter()
    try:
        jetstream = asyncio.run(_nats(url, timeout))
    except TimeoutError:
        return f"no answer within {timeout:g} s", None, None
    except Exception as exc:
        return first_line(exc), None, None
    return None, (time.perf_counter() - start) * 1000, jetstream


async def _nats(url: str, timeout: float) -> bool:
    # nats-py retries forever unless told otherwise; the deadline bounds the whole attempt.
    async with asyncio.timeout(timeout):
        connection = await nats.connect(
            url,
            name="coherence-doctor",
            connect_timeout=timeout,
            allow_reconnect=False,
            max_reconnect_attempts=1,
            reconnect_time_wait=0.1,
            error_cb=_quiet,
        )
        try:
            await connection.jetstream().account_info()
        except (NoRespondersError, ServiceUnavailableError):
            return False
        finally:
            await connection.close()
    return True


async def _quiet(_error: Exception) -> None:
    """Swallow nats-py's own error reports; the probe's outcome says what happened."""


def check_channels(settings: Settings, options: Options) -> list[Finding]:
    """Build each channel from the channels file and send it a test message."""
    if settings.channels_file is None:
        return [domain.no_channels_file(production=settings.environment is Environment.PRODUCTION)]
    source = str(settings.channels_file)
    try:
        channels = load_channels(settings.channels_file)
    except CoherenceError as exc:
        problems = "; ".join(
            f"{p['path']}: {p['message']}" for p in exc.details.get("problems", [])
        )
        return [
            Finding(
                "channels",
                Verdict.FAIL,
                f"{exc.message}{f' ({problems})' if problems else ''}",
                f"correct {source} (see docs/notifications.md#channels)",
            )
        ]
    found = [
        Finding(
            f"channel {kind}",
            Verdict.FAIL,
            f"--test-to names {kind}, but {source} has no {kind} channel",
            f"add an entry for {kind} to {source}, or drop --test-to {kind}=...",
        )
        for kind in sorted(set(options.test_to) - set(channels))
    ]
    if not options.send:
        names = ", ".join(channels)
        return [
            *found,
            Finding("channels", Verdict.OK, f"{source} names {names}; nothing sent (--no-send)"),
        ]
    return found + [
        send_test(kind, channel, options.test_to.get(kind), source)
        for kind, channel in channels.items()
    ]


def send_test(kind: str, channel: Channel, address: str | None, source: str) -> Finding:
    """Send one test message through ``channel`` and judge what happened."""
    if address is None and isinstance(channel, NEEDS_ADDRESS):
        return domain.judge_channel(
            kind, outcome=domain.UNTESTED, detail="it needs an address to send to", source=source
        )
    message = OutgoingMessage(
        message_id=0,
        channel=kind,
        address=address or TEST_ADDRESS,
        subject="Coherence doctor: test message",
        body=f"A test from `coherence doctor` on {socket.gethostname()}. No action needed.",
        key=f"doctor-{uuid.uuid4().hex}",
    )
    try:
        channel.send(message)
    except DeliveryFailed as exc:
        return domain.judge_channel(
            kind, outcome=exc.outcome.value, detail=exc.detail, source=source
        )
    except Exception as exc:
        return domain.judge_channel(kind, outcome="error", detail=first_line(exc), source=source)
    finally:
        close = getattr(channel, "close", None)
        if callable(close):
            close()
    return domain.judge_channel(kind, outcome=None, detail=f"to {message.address}", source=source)
