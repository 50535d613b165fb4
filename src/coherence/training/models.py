"""Training tables: curriculum versions, people's training records and expiry reminders."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from coherence.catalog.models import Person
from coherence.db import Base, UTCDateTime


class CurriculumVersion(Base):
    """One loaded curriculum document; the highest version is the one in force."""

    __tablename__ = "training_curricula"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    document: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(200), server_default="")
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    loaded_by: Mapped[str] = mapped_column(String(128))


class TrainingRecord(Base):
    """A course completed, or an exercise taken part in (with its drill and score)."""

    __tablename__ = "training_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    # completion or exercise
    kind: Mapped[str] = mapped_column(String(16))
    # The course or drill it counts for; an exercise may count for none.
    course: Mapped[str | None] = mapped_column(String(64))
    exercise: Mapped[str | None] = mapped_column(String(200))
    role_played: Mapped[str | None] = mapped_column(String(64))
    score: Mapped[float | None] = mapped_column(Float)
    completed_on: Mapped[date] = mapped_column(Date)
    assessor: Mapped[str] = mapped_column(String(200), server_default="")
    evidence: Mapped[str] = mapped_column(Text, server_default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime())
    recorded_by: Mapped[str] = mapped_column(String(128))

    person: Mapped[Person] = relationship()


class Reminder(Base):
    """A reminder that a qualification lapses soon; one per qualification and threshold."""

    __tablename__ = "training_reminders"
    __table_args__ = (UniqueConstraint("person_id", "role", "expires_on", "days_before"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    role: Mapped[str] = mapped_column(String(64))
    expires_on: Mapped[date] = mapped_column(Date)
    days_before: Mapped[int] = mapped_column(Integer)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # pending, sent, or superseded (renewed or changed before it was due)
    status: Mapped[str] = mapped_column(String(16), server_default="pending")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    person: Mapped[Person] = relationship()
