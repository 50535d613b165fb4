"""Append to and read the ledger; callers pass their own session."""

from __future__ import annotations

import base64
from collections.abc import Sequence
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import ValidationFailed
from coherence.ledger import bundle, checkpoints, merkle, note, tree
from coherence.ledger.domain import EntryType, canonical_json, entry_bytes
from coherence.ledger.models import LedgerEntry, LedgerHead, LedgerNode


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
        select(LedgerHead).where(LedgerHead.id == tree.HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = LedgerHead(id=tree.HEAD_ROW_ID, size=0, frontier=b"")
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
    entry.leaf_hash = merkle.leaf_hash(bytes_of(entry))
    frontier = tree.frontier_of(head)
    for node in frontier.append(entry.leaf_hash):
        if node.level > 0:
            session.add(LedgerNode(level=node.level, index=node.index, hash=node.hash))
    head.size = frontier.size
    head.frontier = b"".join(frontier.hashes)
    session.add(entry)
    session.flush()
    return entry


def bytes_of(entry: LedgerEntry) -> bytes:
    """Return the canonical bytes of a stored entry, as its leaf hash covers them."""
    return entry_bytes(
        seq=entry.seq,
        entry_type=entry.entry_type,
        recorded_at=entry.recorded_at,
        actor=entry.actor,
        subject=entry.subject,
        incident_id=entry.incident_id,
        payload=entry.payload.encode(),
    )


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


def export_bundle(session: Session, *, first: int = 0) -> bytes:
    """Entries from ``first`` up to the latest checkpoint, with every checkpoint in between."""
    last = checkpoints.latest_or_raise(session)
    if not 0 <= first < last.size:
        raise ValidationFailed(
            f"first must be from 0 to {last.size - 1}, the last signed entry", field="first"
        )
    rows = session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.seq >= first, LedgerEntry.seq < last.size)
        .order_by(LedgerEntry.seq)
        .execution_options(yield_per=5000)
    )
    header = {
        "origin": note.parse_checkpoint(last.note.split("\n\n", 1)[0] + "\n").origin,
        "first": first,
        "prefix": [base64.b64encode(h).decode() for h in tree.frontier_at(session, first)],
        "checkpoints": [c.note for c in checkpoints.between(session, first + 1, last.size)],
    }
    return bundle.encode(header, ((bytes_of(row), row.leaf_hash) for row in rows))
