"""Review tables: after-action reviews, findings, proposed playbook changes, playbook reviews."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.db import Base, UTCDateTime
from coherence.incidents.models import Incident
from coherence.playbooks.models import PlaybookVersion


class AfterActionReview(Base):
    """The after-action review of one incident (real or exercise) or of one near miss."""

    __tablename__ = "reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int | None] = mapped_column(ForeignKey("incidents.id"), unique=True)
    # A review not of an incident: the reference of what it reviews (NM-00003) and the
    # ledger subject its entries are recorded under (near_miss:NM-00003).
    reference: Mapped[str | None] = mapped_column(String(32), unique=True)
    subject: Mapped[str | None] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text, default="", server_default="")
    started_by: Mapped[str] = mapped_column(String(128))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    incident: Mapped[Incident | None] = relationship()
    findings: Mapped[list[Finding]] = relationship(
        back_populates="review", order_by="Finding.number", cascade="all, delete-orphan"
    )


class Finding(Base):
    """Something the review found, who follows it up and by when."""

    __tablename__ = "review_findings"
    __table_args__ = (UniqueConstraint("review_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(ForeignKey("reviews.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(String(200))
    what_happened: Mapped[str] = mapped_column(Text)
    owner: Mapped[str] = mapped_column(String(128))
    due_on: Mapped[date | None] = mapped_column(Date)
    # open, in_progress, done or wont_do
    status: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    reason: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())

    review: Mapped[AfterActionReview] = relationship(back_populates="findings")
    changes: Mapped[list[PlaybookChange]] = relationship(
        back_populates="finding", order_by="PlaybookChange.id"
    )


class PlaybookChange(Base):
    """A new playbook version proposed against a finding, and what became of it."""

    __tablename__ = "playbook_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("review_findings.id"), index=True)
    playbook_key: Mapped[str] = mapped_column(String(64), index=True)
    # The version the proposal was written against; None proposes a new playbook.
    base_version: Mapped[int | None] = mapped_column(Integer)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    content_hash: Mapped[str] = mapped_column(String(64))
    rationale: Mapped[str] = mapped_column(Text)
    # draft, in_review, approved or rejected
    status: Mapped[str] = mapped_column(String(16), index=True)
    proposed_by: Mapped[str] = mapped_column(String(128))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_by: Mapped[str | None] = mapped_column(String(128))
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_note: Mapped[str | None] = mapped_column(Text)
    published_version_id: Mapped[int | None] = mapped_column(ForeignKey("playbook_versions.id"))

    finding: Mapped[Finding] = relationship(back_populates="changes")
    published_version: Mapped[PlaybookVersion | None] = relationship()


class PlaybookReview(Base):
    """A playbook looked at and judged still right: reviewed, no change."""

    __tablename__ = "playbook_reviews"

    id: Mapped[int] = mapped_column(primary_key=True)
    playbook_key: Mapped[str] = mapped_column(String(64), index=True)
    version: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    reviewed_by: Mapped[str] = mapped_column(String(128))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime())
