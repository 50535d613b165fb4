"""Every training query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from coherence.catalog.models import Person
from coherence.training.models import CurriculumVersion, Reminder, TrainingRecord


def current_curriculum(session: Session) -> CurriculumVersion | None:
    """The curriculum version in force (the highest), or None before any is loaded."""
    query = select(CurriculumVersion).order_by(CurriculumVersion.version.desc()).limit(1)
    return session.scalars(query).first()


def records_of(session: Session, person_ids: Sequence[int] | None = None) -> list[TrainingRecord]:
    """Training records, oldest first, of some people (every person's when None)."""
    query = select(TrainingRecord).options(selectinload(TrainingRecord.person))
    if person_ids is not None:
        query = query.where(TrainingRecord.person_id.in_(list(person_ids)))
    return list(session.scalars(query.order_by(TrainingRecord.completed_on, TrainingRecord.id)))


def same_record(
    session: Session,
    *,
    person_id: int,
    kind: str,
    course: str | None,
    exercise: str | None,
    completed_on: date,
) -> TrainingRecord | None:
    """A record already held for the same person, kind, course, exercise and day."""
    query = select(TrainingRecord).where(
        TrainingRecord.person_id == person_id,
        TrainingRecord.kind == kind,
        TrainingRecord.course.is_(None) if course is None else TrainingRecord.course == course,
        TrainingRecord.exercise.is_(None)
        if exercise is None
        else TrainingRecord.exercise == exercise,
        TrainingRecord.completed_on == completed_on,
    )
    return session.scalars(query.limit(1)).first()


def people_with_records(session: Session) -> list[Person]:
    """Everyone who has at least one training record."""
    ids = select(TrainingRecord.person_id).distinct()
    return list(session.scalars(select(Person).where(Person.id.in_(ids)).order_by(Person.key)))


def reminder(
    session: Session, *, person_id: int, role: str, expires_on: date, days_before: int
) -> Reminder | None:
    """The reminder for one qualification and threshold, if one was planned."""
    query = select(Reminder).where(
        Reminder.person_id == person_id,
        Reminder.role == role,
        Reminder.expires_on == expires_on,
        Reminder.days_before == days_before,
    )
    return session.scalars(query).first()


def reminder_by_id(session: Session, reminder_id: int) -> Reminder | None:
    """One reminder, locked for the worker that fires it."""
    query = select(Reminder).where(Reminder.id == reminder_id).with_for_update()
    return session.scalars(query).first()


def reminders_of(session: Session, person_id: int) -> list[Reminder]:
    """A person's reminders, soonest first."""
    query = select(Reminder).where(Reminder.person_id == person_id)
    return list(session.scalars(query.order_by(Reminder.due_at, Reminder.id)))
