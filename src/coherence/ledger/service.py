"""Append to and read the ledger; callers pass their own session."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import Conflict, ValidationFailed
from coherence.ledger import bundle, checkpoints, merkle, note, tree
from coherence.ledger.domain import EntryType, canonical_json, entry_bytes
from coherence.ledger.models import LedgerEntry, LedgerHead, LedgerNode

# What a purged entry's payload becomes. The leaf hash keeps covering the original bytes.
PURGED_PAYLOAD = canonical_json({"purged": True}).decode()
# Rows per UPDATE when purging: well under every database's limit on bound parameters.
_PURGE_CHUNK = 500


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
    """Append one entry inside the caller's transaction and return it.

    The head row is locked once per transaction and its frontier kept in the session, so a
    transaction that appends many entries (a dispatcher pass, a facility load) pays for the
    lock once; rows are written when the transaction flushes.
    """
    head, frontier = _locked_head(session)
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
    for node in frontier.append(entry.leaf_hash):
        if node.level > 0:
            session.add(LedgerNode(level=node.level, index=node.index, hash=node.hash))
    head.size = frontier.size
    head.frontier = b"".join(frontier.hashes)
    session.add(entry)
    return entry


_HEAD_IN_SESSION = "coherence.ledger.head"


def _locked_head(session: Session) -> tuple[LedgerHead, merkle.Frontier]:
    """Return the head row, locked for this transaction, and its frontier."""
    cached = session.info.get(_HEAD_IN_SESSION)
    if cached is not None:
        transaction, head, frontier = cached
        # A new transaction, or a rolled-back savepoint that reloaded the head, starts afresh.
        if transaction is session.get_transaction() and head.size == frontier.size:
            return head, frontier
    head = session.scalars(
        select(LedgerHead).where(LedgerHead.id == tree.HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = LedgerHead(id=tree.HEAD_ROW_ID, size=0, frontier=b"")
        session.add(head)
    frontier = tree.frontier_of(head)
    session.info[_HEAD_IN_SESSION] = (session.get_transaction(), head, frontier)
    return head, frontier


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


def content_of(entry: LedgerEntry) -> bytes | None:
    """Return an entry's canonical bytes, or None once retention purged its payload."""
    return None if entry.purged_at is not None else bytes_of(entry)


def payload_of(entry: LedgerEntry) -> dict[str, Any]:
    """Decode an entry's payload (``{"purged": true}`` once retention purged it)."""
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
    signed, unsigned = _purge_notices(session, first, last.size)
    return bundle.encode(header, _rows_for_bundle(rows, signed, unsigned))


def _rows_for_bundle(
    rows: Iterator[LedgerEntry], signed: bundle.Ranges, unsigned: bundle.Ranges
) -> Iterator[tuple[bytes | None, bytes | None]]:
    for row in rows:
        content = content_of(row)
        if content is None and row.seq not in signed and row.seq in unsigned:
            # The purge is real but its notice is not signed yet: the bundle would fail to
            # verify for no fault. One named by no notice at all is exported, to be flagged.
            raise Conflict(
                f"entry {row.seq} was purged moments ago and the checkpoint that signs its "
                "retention:purged entry is not made yet; export again in a few seconds",
                field="first",
            )
        yield content, row.leaf_hash


def _purge_notices(session: Session, first: int, size: int) -> tuple[bundle.Ranges, bundle.Ranges]:
    """Entries named by retention:purged entries inside the signed range, and after it."""
    signed: list[tuple[int, int]] = []
    unsigned: list[tuple[int, int]] = []
    for seq, payload in session.execute(
        select(LedgerEntry.seq, LedgerEntry.payload).where(
            LedgerEntry.entry_type == EntryType.RETENTION_PURGED.value, LedgerEntry.seq > first
        )
    ):
        try:
            named = bundle.parse_ranges(str(orjson.loads(payload).get("entries", "")))
        except (ValueError, AttributeError):
            continue
        (signed if seq < size else unsigned).extend(named)
    return bundle.Ranges(signed), bundle.Ranges(unsigned)


def purge(session: Session, *, seqs: Sequence[int], at: datetime) -> list[int]:
    """Replace these entries' payloads with the purge marker; return the seqs purged now.

    Leaf hashes and tree nodes are left as they are, so roots, checkpoints and inclusion
    proofs still hold. Entries purged before are skipped, which makes repeating harmless.
    """
    done: list[int] = []
    ordered = sorted(set(seqs))
    for start in range(0, len(ordered), _PURGE_CHUNK):
        chunk = ordered[start : start + _PURGE_CHUNK]
        done.extend(
            session.scalars(
                update(LedgerEntry)
                .where(LedgerEntry.seq.in_(chunk), LedgerEntry.purged_at.is_(None))
                .values(payload=PURGED_PAYLOAD, purged_at=at)
                .returning(LedgerEntry.seq)
            ).all()
        )
    return sorted(done)
