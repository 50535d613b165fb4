"""The Merkle tree over the ledger as stored: its root, nodes and proofs from the database."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.errors import NotFound, ValidationFailed
from coherence.ledger import merkle
from coherence.ledger.models import LedgerEntry, LedgerHead, LedgerNode

HEAD_ROW_ID = 1


def frontier_of(head: LedgerHead) -> merkle.Frontier:
    """Restore the tree's frontier from the head row."""
    stored = head.frontier or b""
    hashes = [stored[i : i + merkle.HASH_SIZE] for i in range(0, len(stored), merkle.HASH_SIZE)]
    return merkle.Frontier.from_state(head.size, hashes)


def head(session: Session) -> LedgerHead | None:
    """Return the head row, or None before the first entry."""
    return session.get(LedgerHead, HEAD_ROW_ID)


def size(session: Session) -> int:
    """How many entries the ledger holds."""
    row = head(session)
    return row.size if row is not None else 0


def current_root(session: Session) -> tuple[int, bytes]:
    """Return (size, root) now, from the frontier: no proof reads."""
    row = head(session)
    if row is None:
        return 0, merkle.EMPTY_ROOT
    return row.size, frontier_of(row).root()


def reader(session: Session) -> merkle.NodeReader:
    """Return a function reading complete-subtree hashes: leaves from entries, the rest stored."""

    def node(level: int, index: int) -> bytes:
        if level == 0:
            found = session.scalar(select(LedgerEntry.leaf_hash).where(LedgerEntry.seq == index))
        else:
            found = session.scalar(
                select(LedgerNode.hash).where(LedgerNode.level == level, LedgerNode.index == index)
            )
        if found is None:
            raise NotFound(f"the ledger has no node at level {level}, index {index}", field="size")
        return bytes(found)

    return node


def root_at(session: Session, tree_size: int) -> bytes:
    """Return the root the tree had at ``tree_size`` entries."""
    _check_size(session, tree_size)
    return merkle.root_at(tree_size, reader(session))


def inclusion(session: Session, seq: int, tree_size: int) -> list[bytes]:
    """Return the proof that entry ``seq`` is in the tree of ``tree_size`` entries."""
    _check_size(session, tree_size)
    if not 0 <= seq < tree_size:
        raise ValidationFailed(f"entry {seq} is not in a tree of {tree_size} entries", field="seq")
    return merkle.inclusion_proof(seq, tree_size, reader(session))


def consistency(session: Session, old_size: int, new_size: int) -> list[bytes]:
    """Return the proof that the tree of ``new_size`` extends the tree of ``old_size``."""
    _check_size(session, new_size)
    if not 0 <= old_size <= new_size:
        raise ValidationFailed(
            f"old size {old_size} must be between 0 and the new size {new_size}", field="from"
        )
    return merkle.consistency_proof(old_size, new_size, reader(session))


def _check_size(session: Session, tree_size: int) -> None:
    current = size(session)
    if not 0 <= tree_size <= current:
        raise ValidationFailed(
            f"the ledger has {current} entries; size {tree_size} is out of range", field="size"
        )


def frontier_at(session: Session, tree_size: int) -> list[bytes]:
    """Return the perfect subtree hashes of the tree at ``tree_size``, largest first."""
    _check_size(session, tree_size)
    node = reader(session)
    hashes, offset = [], 0
    for level in range(tree_size.bit_length() - 1, -1, -1):
        if tree_size >> level & 1:
            hashes.append(node(level, offset >> level))
            offset += 1 << level
    return hashes
