"""Paging and escalation: who is told, when, and what fires when a timer is due."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole, OrganisationKind
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import service as comms_service
from coherence.incidents import domain, messages, repository
from coherence.incidents.domain import Kind, Status, TaskStatus
from coherence.incidents.models import Incident, Task
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks.domain import ClassificationScheme, standard_scheme
from coherence.playbooks.schemas import PlaybookDocument
from coherence.timers import service as timers_service
from coherence.timers.models import Timer
from coherence.timers.service import TimerKind

FIRST_STEPS_IN_PAGE = 3


def page_on_open(
    session: Session,
    clock: Clock,
    incident: Incident,
    playbook: PlaybookDocument | None,
    *,
    actor: str,
) -> None:
    """Page the first escalation level and the roles the playbook names, once per person."""
    reasons: dict[int, tuple[Person, list[str]]] = {}
    for person in level_recipients(session, clock, incident, level=0):
        reasons.setdefault(person.id, (person, []))[1].append("new incident")
    scheme = standard_scheme()
    for rule in playbook.notify if playbook else []:
        if rule.role is None or not _applies(rule.min_severity, incident.severity, scheme):
            continue
        role_holder = holder(incident, rule.role)
        if role_holder is not None:
            reasons.setdefault(role_holder.id, (role_holder, []))[1].append(
                f"you are {rule.role.value.replace('_', ' ')}"
            )
    for recipient, whys in reasons.values():
        page(session, clock, incident, [recipient], actor=actor, why="; ".join(whys), reason="open")
    arm_next_level(session, clock, incident, level=0)


def _applies(min_severity: str | None, severity: str, scheme: ClassificationScheme) -> bool:
    return min_severity is None or scheme.at_least(severity, min_severity)


def level_recipients(
    session: Session, clock: Clock, incident: Incident, *, level: int
) -> list[Person]:
    """Return who one escalation level pages; without a policy, the incident commander."""
    levels = _levels(session, incident)
    if not levels:
        commander = holder(incident, IcsRole.INCIDENT_COMMANDER)
        return [commander] if commander is not None else []
    spec = levels[level]
    recipients: list[Person] = []
    for role in spec.get("notify_roles", []):
        person = holder(incident, IcsRole(role)) or catalog_service.on_call(
            session, site=incident.site, role=IcsRole(role), at=clock.now()
        )
        if person is not None:
            recipients.append(person)
    for key in spec.get("notify_people", []):
        person = catalog_service.get_person(session, key)
        if person is not None:
            recipients.append(person)
    return recipients


def arm_next_level(session: Session, clock: Clock, incident: Incident, *, level: int) -> None:
    """Schedule the escalation to the level after ``level``, if the policy has one."""
    step = domain.next_escalation(
        _levels(session, incident), current_level=level, paged_at=clock.now()
    )
    if step is not None:
        timers_service.schedule(
            session,
            clock=clock,
            kind=TimerKind.ACK_ESCALATION,
            due_at=step.due_at,
            incident_id=incident.id,
            data={"level": step.level},
        )


def add_notice_tasks(
    session: Session,
    clock: Clock,
    incident: Incident,
    playbook: PlaybookDocument,
) -> None:
    """Turn the playbook's organisation notices into timed tasks for the liaison officer."""
    scheme = standard_scheme()
    liaison = holder(incident, IcsRole.LIAISON_OFFICER)
    position = len(incident.tasks)
    for rule in playbook.notify:
        if rule.organisation_kind is None or not _applies(
            rule.min_severity, incident.severity, scheme
        ):
            continue
        kind = rule.organisation_kind.value
        names = _organisations_to_notify(session, incident, kind) or f"no {kind} on file"
        task = Task(
            position=position,
            source="notification",
            title=f"Notify {kind.replace('_', ' ')}: {names}",
            details=f"Required by playbook {playbook.key} within {rule.within_minutes:g} min.",
            owner_role=IcsRole.LIAISON_OFFICER.value,
            assignee_id=liaison.id if liaison else None,
            due_at=incident.detected_at + timedelta(minutes=rule.within_minutes),
            status=TaskStatus.OPEN.value,
        )
        incident.tasks.append(task)
        position += 1
        session.flush()
        assert task.due_at is not None
        timers_service.schedule(
            session,
            clock=clock,
            kind=TimerKind.TASK_DUE,
            due_at=task.due_at,
            incident_id=incident.id,
            task_id=task.id,
        )


