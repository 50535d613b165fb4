"""Two workers sweeping for unusual access at the same moment raise each finding once: on
PostgreSQL the second finds the sweep's advisory lock held and skips, on SQLite it waits."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog import service as catalog_service
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.incidents.models import Incident
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.watch import service as watch_service
from coherence.watch.domain import Thresholds
from coherence.watch.models import AccessFinding

pytestmark = pytest.mark.usefixtures("facility")
# Long enough for a sweep that waits on SQLite's write lock; never reached when all is well.
WAIT_SECONDS = 30
# Low floors, so a handful of incidents is unusual reading and the test stays quick.
RULES = Thresholds(volume_floor=5, sensitive_floor=5)
RECORDS = 6


def open_incidents(factory: sessionmaker[Session], clock: ManualClock) -> list[int]:
    with session_scope(factory) as session:
        return [
            incidents_service.open_incident(
                session,
                clock=clock,
                actor="amara-osei",
                request=IncidentCreate(
                    asset="fridge-1", category="cryogenic", impact="minor", urgency="low"
                ),
            ).id
            for _ in range(RECORDS)
        ]


def scrape(factory: sessionmaker[Session], clock: ManualClock, person: str) -> None:
    """``person`` reads every incident, two seconds apart."""
    with session_scope(factory) as session:
        reader = catalog_service.get_person(session, person)
        assert reader is not None
        for incident in session.scalars(select(Incident)).all():
            watch_service.record_read(
                session,
                person=reader,
                incident=incident,
                tlp=None,
                path=f"/api/v1/incidents/{incident.id}",
                at=clock.now(),
            )
            clock.advance(timedelta(seconds=2))


def sweep_alone(factory: sessionmaker[Session], clock: ManualClock) -> int | None:
    """How many findings a sweep raised; None when another process held the sweep."""
    with session_scope(factory) as session:
        found = watch_service.sweep(session, clock=clock, thresholds=RULES)
    return None if found is None else len(found)


def test_two_sweeps_at_once_raise_each_finding_once(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    open_incidents(factory, clock)
    scrape(factory, clock, "tomasz-kowal")
    first, pool = factory(), ThreadPoolExecutor(1)
    try:
        found = watch_service.sweep(first, clock=clock, thresholds=RULES)
        assert found is not None
        raised = {(f.person, f.rule) for f in found}
        assert ("tomasz-kowal", "volume") in raised
        # The first sweep's transaction is still open when the second starts.
        second = pool.submit(sweep_alone, factory, clock)
        postgres = first.get_bind().dialect.name == "postgresql"
        if postgres:
            assert second.result(timeout=WAIT_SECONDS) is None, "the lock's holder sweeps"
        first.commit()
        # On SQLite the second sweep waited for the first to commit, then found it all raised.
        assert second.result(timeout=WAIT_SECONDS) == (None if postgres else 0)
    finally:
        # Ends the first transaction before waiting, so a second sweep it blocks can finish.
        first.close()
        pool.shutdown()
    assert sweep_alone(factory, clock) == 0  # the lock is free again; the cool-down holds
    with session_scope(factory) as session:
        findings = session.execute(select(AccessFinding.person, AccessFinding.rule)).all()
        flagged = session.scalar(
            select(func.count())
            .select_from(LedgerEntry)
            .where(LedgerEntry.entry_type == EntryType.ACCESS_FLAGGED.value)
        )
        opened = session.scalar(
            select(func.count())
            .select_from(Incident)
            .where(Incident.playbook_key == "data-exfiltration")
        )
    assert sorted(findings) == sorted(raised)
    assert flagged == len(raised)
    assert opened == 1


def test_a_sweep_after_the_holder_commits_takes_the_lock(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    open_incidents(factory, clock)
    scrape(factory, clock, "tomasz-kowal")
    assert sweep_alone(factory, clock) >= 1
    scrape(factory, clock, "helen-marsh")
    # The lock is per transaction: the next sweep is not shut out by the one before.
    assert sweep_alone(factory, clock) >= 1
