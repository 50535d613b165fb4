"""Two workers at once: every timer fires once, every page is sent once, the ledger has no gaps."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.comms.channels import MemoryChannel
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.models import LedgerEntry
from coherence.timers.models import Timer
from coherence.workers import fire_due_timers

pytestmark = pytest.mark.usefixtures("facility")


def _in_parallel(*jobs: Callable[[], object]) -> None:
    errors: list[BaseException] = []

    def guarded(job: Callable[[], object]) -> None:
        try:
            job()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=guarded, args=(job,)) for job in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    if errors:
        raise errors[0]


def _open(factory: sessionmaker[Session], clock: ManualClock, asset: str) -> None:
    with session_scope(factory) as session:
        incidents_service.open_incident(
            session,
            clock=clock,
            actor="test",
            request=IncidentCreate(asset=asset, playbook="dilution-refrigerator-warm-up"),
        )


def test_concurrent_opens_keep_the_ledger_contiguous(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    _in_parallel(*[lambda a=a: _open(factory, clock, a) for a in ("fridge-1", "fridge-2") * 3])
    with session_scope(factory) as session:
        seqs = session.scalars(select(LedgerEntry.seq).order_by(LedgerEntry.seq)).all()
    assert list(seqs) == list(range(len(seqs)))


def test_two_timer_workers_fire_each_timer_once(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    for asset in ("fridge-1", "fridge-2", "fridge-1"):
        _open(factory, clock, asset)
    clock.advance(timedelta(hours=6))
    with session_scope(factory) as session:
        due = len(
            session.scalars(
                select(Timer).where(Timer.status == "pending", Timer.due_at <= clock.now())
            ).all()
        )
    fired: list[int] = []
    _in_parallel(
        lambda: fired.append(fire_due_timers(factory, clock=clock, limit=1000)),
        lambda: fired.append(fire_due_timers(factory, clock=clock, limit=1000)),
    )
    with session_scope(factory) as session:
        still_pending = session.scalars(select(Timer).where(Timer.status == "pending")).all()
        # Escalations schedule the next level while firing, so new timers can appear; none may
        # be fired twice, and every timer due at the start must be done.
        fired_rows = session.scalars(select(Timer).where(Timer.status == "fired")).all()
    assert sum(fired) == len(fired_rows) >= due
    assert all(t.due_at > clock.now() for t in still_pending)


def test_two_dispatchers_send_each_page_once(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    for asset in ("fridge-1", "fridge-2"):
        _open(factory, clock, asset)
    channel = MemoryChannel()
    fallback = MemoryChannel(name="fallback")
    dispatchers = [
        Dispatcher(factory, clock=clock, channels={}, fallback=channel, name=name)
        for name in ("one", "two")
    ]
    _in_parallel(dispatchers[0].run_once, dispatchers[1].run_once)
    with session_scope(factory) as session:
        messages = session.scalars(select(OutboxMessage)).all()
    ids = [m.message_id for m in channel.sent]
    assert len(ids) == len(set(ids)) == len(messages)
    assert all(m.status == "sent" for m in messages)
    assert not fallback.sent
