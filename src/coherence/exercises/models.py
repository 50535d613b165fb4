"""Exercise tables: a run of a scenario, its injects, and the incidents it produced."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.db import Base, UTCDateTime


class Exercise(Base):
    """One run of a scenario, with its clock and the playbook snapshot it is scored against."""

    __tablename__ = "exercises"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), index=True)
    title: Mapped[str] = mapped_column(String(200))
    # The validated scenario document, as loaded.
    scenario: Mapped[dict[str, Any]] = mapped_column(JSON)
    playbook_key: Mapped[str] = mapped_column(String(64))
    playbook_version: Mapped[int] = mapped_column(Integer)
    site: Mapped[str] = mapped_column(String(64))
    # stepped, accelerated or realtime
    mode: Mapped[str] = mapped_column(String(16))
    speed: Mapped[float] = mapped_column(Float, default=1.0, server_default="1")
    page_real: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # running or ended
    status: Mapped[str] = mapped_column(String(16), index=True)
    # The clock as [{"wall", "at", "rate"}]: exercise time of any wall time, see domain.Segment.
    segments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # [{"key", "title", "role", "due_minutes", "after"}]: the steps as scored.
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # {milestone: minutes}
    targets: Mapped[dict[str, float]] = mapped_column(JSON, default=dict, server_default="{}")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    started_by: Mapped[str] = mapped_column(String(128))
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ended_by: Mapped[str | None] = mapped_column(String(128))

    injects: Mapped[list[ExerciseInject]] = relationship(
        cascade="all, delete-orphan", order_by="ExerciseInject.position"
    )
    links: Mapped[list[ExerciseIncident]] = relationship(
        cascade="all, delete-orphan", order_by="ExerciseIncident.incident_id"
    )


class ExerciseInject(Base):
    """One timed inject of a run: pending until the exercise clock reaches it."""

    __tablename__ = "exercise_injects"
    __table_args__ = (UniqueConstraint("exercise_id", "position"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer)
    at_seconds: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(16))
    title: Mapped[str] = mapped_column(String(200))
    spec: Mapped[dict[str, Any]] = mapped_column(JSON)
    # pending, fired or failed
    status: Mapped[str] = mapped_column(String(16))
    fired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fired_seconds: Mapped[float | None] = mapped_column(Float)
    # telemetry: {"samples", "accepted", "rejected", "opened", "updated"}; complications:
    # {"people"}; any kind: {"detail"}.
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")


class ExerciseIncident(Base):
    """An incident an exercise produced; an incident belongs to at most one exercise."""

    __tablename__ = "exercise_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    exercise_id: Mapped[int] = mapped_column(
        ForeignKey("exercises.id", ondelete="CASCADE"), index=True
    )
    incident_id: Mapped[int] = mapped_column(ForeignKey("incidents.id"), unique=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime())
