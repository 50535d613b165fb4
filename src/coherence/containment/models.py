"""Containment tables: change records and the commander's containment overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from coherence.db import Base, UTCDateTime


class ChangeRecord(Base):
    """One containment action: what, why, where, expected effect, risk, rollback and sign-offs."""

    __tablename__ = "change_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    procedure_key: Mapped[str | None] = mapped_column(String(64))
    title: Mapped[str] = mapped_column(String(200))
    what: Mapped[str] = mapped_column(Text)
    why: Mapped[str] = mapped_column(Text)
    assets: Mapped[list[str]] = mapped_column(JSON, default=list)
    expected_effect: Mapped[str] = mapped_column(Text)
    risk: Mapped[str] = mapped_column(String(8))
    rollback_plan: Mapped[str] = mapped_column(Text)
    safety_critical: Mapped[bool] = mapped_column(Boolean, default=False)
    state: Mapped[str] = mapped_column(String(16), index=True)
    # [{"text", "met", "checked_by", "checked_at", "note"}], in the playbook's order.
    preconditions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # [{"person", "at", "note"}], one per distinct approver.
    approvals: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    proposed_by: Mapped[str] = mapped_column(String(128))
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime())
    executed_by: Mapped[str | None] = mapped_column(String(128))
    executed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by: Mapped[str | None] = mapped_column(String(128))
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verification: Mapped[str | None] = mapped_column(Text)
    ended_by: Mapped[str | None] = mapped_column(String(128))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_reason: Mapped[str | None] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class ContainmentOverride(Base):
    """The incident commander let the incident be contained despite unverified changes."""

    __tablename__ = "containment_overrides"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    unverified: Mapped[list[int]] = mapped_column(JSON, default=list)
    recorded_by: Mapped[str] = mapped_column(String(128))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