def _organisations_to_notify(session: Session, incident: Incident, kind: str) -> str:
    if kind == OrganisationKind.VENDOR.value and incident.asset.vendors:
        # The asset's own vendors, not every vendor on file, for a fault on that asset.
        return ", ".join(vendor.name for vendor in incident.asset.vendors)
    contacts = catalog_service.people_of_organisation_kind(session, kind)
    return ", ".join(sorted({person.organisation.name for person in contacts}))


def page(
    session: Session,
    clock: Clock,
    incident: Incident,
    people: Sequence[Person],
    *,
    actor: str,
    why: str,
    reason: str,
) -> None:
    """Queue one page per distinct person about ``incident``."""
    kind = Kind(incident.kind)
    timed = sorted(
        (t for t in incident.tasks if t.status == TaskStatus.OPEN.value and t.due_at),
        key=lambda t: (t.due_at, t.position),
    )
    first = [(t.title, t.owner_role, t.due_at, t.hazard) for t in timed[:FIRST_STEPS_IN_PAGE]]
    seen: set[int] = set()
    for person in people:
        if person.id in seen:
            continue
        seen.add(person.id)
        comms_service.enqueue(
            session,
            clock=clock,
            person=person,
            incident_id=incident.id,
            actor=actor,
            reason=reason,
            subject=messages.subject(
                incident_id=incident.id,
                kind=kind,
                severity=incident.severity,
                title=incident.title,
                why=why,
            ),
            body=messages.body(
                incident_id=incident.id,
                kind=kind,
                title=incident.title,
                asset=incident.asset.name,
                site=incident.site.name,
                severity=incident.severity,
                detected_at=incident.detected_at,
                first_steps=first,
                why=why,
            ),
        )


def _levels(session: Session, incident: Incident) -> list[dict[str, Any]]:
    if not incident.escalation_policy:
        return []
    return catalog_service.escalation_levels_by_key(session, incident.escalation_policy) or []


def holder(incident: Incident, role: IcsRole) -> Person | None:
    """Return who holds ``role`` on the incident, or None."""
    return next((r.person for r in incident.roles if r.role == role.value), None)


def fire_timer(session: Session, *, clock: Clock, timer: Timer) -> None:
    """Do what a due timer asks: escalate an unacknowledged incident or mark a task overdue."""
    now = clock.now()
    timers_service.mark_fired(timer, at=now)
    if timer.incident_id is None:
        return
    incident = repository.get(session, timer.incident_id, for_update=True)
    if incident is None:
        return
    if timer.kind == TimerKind.ACK_ESCALATION.value:
        _escalate(session, clock, incident, level=int(timer.data.get("level", 1)))
    elif timer.kind == TimerKind.TASK_DUE.value and timer.task_id is not None:
        _mark_overdue(session, clock, incident, timer.task_id)


def _escalate(session: Session, clock: Clock, incident: Incident, *, level: int) -> None:
    if incident.status != Status.DETECTED.value or level <= incident.escalation_level:
        return
    levels = _levels(session, incident)
    if level >= len(levels):
        return
    previous = incident.escalation_level
    incident.escalation_level = level
    incident.updated_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_ESCALATED,
        actor="system",
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            # Levels are counted from 1 wherever a person reads them.
            "from_level": previous + 1,
            "to_level": level + 1,
            "reason": "not acknowledged within the window",
        },
    )
    why = f"ESCALATED to level {level + 1}: not acknowledged"
    recipients = level_recipients(session, clock, incident, level=level)
    page(session, clock, incident, recipients, actor="system", why=why, reason=f"level-{level + 1}")
    arm_next_level(session, clock, incident, level=level)


def _mark_overdue(session: Session, clock: Clock, incident: Incident, task_id: int) -> None:
    task = next((t for t in incident.tasks if t.id == task_id), None)
    if task is None or task.status != TaskStatus.OPEN.value or task.overdue_at is not None:
        return
    task.overdue_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.TASK_OVERDUE,
        actor="system",
        subject=f"task:{task.id}",
        incident_id=incident.id,
        payload={"task": task.id, "title": task.title, "due_at": task.due_at},
    )
    if task.assignee is not None:
        page(
            session,
            clock,
            incident,
            [task.assignee],
            actor="system",
            why=f"OVERDUE task: {task.title}",
            reason="overdue",
        )
