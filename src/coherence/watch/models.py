"""Tables of watchful access: every read of incident data, and the unusual reading found."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class AccessEvent(Base):
    """One read of an incident's data: who, which incident, under what label, when."""

    __tablename__ = "access_events"
    __table_args__ = (
        Index("ix_access_events_person_at", "person", "at"),
        Index("ix_access_events_incident_id_at", "incident_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    # Whole hours since 1970 (UTC), so baselines group by hour the same way on every database.
    hour: Mapped[int] = mapped_column(Integer)
    person: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(64))
    incident_id: Mapped[int | None] = mapped_column(Integer)
    # The label the read was decided under: the incident's, or a stricter one of the record.
    tlp: Mapped[str] = mapped_column(String(16))
    path: Mapped[str] = mapped_column(String(200))


class AccessFinding(Base):
    """Unusual reading by one principal, raised as a security signal."""

    __tablename__ = "access_findings"
    __table_args__ = (Index("ix_access_findings_person_rule", "person", "rule", "raised_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(64))
    rule: Mapped[str] = mapped_column(String(32))
    detail: Mapped[str] = mapped_column(Text)
    records: Mapped[int] = mapped_column(Integer)
    sensitive: Mapped[int] = mapped_column(Integer)
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime())
    incident_id: Mapped[int | None] = mapped_column(Integer)
