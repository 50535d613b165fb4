"""Append to and read the ledger; callers pass their own session."""

from __future__ import annotations

import base64
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Engine, event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from coherence.clock import Clock
from coherence.errors import Conflict, ValidationFailed
from coherence.ledger import bundle, checkpoints, merkle, note, tree
from coherence.ledger.domain import EntryType, canonical_json, entry_bytes
from coherence.ledger.models import LedgerEntry, LedgerHead, LedgerNode

# What a purged entry's payload becomes. The leaf hash keeps covering the original bytes.
PURGED_PAYLOAD = canonical_json({"purged": True}).decode()
# Rows per UPDATE when purging: well under every database's limit on bound parameters.
_PURGE_CHUNK = 500


@dataclass(frozen=True)
class Appended:
    """Where an entry landed: its sequence number and leaf hash."""

    seq: int
    leaf_hash: bytes


def append(
    session: Session,
    *,
    clock: Clock,
    entry_type: EntryType,
    actor: str,
    subject: str,
    payload: dict[str, Any],
    incident_id: int | None = None,
) -> Appended:
    """Append one entry inside the caller's transaction.

    The head row is locked once per transaction and its frontier kept in the session; the
    entry and tree-node rows are written in bulk when the transaction next flushes (before
    any query, and at commit). So a transaction appending many entries — a dispatcher pass,
    a facility load — pays for the lock and the statements once.
    """
    state = _open_state(session)
    seq = state.head.size
    recorded_at = clock.now()
    text = canonical_json(payload).decode()
    leaf = merkle.leaf_hash(
        entry_bytes(
            seq=seq,
            entry_type=entry_type.value,
            recorded_at=recorded_at,
            actor=actor,
            subject=subject,
            incident_id=incident_id,
            payload=text.encode(),
        )
    )
    state.entries.append(
        {
            "seq": seq,
            "entry_type": entry_type.value,
            "recorded_at": recorded_at,
            "actor": actor,
            "subject": subject,
            "incident_id": incident_id,
            "payload": text,
            "leaf_hash": leaf,
            "purged_at": None,
        }
    )
    for node in state.frontier.append(leaf):
        if node.level > 0:
            state.nodes.append({"level": node.level, "index": node.index, "hash": node.hash})
    state.head.size = state.frontier.size
    state.head.frontier = b"".join(state.frontier.hashes)
    return Appended(seq, leaf)


@dataclass
class _OpenState:
    """The ledger as one transaction is extending it: locked head, frontier, unwritten rows."""

    transaction: SessionTransaction | None
    head: LedgerHead
    frontier: merkle.Frontier
    entries: list[dict[str, Any]] = field(default_factory=list)
    nodes: list[dict[str, Any]] = field(default_factory=list)


_STATE = "coherence.ledger.open"


def _open_state(session: Session) -> _OpenState:
    """Return this transaction's ledger state, locking the head row on first use."""
    state: _OpenState | None = session.info.get(_STATE)
    # A new transaction, or a rolled-back savepoint that reloaded the head, starts afresh.
    if (
        state is not None
        and state.transaction is session.get_transaction()
        and state.head.size == state.frontier.size
    ):
        return state
    head = session.scalars(
        select(LedgerHead).where(LedgerHead.id == tree.HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None:
        head = LedgerHead(id=tree.HEAD_ROW_ID, size=0, frontier=b"")
        session.add(head)
    state = _OpenState(session.get_transaction(), head, tree.frontier_of(head))
    session.info[_STATE] = state
    return state


@event.listens_for(Session, "before_flush")
def _write_appended(session: Session, _context: Any, _instances: Any) -> None:
    """Write the entries and nodes appended since the last flush, in two statements."""
    state: _OpenState | None = session.info.get(_STATE)
    if state is None or state.transaction is not session.get_transaction():
        return
    entries, nodes = state.entries, state.nodes
    state.entries, state.nodes = [], []
    connection = session.connection()
    if entries:
        connection.execute(insert(LedgerEntry), entries)
    if nodes:
        connection.execute(insert(LedgerNode), nodes)


def change_count(engine: Engine) -> int:
    """How many entries the ledger holds: a counter that moves with every recorded change.

    Read on a bare driver connection, outside any session: on SQLite every session begins by
    taking the write lock, and a page polling this must never queue behind, or block, writers.
    """
    connection = engine.raw_connection()
    try:
        cursor = connection.cursor()
        query = select(LedgerHead.size).where(LedgerHead.id == tree.HEAD_ROW_ID)
        cursor.execute(str(query.compile(engine, compile_kwargs={"literal_binds": True})))
        row = cursor.fetchone()
        cursor.close()
        return int(row[0]) if row else 0
    finally:
        connection.close()


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
