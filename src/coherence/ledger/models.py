"""Ledger tables: the entries and the single head row that numbers them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class LedgerEntry(Base):
    """One immutable record of a state change; ``seq`` is contiguous from 0."""

    __tablename__ = "ledger_entries"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    entry_type: Mapped[str] = mapped_column(String(64), index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    actor: Mapped[str] = mapped_column(String(128))
    subject: Mapped[str] = mapped_column(String(128), index=True)
    incident_id: Mapped[int | None] = mapped_column(Integer, index=True)
    payload: Mapped[str] = mapped_column(Text)
    # The RFC 6962 leaf hash of entry_bytes, as recorded when the entry was appended.
    leaf_hash: Mapped[bytes | None] = mapped_column(LargeBinary(32))
    # Set when retention purged the payload; the leaf hash stays so the tree still verifies.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class LedgerHead(Base):
    """The one row that hands out the next sequence number under a lock."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    size: Mapped[int] = mapped_column(Integer, default=0)
    # The tree's right-edge perfect subtree hashes, concatenated: the root in O(log n).
    frontier: Mapped[bytes] = mapped_column(LargeBinary, default=b"", server_default="")


class LedgerNode(Base):
    """A complete subtree of the Merkle tree above the leaves: proofs read O(log n) of these."""

    __tablename__ = "ledger_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class LedgerCheckpoint(Base):
    """A signed statement of the tree's size and root (a C2SP checkpoint in a signed note)."""

    __tablename__ = "ledger_checkpoints"

    size: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    signed_at: Mapped[datetime] = mapped_column(UTCDateTime())
