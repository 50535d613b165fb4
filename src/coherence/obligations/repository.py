"""Every obligation query."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.obligations.models import Assessment, ObligationClock, Report


def assessment(session: Session, incident_id: int) -> Assessment | None:
    """Return the incident's triage answers, if any were recorded."""
    return session.scalars(
        select(Assessment).where(Assessment.incident_id == incident_id)
    ).one_or_none()


def clocks_for(session: Session, incident_id: int) -> Sequence[ObligationClock]:
    """Return an incident's clocks, by obligation and report order."""
    query = select(ObligationClock).where(ObligationClock.incident_id == incident_id)
    return session.scalars(
        query.order_by(ObligationClock.obligation, ObligationClock.position, ObligationClock.id)
    ).all()


def clock(
    session: Session, incident_id: int, obligation: str, report: str, *, for_update: bool = False
) -> ObligationClock | None:
    """Return one clock of an incident, optionally locking it."""
    query = select(ObligationClock).where(
        ObligationClock.incident_id == incident_id,
        ObligationClock.obligation == obligation,
        ObligationClock.report == report,
    )
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def clock_by_id(
    session: Session, clock_id: int, *, for_update: bool = False
) -> ObligationClock | None:
    """Return a clock by id, optionally locking it."""
    return session.get(ObligationClock, clock_id, with_for_update=for_update or None)


def clocks_in(
    session: Session, states: Collection[str], *, incident_id: int | None = None
) -> Sequence[ObligationClock]:
    """Return clocks in the given states, soonest due first."""
    query = select(ObligationClock).where(ObligationClock.state.in_(list(states)))
    if incident_id is not None:
        query = query.where(ObligationClock.incident_id == incident_id)
    return session.scalars(query.order_by(ObligationClock.due_at, ObligationClock.id)).all()


def report_for(session: Session, clock_id: int, *, for_update: bool = False) -> Report | None:
    """Return the report drafted for a clock, if any."""
    query = select(Report).where(Report.clock_id == clock_id)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def reports_for(session: Session, incident_id: int) -> Sequence[Report]:
    """Return every report drafted for an incident."""
    return session.scalars(
        select(Report).where(Report.incident_id == incident_id).order_by(Report.id)
    ).all()
