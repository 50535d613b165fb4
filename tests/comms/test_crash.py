"""A dispatcher killed mid-burst: after a restart every message arrives, duplicates only by id."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.models import Person
from coherence.clock import SystemClock
from coherence.comms import service
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from tests.helpers import Receiver, database_url

BURST = 120
PASS = 20


def start_worker(environment: dict[str, str]) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [sys.executable, "-m", "coherence", "worker", "run"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.05)
    return False


def test_a_dispatcher_killed_mid_burst_loses_nothing(
    engine: Engine, factory: sessionmaker[Session], receiver: str, tmp_path: Path
) -> None:
    person = Person(key="ops", name="Ops", contacts=[{"channel": "webhook", "address": "ops"}])
    with session_scope(factory) as session:
        keys = {
            service.enqueue(
                session,
                clock=SystemClock(),
                person=person,
                subject=f"page {n}",
                body="burst",
                reason="test",
                actor="test",
            ).key
            for n in range(BURST)
        }
    channels = tmp_path / "channels.yaml"
    channels.write_text(
        f"channels:\n  webhook:\n    type: webhook\n    url: {receiver}\n"
        "    secret: a-secret-of-sixteen-plus\n"
    )
    environment = {
        **os.environ,
        "COHERENCE_DATABASE_URL": database_url(engine),
        "COHERENCE_CHANNELS_FILE": str(channels),
        "COHERENCE_DISPATCH_LEASE_SECONDS": "2",
        "COHERENCE_DISPATCH_BATCH": str(PASS),
        "COHERENCE_WORKER_INTERVAL_SECONDS": "0.1",
    }
    worker = start_worker(environment)
    try:
        assert wait_for(lambda: sum(Receiver.received.values()) >= 20, 30)
        worker.send_signal(signal.SIGKILL)
        worker.wait(timeout=10)
        assert len(Receiver.received) < BURST, "the kill must land mid-burst"
        worker = start_worker(environment)
        assert wait_for(lambda: set(Receiver.received) >= keys, 60), "messages were lost"
        assert wait_for(lambda: statuses(factory) == {"sent": BURST}, 30), statuses(factory)
    finally:
        worker.kill()
        worker.wait(timeout=10)
    assert set(Receiver.received) == keys
    # Only what the killed dispatcher sent in its last pass, not yet recorded, may come twice.
    duplicates = sum(count - 1 for count in Receiver.received.values())
    assert duplicates <= PASS


def statuses(factory: sessionmaker[Session]) -> Counter[str]:
    with session_scope(factory) as session:
        return Counter(session.scalars(select(OutboxMessage.status)))
