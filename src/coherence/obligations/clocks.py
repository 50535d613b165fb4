"""Report clocks: start, move and stop them, arm their timers, and warn or escalate when due."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.incidents import escalation
from coherence.incidents import service as incidents_service
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import SYSTEM_ACTOR, EntryType
from coherence.obligations import repository
from coherence.obligations.domain import (
    ACTIVE_STATES,
    Anchors,
    ClockState,
    Deadline,
    ObligationSpec,
    deadlines,
    warn_times,
)
from coherence.obligations.drafting import when
from coherence.obligations.models import ObligationClock
from coherence.timers import service as timers_service
from coherence.timers.models import Timer
from coherence.timers.service import TimerKind

OBLIGATION_TIMERS = frozenset({TimerKind.OBLIGATION_WARN.value, TimerKind.OBLIGATION_DUE.value})
WARNED_ROLES = (IcsRole.INCIDENT_COMMANDER, IcsRole.LIAISON_OFFICER)


@dataclass
class Synced:
    """What bringing one obligation's clocks up to date did."""

    started: list[ObligationClock] = field(default_factory=list)
    moved: list[ObligationClock] = field(default_factory=list)


def sync(
    session: Session,
    clock: Clock,
    incident: Incident,
    spec: ObligationSpec,
    anchors: Anchors,
    *,
    reason: str,
    actor: str,
) -> Synced:
    """Start (or restart) the clocks of an obligation that applies; move deadlines that changed.

    Submitted clocks stay as they are; their submission times anchor later reports.
    """
    now = clock.now()
    existing = {
        c.report: c for c in repository.clocks_for(session, incident.id) if c.obligation == spec.key
    }
    submitted = {
        key: c.submitted_at
        for key, c in existing.items()
        if c.state == ClockState.SUBMITTED.value and c.submitted_at is not None
    }
    done = Synced()
    for position, deadline in enumerate(deadlines(spec, anchors, submitted=submitted)):
        found = existing.get(deadline.report)
        if found is None:
            found = _new_clock(session, incident, spec, deadline, position, now)
            done.started.append(found)
        elif found.state == ClockState.WITHDRAWN.value:
            found.state, found.withdrawn_at = ClockState.RUNNING.value, None
            found.warned_at = found.missed_at = None
            _set(found, deadline, spec, now)
            done.started.append(found)
        elif found.state in ACTIVE_STATES and _differs(found, deadline):
            previous = found.due_at
            _set(found, deadline, spec, now)
            if found.state == ClockState.MISSED.value and found.due_at > now:
                found.state, found.missed_at = ClockState.RUNNING.value, None
            _record_move(session, clock, found, previous, actor)
            done.moved.append(found)
        else:
            continue
        session.flush()
        if found.state != ClockState.MISSED.value:
            arm(session, clock, found)
    if done.started:
        _record_start(session, clock, incident, spec, done.started, reason=reason, actor=actor)
    return done


def _new_clock(
    session: Session,
    incident: Incident,
    spec: ObligationSpec,
    deadline: Deadline,
    position: int,
    now: datetime,
) -> ObligationClock:
    report = spec.report(deadline.report)
    assert report is not None
    found = ObligationClock(
        incident_id=incident.id,
        obligation=spec.key,
        report=report.key,
        title=spec.title,
        report_title=report.title,
        authority=spec.authority,
        citation=spec.citation,
        position=position,
        state=ClockState.RUNNING.value,
        started_at=now,
    )
    _set(found, deadline, spec, now)
    session.add(found)
    return found


def _set(found: ObligationClock, deadline: Deadline, spec: ObligationSpec, now: datetime) -> None:
    found.starts_at, found.due_at = deadline.starts_at, deadline.due_at
    found.basis, found.provisional = deadline.basis[:300], deadline.provisional
    found.warn_at = list(spec.warn_at)
    found.updated_at = now


def _differs(found: ObligationClock, deadline: Deadline) -> bool:
    return (found.due_at, found.starts_at, found.basis, found.provisional) != (
        deadline.due_at,
        deadline.starts_at,
        deadline.basis[:300],
        deadline.provisional,
    )


def _record_start(
    session: Session,
    clock: Clock,
    incident: Incident,
    spec: ObligationSpec,
    started: Sequence[ObligationClock],
    *,
    reason: str,
    actor: str,
) -> None:
    told = people(session, clock, incident, WARNED_ROLES)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.OBLIGATION_TRIGGERED,
        actor=actor,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "obligation": spec.key,
            "reason": reason,
            "clocks": [{"report": c.report, "due_at": c.due_at, "basis": c.basis} for c in started],
            "told": [p.key for p in told],
        },
    )
    dues = "; ".join(f"{c.report_title} due {when(c.due_at)}" for c in started)
    escalation.page(
        session,
        clock,
        incident,
        told,
        actor=actor,
        why=f"{spec.title} applies: {dues}",
        reason="obligation",
    )


def _record_move(
    session: Session, clock: Clock, found: ObligationClock, previous: datetime, actor: str
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.OBLIGATION_RESCHEDULED,
        actor=actor,
        subject=f"incident:{found.incident_id}",
        incident_id=found.incident_id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "from": previous,
            "to": found.due_at,
            "basis": found.basis,
            "provisional": found.provisional,
        },
    )


