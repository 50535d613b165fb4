"""MQTT intake: `coherence/<site>/<asset>/<metric>` topics into the detector."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import aiomqtt
import orjson

from coherence.clock import Clock
from coherence.detection.formats import parse_item
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Rejection, Sample

log = logging.getLogger(__name__)

TOPIC_FILTER = "coherence/+/+/+"
BATCH_SIZE = 1000
BATCH_SECONDS = 0.05
RECONNECT_SECONDS = 2.0


@dataclass
class MqttStats:
    """What the MQTT intake has taken and refused since it started."""

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


def broker_address(url: str) -> tuple[str, int]:
    """Return host and port from `mqtt://host:port`."""
    parts = urlsplit(url)
    if parts.scheme not in ("mqtt", "tcp") or not parts.hostname:
        raise ValueError(f"MQTT URL must look like mqtt://host:1883, not {url!r}")
    return parts.hostname, parts.port or 1883


async def run_mqtt_intake(url: str, pipeline: Pipeline, stats: MqttStats, clock: Clock) -> None:
    """Subscribe and feed batches to the pipeline until cancelled, reconnecting on loss."""
    host, port = broker_address(url)
    while True:
        try:
            async with aiomqtt.Client(host, port, identifier=None) as client:
                await client.subscribe(TOPIC_FILTER, qos=1)
                log.info("MQTT intake subscribed to %s on %s:%s", TOPIC_FILTER, host, port)
                await _consume(client, pipeline, stats, clock)
        except aiomqtt.MqttError as exc:
            log.warning("MQTT connection lost (%s); retrying in %s s", exc, RECONNECT_SECONDS)
            await asyncio.sleep(RECONNECT_SECONDS)


async def _consume(
    client: aiomqtt.Client, pipeline: Pipeline, stats: MqttStats, clock: Clock
) -> None:
    batch: list[Sample] = []
    messages = aiter(client.messages)
    while True:
        try:
            message = await asyncio.wait_for(anext(messages), timeout=BATCH_SECONDS)
        except TimeoutError:
            message = None
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
            batch = []


def _refuse(stats: MqttStats, where: str, message: str) -> None:
    # Nobody can be answered over MQTT, so refusals are counted and logged instead.
    stats.rejected += 1
    stats.last_rejections = [*stats.last_rejections[-19:], f"{where}: {message}"]
    log.warning("MQTT sample refused: %s: %s", where, message)
