"""Partner tables: agreements, operational periods under unified command, share overrides."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class Agreement(Base):
    """A memorandum of understanding: who shares what with whom, on what basis, until when."""

    __tablename__ = "agreements"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    # Organisation keys; every party sees what the agreement shares of the others' incidents.
    parties: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {"sites": [...], "asset_kinds": [...], "categories": [...]}; an empty list means any.
    scope: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    ceiling: Mapped[str] = mapped_column(String(16))
    data_categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    legal_basis: Mapped[str] = mapped_column(Text)
    jurisdiction: Mapped[str] = mapped_column(String(2))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    # Bases for personal data leaving the EEA: adequacy, scc, bcr, derogation.
    transfer_bases: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Export licences on file: [{"eccn", "country", "reference"}].
    licences: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"from", "resource", "kind", "quantity", "notes"}]
    mutual_aid: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # {organisation key: person key}
    liaisons: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class OperationalPeriod(Base):
    """Joint objectives for one operational period of an incident (in the spirit of ICS 202)."""

    __tablename__ = "operational_periods"
    __table_args__ = (UniqueConstraint("incident_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    objectives: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Organisations under unified command for this period.
    organisations: Mapped[list[str]] = mapped_column(JSON, default=list)
    safety_message: Mapped[str] = mapped_column(Text, default="")
    set_by: Mapped[str] = mapped_column(String(128))
    set_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ShareOverride(Base):
    """A named approver let a blocked share through, and why; it covers one incident and party."""

    __tablename__ = "share_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    organisation: Mapped[str] = mapped_column(String(64))
    # The guard's findings the approver overrode, as they were shown.
    blocked: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str] = mapped_column(Text)
    approved_by: Mapped[str] = mapped_column(String(64))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())
