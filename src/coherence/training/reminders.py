"""Reminders ahead of a qualification lapsing: planned as durable timers, sent once each."""

from __future__ import annotations

from sqlalchemy.orm import Session

from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import service as comms_service
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.timers import service as timers_service
from coherence.timers.models import Timer
from coherence.timers.service import TimerKind
from coherence.training import domain, repository
from coherence.training.models import Reminder
from coherence.training.schemas import CurriculumDocument

ACTOR = "training"


def _qualifications(
    session: Session, person: Person, curriculum: domain.Curriculum, clock: Clock
) -> dict[str, domain.Qualification]:
    records = repository.records_of(session, [person.id])
    found = [
        domain.Entry(domain.RecordKind(r.kind), r.course, r.completed_on, r.score) for r in records
    ]
    return domain.qualifications(curriculum, found, clock.now().date())


def plan(session: Session, *, clock: Clock, person: Person, curriculum: domain.Curriculum) -> int:
    """Plan a reminder for each threshold of each qualification the person holds, unless one
    was planned already for that lapse; return how many were added."""
    now = clock.now()
    added = 0
    for role, held in _qualifications(session, person, curriculum, clock).items():
        if held.standing is not domain.Standing.QUALIFIED or held.expires_on is None:
            continue
        for days in domain.reminder_thresholds(
            held.expires_on, curriculum.reminder_days, now.date()
        ):
            known = repository.reminder(
                session,
                person_id=person.id,
                role=role,
                expires_on=held.expires_on,
                days_before=days,
            )
            if known is not None:
                continue
            due = domain.reminder_due(held.expires_on, days, now)
            row = Reminder(
                person_id=person.id,
                role=role,
                expires_on=held.expires_on,
                days_before=days,
                due_at=due,
                status="pending",
            )
            session.add(row)
            session.flush()
            timers_service.schedule(
                session,
                clock=clock,
                kind=TimerKind.TRAINING_REMINDER,
                due_at=due,
                data={"reminder": row.id},
            )
            added += 1
    return added


def fire_reminder_timer(session: Session, *, clock: Clock, timer: Timer) -> None:
    """Send a due reminder, unless the qualification was renewed or changed meanwhile."""
    now = clock.now()
    timers_service.mark_fired(timer, at=now)
    raw = timer.data.get("reminder")
    row = repository.reminder_by_id(session, raw) if isinstance(raw, int) else None
    if row is None or row.status != "pending":
        return
    stored = repository.current_curriculum(session)
    curriculum = CurriculumDocument.model_validate(stored.document).curriculum() if stored else None
    held = (
        _qualifications(session, row.person, curriculum, clock).get(row.role)
        if curriculum
        else None
    )
    if held is None or held.expires_on != row.expires_on or not held.valid_at(now):
        row.status = "superseded"
        return
    label = row.role.replace("_", " ")
    left = (row.expires_on - now.date()).days
    renew = ", ".join(held.renew)
    comms_service.enqueue(
        session,
        clock=clock,
        person=row.person,
        subject=f"Your {label} qualification lapses on {row.expires_on}",
        body=(
            f"Your {label} qualification lapses on {row.expires_on}, in {left} day(s). "
            f"Renew it by completing: {renew}. Until then you remain qualified; after it, "
            f"assigning you as {label} is flagged (or refused) and recorded."
        ),
        reason="training",
        actor=ACTOR,
    )
    row.status, row.sent_at = "sent", now
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.QUALIFICATION_REMINDED,
        actor=ACTOR,
        subject=f"person:{row.person.key}",
        payload={
            "person": row.person.key,
            "role": row.role,
            "expires_on": row.expires_on.isoformat(),
            "days_before": row.days_before,
            "renew": list(held.renew),
        },
    )
