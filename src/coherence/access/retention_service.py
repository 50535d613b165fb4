"""Enforce retention: find what is due, purge it a category batch at a time, record each purge.

A purge replaces a ledger entry's payload with a fixed marker and removes an evidence item's
stored bytes; leaf hashes, tree nodes, item rows and hashes stay, so the ledger still verifies.
Each batch is one transaction that ends with its ``retention:purged`` entry.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import retention
from coherence.access.domain import DataCategory
from coherence.access.retention import Batch, Record, RecordKind, RetentionPolicy
from coherence.clock import Clock
from coherence.db import session_scope
from coherence.detection import service as detection_service
from coherence.evidence import service as evidence_service
from coherence.evidence.models import EvidenceItem
from coherence.evidence.store import ContentStore, LocalStore
from coherence.incidents.domain import Status
from coherence.incidents.models import Incident
from coherence.ledger import bundle
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import SYSTEM_ACTOR, EntryType
from coherence.ledger.models import LedgerEntry
from coherence.settings import ACCESS_EVENT_DAYS, Settings
from coherence.watch import service as watch_service

# Periods are counted in days; looking once an hour purges nothing later than it should.
RUN_INTERVAL = timedelta(hours=1)


@dataclass(frozen=True)
class Purged:
    """What one batch purged, and the ``retention:purged`` entry that records it."""

    category: DataCategory
    policy_days: int
    entries: list[int]
    evidence: list[int]
    seq: int


def plan(session: Session, *, clock: Clock, policy: RetentionPolicy) -> list[Batch]:
    """Return what a run would purge now, by category, without changing anything."""
    now = clock.now()
    cutoff = retention.earliest_recorded(policy, now)
    if cutoff is None:
        return []
    closed = _closed_incidents(session)
    items = session.scalars(select(EvidenceItem)).all()
    categories = {
        item.id: found
        for item in items
        if (found := retention.category_named(item.category)) is not None
    }
    sealed = evidence_service.sealed_ids(session)
    records = [
        Record(
            kind=RecordKind.EVIDENCE,
            key=item.id,
            category=categories.get(item.id, DataCategory.OPERATIONAL),
            recorded_at=item.collected_at,
            incident_id=item.incident_id,
            incident_closed_at=closed.get(item.incident_id or 0),
            held=item.id in sealed,
        )
        for item in items
        if item.purged_at is None and item.collected_at <= cutoff
    ]
    rows = session.execute(
        select(
            LedgerEntry.seq,
            LedgerEntry.entry_type,
            LedgerEntry.recorded_at,
            LedgerEntry.incident_id,
            LedgerEntry.payload,
        )
        .where(
            LedgerEntry.purged_at.is_(None),
            LedgerEntry.recorded_at <= cutoff,
            LedgerEntry.entry_type != EntryType.RETENTION_PURGED.value,
        )
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=5000)
    )
    for seq, entry_type, recorded_at, incident_id, text in rows:
        payload = orjson.loads(text)
        item = retention.entry_item(payload) if entry_type.startswith("evidence:") else None
        records.append(
            Record(
                kind=RecordKind.ENTRY,
                key=seq,
                category=retention.entry_category(entry_type, payload, categories),
                recorded_at=recorded_at,
                incident_id=incident_id,
                incident_closed_at=closed.get(incident_id or 0),
                held=item in sealed,
            )
        )
    return retention.batches(records, policy, now)


def _closed_incidents(session: Session) -> dict[int, datetime]:
    """When each closed incident closed; open or reopened ones are absent."""
    query = select(Incident.id, Incident.closed_at).where(
        Incident.status == Status.CLOSED.value, Incident.closed_at.is_not(None)
    )
    return {row.id: row.closed_at for row in session.execute(query) if row.closed_at is not None}


def purge(session: Session, *, clock: Clock, batch: Batch, actor: str) -> Purged | None:
    """Purge one batch inside the caller's transaction and record it; None if nothing was left.

    Stored evidence bytes are not touched here: remove them with ``remove_content`` once this
    transaction is committed, so a rollback never leaves a live item without its content.
    """
    now = clock.now()
    items = evidence_service.mark_purged(session, item_ids=batch.evidence, at=now)
    seqs = ledger_service.purge(session, seqs=_not_held(session, batch.entries), at=now)
    if not items and not seqs:
        return None
    detection_service.forget_snapshots(
        session, digests=evidence_service.unneeded_digests(session, {i.sha256 for i in items})
    )
    entry = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.RETENTION_PURGED,
        actor=actor,
        subject=f"retention:{batch.category.value}",
        payload={
            "category": batch.category.value,
            "entries": bundle.compact_ranges(seqs),
            "evidence": [item.id for item in items],
            "policy_days": batch.days,
        },
    )
    return Purged(batch.category, batch.days, seqs, [item.id for item in items], entry.seq)


def _not_held(session: Session, seqs: Collection[int]) -> list[int]:
    """Drop entries about an item sealed since the plan was made: a hold wins over a purge."""
    sealed = evidence_service.sealed_ids(session)
    if not sealed or not seqs:
        return list(seqs)
    held = set()
    ordered = sorted(seqs)
    for start in range(0, len(ordered), 500):
        chunk = ordered[start : start + 500]
        for seq, text in session.execute(
            select(LedgerEntry.seq, LedgerEntry.payload).where(
                LedgerEntry.seq.in_(chunk), LedgerEntry.entry_type.like("evidence:%")
            )
        ):
            if retention.entry_item(orjson.loads(text)) in sealed:
                held.add(seq)
    return [seq for seq in seqs if seq not in held]


def remove_content(session: Session, store: ContentStore) -> int:
    """Delete stored bytes of purged items that no live item shares; return how many went.

    Checks every purged item, so bytes left behind by a crash after a commit go next time.
    """
    removed = 0
    for digest in sorted(evidence_service.unneeded_digests(session)):
        if store.exists(digest):
            store.delete(digest)
            removed += 1
    return removed


def run(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    policy: RetentionPolicy,
    actor: str,
    store: ContentStore,
) -> list[Purged]:
    """Purge everything due, one transaction per category batch; repeating it purges nothing.

    Takes a session factory rather than a session because each batch commits on its own: a
    failure part-way keeps what was already purged and recorded.
    """
    with session_scope(factory) as session:
        planned = plan(session, clock=clock, policy=policy)
    done = []
    for batch in planned:
        with session_scope(factory) as session:
            purged = purge(session, clock=clock, batch=batch, actor=actor)
        if purged is not None:
            done.append(purged)
    with session_scope(factory) as session:
        remove_content(session, store)
    return done


def forget_access_events(
    factory: sessionmaker[Session], *, clock: Clock, days: int, actor: str
) -> int:
    """Delete recorded reads of incident data older than ``days``, in a transaction of its own."""
    with session_scope(factory) as session:
        return watch_service.forget_reads(session, clock=clock, days=days, actor=actor)


@dataclass
class RetentionJob:
    """Retention for the background workers: runs at most once per ``interval``."""

    policy: RetentionPolicy
    store: ContentStore
    interval: timedelta = RUN_INTERVAL
    access_event_days: int = ACCESS_EVENT_DAYS
    last_run: datetime | None = field(default=None, init=False)

    @classmethod
    def from_settings(cls, settings: Settings) -> RetentionJob:
        """Load the policy (refusing a bad file at start-up) and open the evidence store."""
        return cls(
            retention.load_policy(settings.retention_file),
            LocalStore(settings.resolved_evidence_dir),
            access_event_days=settings.access_event_days,
        )

    def run_if_due(self, factory: sessionmaker[Session], *, clock: Clock) -> list[Purged] | None:
        """Run retention unless it ran less than ``interval`` ago; None when it did not run."""
        now = clock.now()
        if self.last_run is not None and now - self.last_run < self.interval:
            return None
        # Set first: a run that fails waits for the next interval instead of every tick.
        self.last_run = now
        forget_access_events(factory, clock=clock, days=self.access_event_days, actor=SYSTEM_ACTOR)
        return run(factory, clock=clock, policy=self.policy, actor=SYSTEM_ACTOR, store=self.store)
