"""Recovery tables: versioned plans and their steps, spares, vendor contracts, latest readings."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.db import Base, UTCDateTime


class RecoveryPlan(Base):
    """One version of an incident's restoration plan; a rollback or pause makes a new one."""

    __tablename__ = "recovery_plans"
    __table_args__ = (UniqueConstraint("incident_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    # active, superseded or complete
    status: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(Text)
    # The assets reported down; the rest of the plan is what depends on them.
    roots: Mapped[list[str]] = mapped_column(JSON, default=list)
    # {asset key: part key} for assets that need a part replaced.
    parts: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    eta_hours: Mapped[float | None] = mapped_column(Float)
    waves: Mapped[int] = mapped_column(Integer, default=0)
    # When recovery began (the first version's time), for telling new anomalies from old.
    began_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    created_by: Mapped[str] = mapped_column(String(128))

    steps: Mapped[list[RecoveryStep]] = relationship(
        cascade="all, delete-orphan", order_by="RecoveryStep.position"
    )


class RecoveryStep(Base):
    """Bringing one asset back: its wave, waits, estimate, state, gates and rollback point."""

    __tablename__ = "recovery_steps"
    __table_args__ = (UniqueConstraint("plan_id", "asset"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    plan_id: Mapped[int] = mapped_column(
        ForeignKey("recovery_plans.id", ondelete="CASCADE"), index=True
    )
    asset: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(48))
    criticality: Mapped[str] = mapped_column(String(32))
    position: Mapped[int] = mapped_column(Integer)
    wave: Mapped[int] = mapped_column(Integer)
    # waiting, ready, in_progress, verifying, done, failed, rolled_back, paused
    state: Mapped[str] = mapped_column(String(16))
    waits_for: Mapped[list[str]] = mapped_column(JSON, default=list)
    notes: Mapped[list[str]] = mapped_column(JSON, default=list)
    duration_hours: Mapped[float] = mapped_column(Float)
    # {"part", "hours" (None: no source), "source" (spare|vendor|mutual_aid|none), "detail"}
    part: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    start_hours: Mapped[float | None] = mapped_column(Float)
    finish_hours: Mapped[float | None] = mapped_column(Float)
    # [{"key", "description", "manual", "metric", "rule", "operator", "value",
    #   "status", "detail", "at", "by"}]
    gates: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    # The last good point: the assets done when this step was started, to roll back to.
    rollback_point: Mapped[list[str] | None] = mapped_column(JSON)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str | None] = mapped_column(Text)


class Spare(Base):
    """Parts on hand at a site."""

    __tablename__ = "recovery_spares"
    __table_args__ = (UniqueConstraint("site", "part"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site: Mapped[str] = mapped_column(String(64))
    part: Mapped[str] = mapped_column(String(64))
    quantity: Mapped[int] = mapped_column(Integer)
    fits: Mapped[list[str]] = mapped_column(JSON, default=list)
    description: Mapped[str] = mapped_column(Text, default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class VendorContract(Base):
    """A vendor's response and repair SLAs, maintenance windows and part lead times."""

    __tablename__ = "recovery_contracts"

    id: Mapped[int] = mapped_column(primary_key=True)
    vendor: Mapped[str] = mapped_column(String(64), unique=True)
    response_hours: Mapped[float] = mapped_column(Float)
    repair_hours: Mapped[float] = mapped_column(Float)
    windows: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    parts: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Reading(Base):
    """The latest value of one metric of one asset, for judging verification gates."""

    __tablename__ = "recovery_readings"

    asset: Mapped[str] = mapped_column(String(64), primary_key=True)
    metric: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(64))
    numeric: Mapped[float | None] = mapped_column(Float)
    unit: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime())
