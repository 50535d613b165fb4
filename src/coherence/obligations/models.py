"""Obligation tables: triage answers per incident, a clock per report, and report drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class Assessment(Base):
    """A responder's triage answers about one incident; None means not yet answered."""

    __tablename__ = "obligation_assessments"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    personal_data: Mapped[bool | None] = mapped_column(Boolean)
    cross_border: Mapped[bool | None] = mapped_column(Boolean)
    significant: Mapped[bool | None] = mapped_column(Boolean)
    major_ict: Mapped[bool | None] = mapped_column(Boolean)
    ransom_paid: Mapped[bool | None] = mapped_column(Boolean)
    # When the organisation became aware; None means when the incident was detected.
    aware_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # When it was classified as major (DORA); stamped when major_ict is first answered yes.
    classified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ransom_paid_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    impact_summary: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ObligationClock(Base):
    """The deadline of one report an obligation asks of one incident, and where it stands."""

    __tablename__ = "obligation_clocks"
    __table_args__ = (UniqueConstraint("incident_id", "obligation", "report"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    obligation: Mapped[str] = mapped_column(String(48))
    report: Mapped[str] = mapped_column(String(48))
    # Copied from the obligations file when the clock starts, so a timer firing needs no file.
    title: Mapped[str] = mapped_column(String(300))
    report_title: Mapped[str] = mapped_column(String(300))
    authority: Mapped[str] = mapped_column(String(300))
    citation: Mapped[str] = mapped_column(String(300))
    position: Mapped[int] = mapped_column(default=0)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    basis: Mapped[str] = mapped_column(String(300))
    provisional: Mapped[bool] = mapped_column(Boolean, default=False)
    warn_at: Mapped[list[float]] = mapped_column(JSON, default=list)
    state: Mapped[str] = mapped_column(String(16), index=True)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    warned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    missed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Report(Base):
    """A report draft for one clock: its fields, review and what was submitted."""

    __tablename__ = "obligation_reports"

    id: Mapped[int] = mapped_column(primary_key=True)
    clock_id: Mapped[int] = mapped_column(ForeignKey("obligation_clocks.id"), unique=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    # The fields the regime asks for, as the obligations file listed them when drafted.
    spec: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    values: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    edited: Mapped[list[str]] = mapped_column(JSON, default=list)
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    status: Mapped[str] = mapped_column(String(16))
    drafted_by: Mapped[str] = mapped_column(String(128))
    drafted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reviewed_by: Mapped[str | None] = mapped_column(String(128))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by: Mapped[str | None] = mapped_column(String(128))
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_sha256: Mapped[str | None] = mapped_column(String(64))
    submitted_content: Mapped[str | None] = mapped_column(Text)
    # The authority's receipt or case number, when it gives one.
    receipt: Mapped[str | None] = mapped_column(String(200))
