"""The evidence register: one row per item; its custody history is in the ledger."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class EvidenceItem(Base):
    """A piece of evidence: what it is, where its bytes are, who holds it now."""

    __tablename__ = "evidence_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    size: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), index=True)
    asset: Mapped[str | None] = mapped_column(String(64))
    tlp: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(24))
    collected_by: Mapped[str] = mapped_column(String(64))
    collected_at: Mapped[datetime] = mapped_column(UTCDateTime())
    custodian: Mapped[str] = mapped_column(String(64))
    state: Mapped[str] = mapped_column(String(16))
    events: Mapped[int] = mapped_column(Integer, default=1)
    # Set when retention removed the content from the store; the record and hash remain.
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
