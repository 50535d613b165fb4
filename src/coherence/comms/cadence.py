"""Update cadence: when an audience is due its next statement, and who is told when it is late."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.clock import Clock
from coherence.comms.models import Statement
from coherence.comms.statements import Audience
from coherence.incidents import escalation, repository
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.timers import service as timers_service
from coherence.timers.models import Timer
from coherence.timers.service import TimerKind

# After an update falls due, how long before the incident commander is told it is overdue.
OVERDUE_GRACE = timedelta(minutes=10)


def rearm(
    session: Session,
    clock: Clock,
    incident: Incident,
    audience: Audience,
    every_minutes: float | None,
) -> None:
    """Cancel the audience's pending reminders and, if it has a cadence, start the next one."""
    for timer in timers_service.pending_for_incident(session, incident.id):
        if timer.kind == TimerKind.STATEMENT_DUE.value and timer.data.get("audience") == audience:
            timers_service.mark_cancelled(timer)
    if every_minutes is None or incident.status in ("resolved", "closed"):
        return
    timers_service.schedule(
        session,
        clock=clock,
        kind=TimerKind.STATEMENT_DUE,
        due_at=clock.now() + timedelta(minutes=every_minutes),
        incident_id=incident.id,
        data={"audience": audience.value, "stage": "due"},
    )


def fire_cadence_timer(session: Session, *, clock: Clock, timer: Timer) -> None:
    """Remind the public information officer an update is due; tell the commander if missed."""
    now = clock.now()
    timers_service.mark_fired(timer, at=now)
    incident = repository.get(session, timer.incident_id or 0, for_update=True)
    if incident is None or incident.status in ("resolved", "closed"):
        return
    audience = str(timer.data.get("audience"))
    last = session.scalar(
        select(func.max(Statement.issued_at)).where(
            Statement.incident_id == incident.id, Statement.audience == audience
        )
    )
    overdue = timer.data.get("stage") == "overdue"
    role = IcsRole.INCIDENT_COMMANDER if overdue else IcsRole.PUBLIC_INFORMATION_OFFICER
    person = escalation.holder(incident, role) or catalog_service.on_call(
        session, site=incident.site, role=role, at=now
    )
    since = "never" if last is None else f"last at {last:%H:%M} UTC"
    why = (
        f"update to {audience} OVERDUE ({since})"
        if overdue
        else f"update to {audience} due now ({since})"
    )
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.STATEMENT_DUE,
        actor="system",
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={"audience": audience, "overdue": overdue, "told": person.key if person else None},
    )
    if person is not None:
        escalation.page(
            session, clock, incident, [person], actor="system", why=why, reason="cadence"
        )
    if not overdue:
        timers_service.schedule(
            session,
            clock=clock,
            kind=TimerKind.STATEMENT_DUE,
            due_at=now + OVERDUE_GRACE,
            incident_id=incident.id,
            data={"audience": audience, "stage": "overdue"},
        )


def next_update_due(session: Session, incident_id: int) -> dict[str, datetime]:
    """When each audience's next update is due, for audiences on a cadence."""
    due: dict[str, datetime] = {}
    for timer in timers_service.pending_for_incident(session, incident_id):
        if timer.kind == TimerKind.STATEMENT_DUE.value:
            audience = str(timer.data.get("audience"))
            due.setdefault(audience, timer.due_at)
    return due
