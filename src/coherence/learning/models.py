"""Learning tables: near misses reported, and lessons published or imported from partners."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.catalog.models import Asset, Site
from coherence.db import Base, UTCDateTime


class NearMiss(Base):
    """Something that almost became an incident, as reported; reviewed like an incident."""

    __tablename__ = "near_misses"

    id: Mapped[int] = mapped_column(primary_key=True)
    what_happened: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    asset_id: Mapped[int | None] = mapped_column(ForeignKey("assets.id"))
    tlp: Mapped[str] = mapped_column(String(16))
    anonymous: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # None when reported anonymously: the reporter is kept nowhere.
    reported_by: Mapped[str | None] = mapped_column(String(128))
    reported_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # reported, reviewing or closed
    status: Mapped[str] = mapped_column(String(16), index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    close_note: Mapped[str | None] = mapped_column(Text)

    site: Mapped[Site | None] = relationship()
    asset: Mapped[Asset | None] = relationship()


class Lesson(Base):
    """A finding published for others to learn from: anonymised, labelled and searchable."""

    __tablename__ = "lessons"
    __table_args__ = (UniqueConstraint("origin_organisation", "origin_reference"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # The local finding it was published from; None for a lesson imported from a partner.
    finding_id: Mapped[int | None] = mapped_column(ForeignKey("review_findings.id"), unique=True)
    # incident, near_miss or imported
    source: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    summary: Mapped[str] = mapped_column(Text)
    lesson: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(64), index=True)
    asset_kind: Mapped[str | None] = mapped_column(String(64), index=True)
    playbook: Mapped[str | None] = mapped_column(String(64), index=True)
    site: Mapped[str | None] = mapped_column(String(64))
    tlp: Mapped[str] = mapped_column(String(16))
    data_category: Mapped[str] = mapped_column(String(32))
    origin_organisation: Mapped[str] = mapped_column(String(64), index=True)
    # The lesson's reference at its origin, for an imported lesson.
    origin_reference: Mapped[str | None] = mapped_column(String(32))
    # The SHA-256 of the signed package an imported lesson came in.
    package_sha256: Mapped[str | None] = mapped_column(String(64))
    # The lesson:published (or lesson:imported) entry that records it.
    ledger_seq: Mapped[int | None] = mapped_column(Integer)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime())