def withdraw(
    session: Session,
    clock: Clock,
    incident_id: int,
    obligation: str,
    found: Sequence[ObligationClock],
    *,
    reason: str,
    actor: str,
) -> None:
    """Stop the unsent reports' clocks of an obligation that no longer applies."""
    now = clock.now()
    for item in found:
        item.state, item.withdrawn_at, item.updated_at = ClockState.WITHDRAWN.value, now, now
        disarm(session, item)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.OBLIGATION_WITHDRAWN,
        actor=actor,
        subject=f"incident:{incident_id}",
        incident_id=incident_id,
        payload={"obligation": obligation, "reason": reason, "reports": [c.report for c in found]},
    )


def arm(session: Session, clock: Clock, found: ObligationClock) -> None:
    """Replace a clock's pending timers: one per warning still ahead, and one at the deadline."""
    disarm(session, found)
    now = clock.now()
    for fraction, at in warn_times(found.starts_at, found.due_at, found.warn_at, now=now):
        timers_service.schedule(
            session,
            clock=clock,
            kind=TimerKind.OBLIGATION_WARN,
            due_at=at,
            incident_id=found.incident_id,
            data={"clock": found.id, "fraction": fraction},
        )
    timers_service.schedule(
        session,
        clock=clock,
        kind=TimerKind.OBLIGATION_DUE,
        due_at=max(found.due_at, now),
        incident_id=found.incident_id,
        data={"clock": found.id},
    )


def disarm(session: Session, found: ObligationClock) -> None:
    """Cancel a clock's pending timers."""
    for timer in timers_service.pending_for_incident(session, found.incident_id):
        if timer.kind in OBLIGATION_TIMERS and timer.data.get("clock") == found.id:
            timers_service.mark_cancelled(timer)


def people(
    session: Session, clock: Clock, incident: Incident, roles: Sequence[IcsRole]
) -> list[Person]:
    """Who holds each role on the incident, or, for a role nobody holds, who is on call."""
    found: list[Person] = []
    for role in roles:
        person = escalation.holder(incident, role) or catalog_service.on_call(
            session, site=incident.site, role=role, at=clock.now()
        )
        if person is not None and person not in found:
            found.append(person)
    return found


def escalation_people(session: Session, clock: Clock, incident: Incident) -> list[Person]:
    """Who hears of a missed deadline: commander and liaison (holders and on call), and the
    last level of the incident's escalation policy."""
    found = people(session, clock, incident, WARNED_ROLES)
    on_call = catalog_service.on_call(
        session, site=incident.site, role=IcsRole.INCIDENT_COMMANDER, at=clock.now()
    )
    if on_call is not None and on_call not in found:
        found.append(on_call)
    levels = (
        catalog_service.escalation_levels_by_key(session, incident.escalation_policy)
        if incident.escalation_policy
        else None
    )
    if levels:
        top = escalation.level_recipients(session, clock, incident, level=len(levels) - 1)
        found.extend(p for p in top if p not in found)
    return found


def fire_obligation_timer(session: Session, *, clock: Clock, timer: Timer) -> None:
    """Warn the commander and liaison a report is due soon, or escalate a missed deadline."""
    now = clock.now()
    timers_service.mark_fired(timer, at=now)
    raw = timer.data.get("clock")
    found = repository.clock_by_id(session, raw) if isinstance(raw, int) else None
    if found is None:
        return
    # The incident first, then the clock: every change to clocks locks in that order.
    incident = incidents_service.get_or_raise(session, found.incident_id, for_update=True)
    found = repository.clock_by_id(session, found.id, for_update=True)
    if found is None or found.state not in (ClockState.RUNNING.value, ClockState.WARNED.value):
        return
    if timer.kind == TimerKind.OBLIGATION_WARN.value:
        if now < found.due_at:
            _warn(session, clock, incident, found, timer.data.get("fraction"))
    elif found.due_at <= now:
        _miss(session, clock, incident, found)


def _warn(
    session: Session, clock: Clock, incident: Incident, found: ObligationClock, fraction: object
) -> None:
    now = clock.now()
    found.state, found.warned_at, found.updated_at = ClockState.WARNED.value, now, now
    told = people(session, clock, incident, WARNED_ROLES)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.OBLIGATION_WARNED,
        actor=SYSTEM_ACTOR,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "due_at": found.due_at,
            "fraction": fraction,
            "told": [p.key for p in told],
        },
    )
    left = found.due_at - now
    hours, rest = divmod(int(left.total_seconds()) // 60, 60)
    why = (
        f"{found.title}: {found.report_title} due {when(found.due_at)} "
        f"(in {hours}h{rest:02d}m) to {found.authority}"
    )
    escalation.page(
        session, clock, incident, told, actor=SYSTEM_ACTOR, why=why, reason="obligation-warning"
    )


def _miss(session: Session, clock: Clock, incident: Incident, found: ObligationClock) -> None:
    now = clock.now()
    found.state, found.missed_at, found.updated_at = ClockState.MISSED.value, now, now
    told = escalation_people(session, clock, incident)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.OBLIGATION_MISSED,
        actor=SYSTEM_ACTOR,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "due_at": found.due_at,
            "told": [p.key for p in told],
        },
    )
    why = (
        f"MISSED: {found.title}: {found.report_title} was due {when(found.due_at)} "
        f"to {found.authority}; submit it now with the reasons for the delay"
    )
    escalation.page(
        session, clock, incident, told, actor=SYSTEM_ACTOR, why=why, reason="obligation-missed"
    )
