"""`coherence serve` killed mid-stream: nothing it answered for is lost, nothing opens twice."""

from __future__ import annotations

import threading
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import SystemClock
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.detection.models import SignalKey, TelemetrySnapshot
from coherence.incidents.models import Incident
from coherence.ledger.models import LedgerCheckpoint, LedgerEntry
from coherence.timers import service as timers_service
from coherence.timers.models import Timer
from tests.chaos.helpers import Deployment, Sender, free_port, kill9, verify_ledger, wait_for
from tests.helpers import Receiver

SIGNALS = 60
TIMERS = 12
FRIDGES = ("fridge-1", "fridge-2")
FRIDGE_KEYS = {f"{fridge}:dilution-refrigerator-warm-up" for fridge in FRIDGES}


class Telemetry:
    """Streams a held cooling fault on each fridge, 30 s of sample time per batch."""

    def __init__(self, url: str, token: str) -> None:
        self.url = url
        self.headers = {"Authorization": f"Bearer {token}"}
        self.accepted = 0
        self.opened: Counter[str] = Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop streaming."""
        self._stop.set()
        self._thread.join(10)

    def _run(self) -> None:
        start = time.time() - 3600
        batch = 0
        with httpx.Client(timeout=5) as client:
            while not self._stop.is_set():
                at = start + batch * 30
                samples = [
                    {
                        "site": "sc-lab",
                        "asset": fridge,
                        "metric": "mxc_temperature_k",
                        "value": 0.012 if batch < 3 else 0.08,
                        "unit": "K",
                        "timestamp": at + second,
                    }
                    for fridge in FRIDGES
                    for second in range(0, 30, 3)
                ]
                try:
                    answer = client.post(
                        f"{self.url}/api/v1/telemetry", json=samples, headers=self.headers
                    )
                except httpx.HTTPError:
                    time.sleep(0.05)
                    continue
                if answer.status_code == 200:
                    body = answer.json()
                    self.accepted += body["accepted"]
                    self.opened.update(body["incidents_opened"])
                    batch += 1
                time.sleep(0.02)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_serve_killed_mid_stream_loses_and_doubles_nothing(
    engine: Engine, factory: sessionmaker[Session], receiver: str, tmp_path: Path
) -> None:
    deployment = Deployment(engine, tmp_path, receiver)
    token = deployment.prepare(factory)
    now = SystemClock().now()
    with session_scope(factory) as session:
        timer_ids = [
            timers_service.schedule(
                session,
                clock=SystemClock(),
                kind=timers_service.TimerKind.TASK_DUE,
                due_at=now + timedelta(seconds=2 + n),
            ).id
            for n in range(TIMERS)
        ]
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = deployment.serve(port)
    telemetry = Telemetry(url, token)
    sender = Sender([url], token, [f"fault-{n}" for n in range(SIGNALS)], "fridge-1")
    try:
        sender.start()
        assert wait_for(lambda: len(sender.accepted) >= SIGNALS // 3, 30), deployment.logs()
        kill9(server)
        killed_with = len(sender.accepted)
        assert killed_with < SIGNALS, "the kill must land mid-stream"
        streamed = telemetry.accepted
        time.sleep(1)
        deployment.serve(port)
        sender.join(40)
        assert not sender.pending, f"unanswered after restart: {sender.pending}"
        assert wait_for(lambda: telemetry.accepted > streamed and _fridges_open(factory), 20)
        telemetry.stop()
        assert wait_for(lambda: _all_sent(factory), 30), "pages were not all delivered"
        assert wait_for(lambda: _timers_fired(factory, timer_ids), 20), "timers did not fire"
        assert wait_for(lambda: _checkpointed(factory), 20), deployment.logs()
    finally:
        telemetry.stop()
        deployment.close()
    assert sender.failures > 0, "some request must have met the killed server"
    with session_scope(factory) as session:
        rows = {row.dedup_key: row for row in session.scalars(select(SignalKey))}
        incidents = session.scalar(select(func.count()).select_from(Incident))
        snapshots = Counter(session.scalars(select(TelemetrySnapshot.incident_id)))
        message_keys = set(session.scalars(select(OutboxMessage.key)))
    sent = {f"chaos:fault-{n}" for n in range(SIGNALS)}
    assert sent <= rows.keys(), "an answered signal has no incident"
    assert rows.keys() >= FRIDGE_KEYS
    assert all(rows[key].incident_id is not None for key in sent | FRIDGE_KEYS)
    assert incidents == len(sent | FRIDGE_KEYS), "an incident was opened twice"
    assert all(count == 1 for count in telemetry.opened.values()), telemetry.opened
    assert all(count == 1 for count in snapshots.values()), snapshots
    assert {rows[key].incident_id for key in FRIDGE_KEYS} <= snapshots.keys()
    assert message_keys, "the incidents must have paged someone"
    assert message_keys <= set(Receiver.received), "a page was lost"
    verify_ledger(deployment, factory)


def _fridges_open(factory: sessionmaker[Session]) -> bool:
    with session_scope(factory) as session:
        found = session.scalars(
            select(SignalKey.dedup_key).where(SignalKey.incident_id.is_not(None))
        )
        return set(found) >= FRIDGE_KEYS


def _all_sent(factory: sessionmaker[Session]) -> bool:
    with session_scope(factory) as session:
        return set(session.scalars(select(OutboxMessage.status))) == {"sent"}


def _timers_fired(factory: sessionmaker[Session], ids: list[int]) -> bool:
    with session_scope(factory) as session:
        statuses = session.scalars(select(Timer.status).where(Timer.id.in_(ids)))
        return list(statuses) == ["fired"] * len(ids)


def _checkpointed(factory: sessionmaker[Session]) -> bool:
    with session_scope(factory) as session:
        size = session.scalar(select(func.count()).select_from(LedgerEntry))
        return session.scalar(select(func.max(LedgerCheckpoint.size))) == size
