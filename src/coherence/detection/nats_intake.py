"""NATS JetStream intake: one durable consumer per site, so each site's series stay together.

Telemetry is published to `coherence.telemetry.<site>` as a JSON array of samples or
NDJSON. A detector takes one or more sites; rule state needs every sample of a series in
one process, so a site is never split between detectors. A detector that dies leaves its
unacknowledged messages in the stream, and whoever resumes the site's consumer gets them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import nats
from nats.errors import TimeoutError as NatsTimeout
from nats.js.api import AckPolicy, ConsumerConfig
from nats.js.client import JetStreamContext
from nats.js.errors import NotFoundError
from sqlalchemy.exc import OperationalError

from coherence.detection.formats import parse_json_array, parse_ndjson
from coherence.detection.pipeline import Pipeline
from coherence.detection.sweeper import SilenceSweeper
from coherence.errors import ValidationFailed

log = logging.getLogger(__name__)

STREAM = "COHERENCE_TELEMETRY"
SUBJECT_PREFIX = "coherence.telemetry"
FETCH_BATCH = 200
RETRY_SECONDS = 1.0


@dataclass
class NatsStats:
    """What a NATS detector has taken since it started."""

    messages: int = 0
    samples: int = 0
    rejected: int = 0
    malformed: int = 0


@dataclass(frozen=True)
class Topology:
    """Where telemetry lives in JetStream; tests use their own to stay apart."""

    stream: str = STREAM
    prefix: str = SUBJECT_PREFIX

    def subject(self, site: str) -> str:
        """Return the subject a site's telemetry is published on."""
        return f"{self.prefix}.{site}"


async def ensure_stream(js: JetStreamContext, topology: Topology) -> None:
    """Create the telemetry stream if it does not exist yet."""
    try:
        await js.stream_info(topology.stream)
    except NotFoundError:
        await js.add_stream(name=topology.stream, subjects=[f"{topology.prefix}.>"])


async def run_nats_detector(
    url: str,
    sites: Sequence[str],
    pipeline: Pipeline,
    stats: NatsStats,
    *,
    topology: Topology = Topology(),
    stop: asyncio.Event | None = None,
    ack_wait_seconds: float = 30,
) -> None:
    """Consume each site's durable consumer and evaluate its batches until ``stop`` is set,
    sweeping the pipeline for silent series meanwhile.

    A batch taken by a detector that dies unacknowledged is redelivered after
    ``ack_wait_seconds``.
    """
    connection = await nats.connect(url, name="coherence-detector")
    sweeper = SilenceSweeper(pipeline)
    sweeper.start()
    try:
        js = connection.jetstream()
        await ensure_stream(js, topology)
        subscriptions = [
            await js.pull_subscribe(
                topology.subject(site),
                durable=f"detector-{site}",
                stream=topology.stream,
                config=ConsumerConfig(ack_policy=AckPolicy.EXPLICIT, ack_wait=ack_wait_seconds),
            )
            for site in sites
        ]
        while stop is None or not stop.is_set():
            idle = True
            for subscription in subscriptions:
                try:
                    messages = await subscription.fetch(FETCH_BATCH, timeout=0.2)
                except (NatsTimeout, TimeoutError):
                    continue
                idle = False
                for position, message in enumerate(messages):
                    try:
                        await _handle(message.data, pipeline, stats)
                    except OperationalError as exc:
                        # The database is out of reach: this and the rest of the batch come
                        # back after a pause, and the detector keeps running.
                        log.warning("database unreachable, batch left for redelivery: %s", exc)
                        for unread in messages[position:]:
                            await unread.nak(delay=RETRY_SECONDS)
                        break
                    # Acknowledged only after the batch is evaluated and its incidents committed.
                    await message.ack()
            if idle:
                await asyncio.sleep(0.05)
    finally:
        await asyncio.to_thread(sweeper.stop)
        await connection.close()


async def _handle(data: bytes, pipeline: Pipeline, stats: NatsStats) -> None:
    stats.messages += 1
    try:
        parser = parse_json_array if data.lstrip()[:1] == b"[" else parse_ndjson
        samples, rejected = parser(data)
    except ValidationFailed as exc:
        stats.malformed += 1
        log.warning("NATS message refused: %s", exc.message)
        return
    report = await asyncio.to_thread(pipeline.ingest, samples, rejected)
    stats.samples += report.accepted
    stats.rejected += len(report.rejected)
    for rejection in report.rejected[:5]:
        log.warning("NATS sample refused: %s: %s", rejection.field, rejection.message)
