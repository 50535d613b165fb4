"""Every exercise query."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog.models import Asset
from coherence.exercises.models import Exercise, ExerciseIncident, ExerciseInject
from coherence.incidents.domain import Kind
from coherence.incidents.models import Incident

RUNNING = "running"


def get(session: Session, exercise_id: int, *, for_update: bool = False) -> Exercise | None:
    """One exercise by id, optionally locked."""
    query = select(Exercise).where(Exercise.id == exercise_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def list_all(session: Session, *, limit: int = 200) -> Sequence[Exercise]:
    """Exercises, newest first."""
    return session.scalars(select(Exercise).order_by(Exercise.id.desc()).limit(limit)).all()


def get_inject(session: Session, inject_id: int) -> ExerciseInject | None:
    """One inject by id."""
    return session.get(ExerciseInject, inject_id)


def of_incident(session: Session, incident_id: int) -> Exercise | None:
    """The exercise an incident belongs to, if any."""
    return session.scalars(
        select(Exercise)
        .join(ExerciseIncident, ExerciseIncident.exercise_id == Exercise.id)
        .where(ExerciseIncident.incident_id == incident_id)
    ).one_or_none()


def running_on(session: Session, asset: str) -> Exercise | None:
    """The newest running exercise whose scenario covers ``asset``."""
    running = session.scalars(
        select(Exercise).where(Exercise.status == RUNNING).order_by(Exercise.id.desc())
    ).all()
    return next((e for e in running if asset in e.scenario.get("assets", [])), None)


def unclaimed_drills(
    session: Session, *, assets: Collection[str], since: datetime
) -> Sequence[Incident]:
    """Exercise incidents on ``assets`` detected since ``since`` that no exercise holds yet."""
    held = select(ExerciseIncident.incident_id)
    return session.scalars(
        select(Incident)
        .join(Asset, Asset.id == Incident.asset_id)
        .where(
            Incident.kind == Kind.EXERCISE.value,
            Asset.key.in_(list(assets)),
            Incident.detected_at >= since,
            Incident.id.not_in(held),
        )
        .order_by(Incident.id)
    ).all()
