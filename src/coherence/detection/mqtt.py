"""MQTT intake: `coherence/<site>/<asset>/<metric>` topics into the detector."""

from __future__ import annotations

import asyncio
import functools
import logging
import ssl
from dataclasses import dataclass, field, replace
from urllib.parse import quote, unquote, urlsplit

import aiomqtt
import orjson

from coherence.clock import Clock
from coherence.detection.formats import parse_item
from coherence.detection.leadership import CONFIRM_SECONDS, RETRY_SECONDS, Leadership, lead
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Rejection, Sample
from coherence.errors import ValidationFailed
from coherence.settings import Settings

log = logging.getLogger(__name__)

TOPIC_FILTER = "coherence/+/+/+"
BATCH_SIZE = 1000
BATCH_SECONDS = 0.05
RECONNECT_SECONDS = 2.0


@dataclass
class MqttStats:
    """Whether this process is the active MQTT intake, and what it has taken and refused."""

    active: bool = False
    received: int = 0
    accepted: int = 0
    rejected: int = 0
    last_rejections: list[str] = field(default_factory=list)


def sample_from_message(topic: str, payload: bytes, received_at: float) -> Sample | Rejection:
    """Build a sample from a topic `coherence/<site>/<asset>/<metric>` and a JSON payload.

    The payload is `{"value", "unit", "timestamp"?, "quality"?}`; without a timestamp the
    receive time is used.
    """
    parts = topic.split("/")
    if len(parts) != 4 or parts[0] != "coherence":
        return Rejection(
            0, "topic", f"topic {topic[:200]!r} is not coherence/<site>/<asset>/<metric>"
        )
    try:
        body = orjson.loads(payload)
    except orjson.JSONDecodeError:
        return Rejection(0, "payload", "payload is not JSON")
    if type(body) is not dict:
        return Rejection(
            0, "payload", 'payload must be an object like {"value": 0.01, "unit": "K"}'
        )
    body.setdefault("timestamp", received_at)
    return parse_item({**body, "site": parts[1], "asset": parts[2], "metric": parts[3]})


