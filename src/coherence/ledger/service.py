"""Append to and read the ledger; callers pass their own session."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.ledger.domain import EntryType, canonical_json
from coherence.ledger.models import LedgerEntry, LedgerHead

HEAD_ROW_ID = 1


def append(
    session: Session,
    *,
    clock: Clock,
    entry_type: EntryType,
    actor: str,
    subject: str,
    payload: dict[str, Any],
    incident_id: int | None = None,
) -> LedgerEntry:
    """Append one entry inside the caller's transaction and return it."""
    head = session.scalars(
        select(LedgerHead).where(LedgerHead.id == HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = LedgerHead(id=HEAD_ROW_ID, size=0)
        session.add(head)
    entry = LedgerEntry(
        seq=head.size,
        entry_type=entry_type.value,
        recorded_at=clock.now(),
        actor=actor,
        subject=subject,
        incident_id=incident_id,
        payload=canonical_json(payload).decode(),
    )
    head.size += 1
    session.add(entry)
    session.flush()
    return entry


def payload_of(entry: LedgerEntry) -> dict[str, Any]:
    """Decode an entry's payload."""
    decoded: dict[str, Any] = orjson.loads(entry.payload)
    return decoded


def list_entries(
    session: Session,
    *,
    incident_id: int | None = None,
    entry_types: Sequence[EntryType] = (),
    after_seq: int = -1,
    limit: int = 100,
) -> Sequence[LedgerEntry]:
    """Return entries in sequence order, optionally for one incident or entry types."""
    query = select(LedgerEntry).where(LedgerEntry.seq > after_seq)
    if incident_id is not None:
        query = query.where(LedgerEntry.incident_id == incident_id)
    if entry_types:
        query = query.where(LedgerEntry.entry_type.in_([t.value for t in entry_types]))
    return session.scalars(query.order_by(LedgerEntry.seq).limit(limit)).all()
