"""Two detectors on one JetStream stream: nothing lost or opened twice, a killed one resumed."""

from __future__ import annotations

import asyncio
import uuid

import nats
import orjson
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection.models import SignalKey
from coherence.detection.nats_intake import NatsStats, Topology, ensure_stream, run_nats_detector
from coherence.detection.pipeline import Pipeline
from coherence.incidents.models import Incident
from tests.conftest import START

T0 = START.timestamp()
MESSAGES_PER_SITE = 30
SAMPLES_PER_MESSAGE = 10

pytestmark = pytest.mark.usefixtures("facility")


def _batches(
    site: str, asset: str, metric: str, unit: str, normal: float, bad: float
) -> list[bytes]:
    """Normal readings, then a fault that must be held long enough to fire."""
    batches = []
    for m in range(MESSAGES_PER_SITE):
        value = normal if m < MESSAGES_PER_SITE // 3 else bad
        batches.append(
            orjson.dumps(
                [
                    {
                        "site": site,
                        "asset": asset,
                        "metric": metric,
                        "value": value,
                        "unit": unit,
                        "timestamp": T0 + (m * SAMPLES_PER_MESSAGE + i) * 5,
                    }
                    for i in range(SAMPLES_PER_MESSAGE)
                ]
            )
        )
    return batches


async def _scenario(
    url: str, factory: sessionmaker[Session], clock: ManualClock
) -> tuple[NatsStats, NatsStats, NatsStats]:
    topology = Topology(
        stream=f"TEST_{uuid.uuid4().hex[:8]}", prefix=f"test{uuid.uuid4().hex[:8]}.telemetry"
    )
    connection = await nats.connect(url)
    js = connection.jetstream()
    await ensure_stream(js, topology)
    for payload in _batches("sc-lab", "fridge-1", "mxc_temperature_k", "K", 0.01, 0.08):
        await js.publish(topology.subject("sc-lab"), payload)
    for payload in _batches("ion-lab", "ion-vacuum", "vacuum_pressure_mbar", "mbar", 1e-11, 5e-9):
        await js.publish(topology.subject("ion-lab"), payload)

    cryo, ion, resumed = NatsStats(), NatsStats(), NatsStats()
    stop = asyncio.Event()

    def detector(site: str, stats: NatsStats) -> asyncio.Task[None]:
        return asyncio.create_task(
            run_nats_detector(
                url,
                [site],
                Pipeline(factory, clock=clock),
                stats,
                topology=topology,
                stop=stop,
                ack_wait_seconds=2,
            )
        )

    first, second = detector("sc-lab", cryo), detector("ion-lab", ion)
    # Kill the first detector mid-stream, as a crash would: no clean shutdown.
    while cryo.messages < 5:
        await asyncio.sleep(0.01)
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    replacement = detector("sc-lab", resumed)
    for _ in range(600):
        pending = [
            await js.consumer_info(topology.stream, f"detector-{site}")
            for site in ("sc-lab", "ion-lab")
        ]
        if all(info.num_pending == 0 and info.num_ack_pending == 0 for info in pending):
            break
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(second, replacement)
    await js.delete_stream(topology.stream)
    await connection.close()
    return cryo, ion, resumed


def test_two_detectors_lose_nothing_and_open_nothing_twice(
    nats_url: str, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    cryo, ion, resumed = asyncio.run(_scenario(nats_url, factory, clock))
    per_site = MESSAGES_PER_SITE * SAMPLES_PER_MESSAGE
    assert ion.samples == per_site
    # The killed detector's unacknowledged batch is delivered again to its replacement.
    assert cryo.samples + resumed.samples >= per_site
    assert resumed.messages >= MESSAGES_PER_SITE - cryo.messages
    with session_scope(factory) as session:
        incidents = session.scalars(select(Incident)).all()
        assets = sorted(i.asset.key for i in incidents)
        keys = session.scalar(select(func.count()).select_from(SignalKey))
    assert assets == ["fridge-1", "ion-vacuum"]
    assert keys == 2