URL_FORM = "mqtt://[user:password@]host[:1883] or mqtts://[user:password@]host[:8883]"
PORTS = {"mqtt": 1883, "tcp": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class Broker:
    """Where the intake connects, as whom, and the TLS context when it uses TLS."""

    host: str
    port: int
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    tls: ssl.SSLContext | None = None

    @property
    def shown(self) -> str:
        """The broker as a URL with the password masked, for logs and errors."""
        scheme = "mqtts" if self.tls else "mqtt"
        user = ""
        if self.username is not None:
            user = quote(self.username, safe="") + (":***" if self.password else "") + "@"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"

    def client(self, identifier: str | None) -> aiomqtt.Client:
        """A client for this broker; ``identifier`` None lets the broker's library pick one."""
        return aiomqtt.Client(
            self.host,
            self.port,
            username=self.username,
            password=self.password,
            identifier=identifier,
            tls_context=self.tls,
        )


def parse_broker_url(url: str) -> Broker:
    """Read `mqtt://[user:password@]host[:port]` or `mqtts://…` (TLS against the system CAs)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        raise ValueError(f"mqtt_url is not a URL; write it as {URL_FORM}") from None
    shown = _masked(url, parts.password)
    if parts.scheme not in PORTS:
        raise ValueError(f"mqtt_url {shown!r} must be {URL_FORM}")
    if not parts.hostname:
        raise ValueError(f"mqtt_url {shown!r} names no host; write it as {URL_FORM}")
    try:
        port = parts.port or PORTS[parts.scheme]
    except ValueError:
        raise ValueError(
            f"mqtt_url {shown!r} has a bad port (a number from 1 to 65535); write it as {URL_FORM}"
        ) from None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ValueError(f"mqtt_url {shown!r} has a path or query; write it as {URL_FORM}")
    username = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    if password is not None and username is None:
        raise ValueError(f"mqtt_url {shown!r} has a password but no user name")
    tls = ssl.create_default_context() if parts.scheme == "mqtts" else None
    return Broker(parts.hostname, port, username, password, tls)


def broker_from_settings(settings: Settings) -> Broker | None:
    """The broker `mqtt_url` names (None when empty); a bad setting is refused by name."""
    if not settings.mqtt_url:
        return None
    try:
        broker = parse_broker_url(settings.mqtt_url)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="mqtt_url") from None
    ca_file = settings.mqtt_ca_file
    if ca_file is None:
        return broker
    if broker.tls is None:
        raise ValidationFailed(
            f"mqtt_ca_file is set but mqtt_url {broker.shown!r} does not use TLS; "
            "write it as mqtts://…",
            field="mqtt_ca_file",
        )
    try:
        context = ssl.create_default_context(cafile=str(ca_file))
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise ValidationFailed(
            f"mqtt_ca_file {str(ca_file)!r} holds no CA certificates we can read ({reason}); "
            "give a PEM file of the CAs that sign the broker's certificate",
            field="mqtt_ca_file",
        ) from None
    return replace(broker, tls=context)


async def run_mqtt_intake(
    broker: Broker,
    pipeline: Pipeline,
    stats: MqttStats,
    clock: Clock,
    lock: Leadership,
    *,
    retry_seconds: float = RETRY_SECONDS,
    confirm_seconds: float = CONFIRM_SECONDS,
) -> None:
    """Subscribe and feed the pipeline while this process holds ``lock``, until cancelled."""

    def active(held: bool) -> None:
        stats.active = held

    job = functools.partial(_subscribe, broker, pipeline, stats, clock, lock)
    await lead(
        lock,
        job,
        on_change=active,
        retry_seconds=retry_seconds,
        confirm_seconds=confirm_seconds,
    )


async def _subscribe(
    broker: Broker, pipeline: Pipeline, stats: MqttStats, clock: Clock, lock: Leadership
) -> None:
    # One client identifier per deployment: the broker disconnects a former holder that still
    # thinks it runs the intake as soon as the new holder connects, so no message reaches both.
    identifier = f"coherence-{lock.fence}" if lock.fence else None
    while True:
        try:
            async with broker.client(identifier) as client:
                await client.subscribe(TOPIC_FILTER, qos=1)
                log.info("MQTT intake subscribed to %s on %s", TOPIC_FILTER, broker.shown)
                await _consume(client, pipeline, stats, clock)
        except aiomqtt.MqttError as exc:
            log.warning(
                "MQTT connection to %s failed (%s); retrying in %s s",
                broker.shown,
                exc,
                RECONNECT_SECONDS,
            )
            await asyncio.sleep(RECONNECT_SECONDS)
            # Reconnecting without the lock would knock the new holder off the broker.
            if not await lock.confirm():
                return


def _masked(url: str, password: str | None) -> str:
    return url.replace(f":{password}@", ":***@", 1) if password else url


async def _consume(
    client: aiomqtt.Client, pipeline: Pipeline, stats: MqttStats, clock: Clock
) -> None:
    batch: list[Sample] = []
    messages = aiter(client.messages)
    # One wait for the next message outlives the batch timeouts: cancelling it on each timeout
    # (as wait_for does) drops a message that arrives at that instant.
    next_message = asyncio.ensure_future(anext(messages))
    try:
        while True:
            done, _pending = await asyncio.wait({next_message}, timeout=BATCH_SECONDS)
            message = next_message.result() if done else None
            if done:
                next_message = asyncio.ensure_future(anext(messages))
            await _take(message, batch, pipeline, stats, clock)
    finally:
        next_message.cancel()


async def _take(
    message: aiomqtt.Message | None,
    batch: list[Sample],
    pipeline: Pipeline,
    stats: MqttStats,
    clock: Clock,
) -> None:
    """Add ``message`` to ``batch``; evaluate the batch when it is full or nothing came."""
    if message is not None:
        stats.received += 1
        payload = message.payload if isinstance(message.payload, bytes) else b""
        received_at = clock.now().timestamp()
        parsed = sample_from_message(str(message.topic), payload, received_at)
        if isinstance(parsed, Rejection):
            _refuse(stats, str(message.topic), parsed.message)
        else:
            batch.append(parsed)
    if batch and (message is None or len(batch) >= BATCH_SIZE):
        report = await asyncio.to_thread(pipeline.ingest, batch)
        stats.accepted += report.accepted
        for rejection in report.rejected:
            _refuse(stats, batch[rejection.index].asset, rejection.message)
        batch.clear()


def _refuse(stats: MqttStats, where: str, message: str) -> None:
    # Nobody can be answered over MQTT, so refusals are counted and logged instead.
    stats.rejected += 1
    stats.last_rejections = [*stats.last_rejections[-19:], f"{where}: {message}"]
    log.warning("MQTT sample refused: %s: %s", where, message)
