"""Scale-out under load, one API, detector and dispatcher killed: nothing lost or doubled."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import Counter
from pathlib import Path

import nats
import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.detection.models import SignalKey, TelemetrySnapshot
from coherence.detection.nats_intake import SUBJECT_PREFIX, Topology, ensure_stream
from coherence.incidents.models import Incident
from tests.chaos.helpers import (
    Deployment,
    Sender,
    free_port,
    kill9,
    nats_backlog,
    verify_ledger,
    wait_for,
)
from tests.helpers import Receiver

SIGNALS = 80
BATCHES = 40
DISPATCH_BATCH = 10
# (asset, metric, unit, normal, faulty) per site prefix; each fault is one incident.
FAULTS = {
    "sc-lab": [
        ("fridge-1", "mxc_temperature_k", "K", 0.012, 0.08),
        ("fridge-2", "mxc_temperature_k", "K", 0.012, 0.08),
    ],
    "ion-lab": [("ion-vacuum", "vacuum_pressure_mbar", "mbar", 1e-11, 5e-9)],
}
FAULT_KEYS = {
    "fridge-1:dilution-refrigerator-warm-up",
    "fridge-2:dilution-refrigerator-warm-up",
    "ion-vacuum:ion-trap-vacuum-loss",
}


def _batch(site: str, number: int) -> bytes:
    """Thirty seconds of sample time for every faulty asset of a site: normal, then faulty."""
    start = time.time() - 7200 + number * 30
    return orjson.dumps(
        [
            {
                "site": site,
                "asset": asset,
                "metric": metric,
                "value": normal if number < 3 else faulty,
                "unit": unit,
                "timestamp": start + second,
            }
            for asset, metric, unit, normal, faulty in FAULTS[site.rsplit("-", 1)[0]]
            for second in range(0, 30, 3)
        ]
    )


def _publish(url: str, sites: list[str], published: list[int], killed: threading.Event) -> None:
    """Publish half the batches, then the rest once the kills are done."""

    async def run() -> None:
        connection = await nats.connect(url)
        js = connection.jetstream()
        await ensure_stream(js, Topology())
        for number in range(BATCHES):
            if number == BATCHES // 2:
                await asyncio.to_thread(killed.wait, 60)
            for site in sites:
                await js.publish(f"{SUBJECT_PREFIX}.{site}", _batch(site, number))
            published.append(number)
            await asyncio.sleep(0.2)
        await connection.close()

    asyncio.run(run())


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_scale_out_with_one_of_each_killed_loses_and_doubles_nothing(
    engine: Engine, factory: sessionmaker[Session], receiver: str, tmp_path: Path, nats_url: str
) -> None:
    suffix = f"-{uuid.uuid4().hex[:8]}"
    sites = [f"sc-lab{suffix}", f"ion-lab{suffix}"]
    deployment = Deployment(
        engine,
        tmp_path,
        receiver,
        nats_url=nats_url,
        nats_ack_wait_seconds="3",
        dispatch_batch=str(DISPATCH_BATCH),
    )
    token = deployment.prepare(factory, suffix=suffix)
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    try:
        api = [deployment.serve(port, "--no-workers") for port in ports]
        dispatchers = [deployment.start("worker", "run") for _ in range(2)]
        detectors = [deployment.start("worker", "detect", "--site", site) for site in sites]
        published: list[int] = []
        killed = threading.Event()
        publisher = threading.Thread(
            target=_publish, args=(nats_url, sites, published, killed), daemon=True
        )
        publisher.start()
        sender = Sender(urls, token, [f"load-{n}" for n in range(SIGNALS)], "sc-ups-1")
        sender.start()
        assert wait_for(lambda: len(sender.accepted) >= SIGNALS // 4, 30), deployment.logs()
        assert wait_for(lambda: len(Receiver.received) > 0, 20), deployment.logs()
        assert wait_for(lambda: len(published) >= BATCHES // 4, 20)
        assert wait_for(lambda: nats_backlog(nats_url, sites) is not None, 20), deployment.logs()
        for process in (api[0], detectors[0], dispatchers[0]):
            kill9(process)
        killed_at = len(sender.accepted)
        killed.set()
        deployment.start("worker", "detect", "--site", sites[0])
        sender.join(60)
        publisher.join(30)
        assert not sender.pending, f"unanswered: {sender.pending}\n{deployment.logs()}"
        assert wait_for(lambda: nats_backlog(nats_url, sites) == 0, 30), "telemetry left unread"
        assert wait_for(lambda: _all_sent(factory), 40), "pages were not all delivered"
        assert all(p.poll() is None for p in (api[1], detectors[1], dispatchers[1]))
    finally:
        deployment.close()
    assert killed_at < SIGNALS, "the kills must land mid-load"
    assert sender.statuses[500] == 0, sender.errors
    with session_scope(factory) as session:
        rows = {row.dedup_key: row.incident_id for row in session.scalars(select(SignalKey))}
        incidents = session.scalar(select(func.count()).select_from(Incident))
        snapshots = Counter(session.scalars(select(TelemetrySnapshot.incident_id)))
        message_keys = set(session.scalars(select(OutboxMessage.key)))
    sent = {f"chaos:load-{n}" for n in range(SIGNALS)}
    assert rows.keys() == sent | FAULT_KEYS, "a signal or a fault was lost"
    assert None not in rows.values()
    assert incidents == SIGNALS + len(FAULT_KEYS), "an incident was opened twice"
    assert sorted(snapshots.values()) == [1] * len(FAULT_KEYS), snapshots
    assert message_keys <= set(Receiver.received), "a page was lost"
    # Only what the killed dispatcher had claimed and sent but not recorded may come twice.
    duplicates = sum(count - 1 for count in Receiver.received.values())
    assert duplicates <= DISPATCH_BATCH, Receiver.received.most_common(5)
    verify_ledger(deployment, factory)


def _all_sent(factory: sessionmaker[Session]) -> bool:
    with session_scope(factory) as session:
        return set(session.scalars(select(OutboxMessage.status))) == {"sent"}
