"""Incident state changes: each one applies a rule, writes the ledger and outbox, and flushes."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from coherence.access.domain import Tlp
from coherence.catalog import service as catalog_service
from coherence.catalog.domain import INCIDENT_STAFFING, IcsRole
from coherence.catalog.models import Person, Site
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.incidents import domain, escalation, repository
from coherence.incidents.domain import Status, TaskStatus
from coherence.incidents.models import Incident, RoleAssignment, Task
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.domain import standard_scheme
from coherence.playbooks.schemas import PlaybookDocument
from coherence.settings import QualificationPolicy
from coherence.timers import service as timers_service
from coherence.timers.service import TimerKind
from coherence.training import service as training_service


def open_incident(
    session: Session, *, clock: Clock, request: IncidentCreate, actor: str
) -> Incident:
    """Open, classify and staff an incident, start its playbook and page the first level."""
    now = clock.now()
    asset = catalog_service.get_asset_or_raise(session, request.asset)
    playbook_row = (
        playbooks_service.get_latest_or_raise(session, request.playbook)
        if request.playbook
        else None
    )
    playbook = playbooks_service.document_of(playbook_row) if playbook_row else None
    if playbook is not None and asset.kind not in playbook.applies_to:
        raise ValidationFailed(
            f"playbook {playbook.key!r} applies to {', '.join(playbook.applies_to)}, "
            f"but {asset.key!r} is a {asset.kind}; choose a playbook for that kind of asset",
            field="playbook",
        )
    scheme = standard_scheme()
    classified = domain.classify(
        scheme,
        category=request.category,
        impact=request.impact,
        urgency=request.urgency,
        defaults=(playbook.category, playbook.impact, playbook.urgency) if playbook else None,
    )
    if request.occurred_at is not None and request.occurred_at > now:
        raise ValidationFailed("occurred_at is in the future", field="occurred_at")
    policy_key = _escalation_policy(session, asset.site, playbook)

    incident = Incident(
        title=request.title or (f"{playbook.title}: {asset.name}" if playbook else asset.name),
        summary=request.summary,
        kind=request.kind.value,
        tlp=request.tlp.value,
        status=Status.DETECTED.value,
        category=classified.category,
        impact=classified.impact,
        urgency=classified.urgency,
        severity=classified.severity.key,
        asset_id=asset.id,
        site_id=asset.site_id,
        playbook_key=playbook_row.key if playbook_row else None,
        playbook_version=playbook_row.version if playbook_row else None,
        escalation_policy=policy_key,
        escalation_level=0,
        opened_by=actor,
        occurred_at=request.occurred_at,
        detected_at=now,
        updated_at=now,
    )
    session.add(incident)
    session.flush()
    holders = _staff(session, incident, now)
    _instantiate_tasks(
        session,
        clock,
        incident,
        playbook,
        holders,
        scheme.checklist(category=classified.category, severity=classified.severity.key)
        if playbook is None
        else list(classified.severity.checklist),
    )
    if playbook is not None:
        escalation.add_notice_tasks(session, clock, incident, playbook)
    if request.tlp is Tlp.RED:
        incident.tlp_recipients = sorted({p.key for p in holders.values()} | {actor})
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_OPENED,
        actor=actor,
        subject=subject_of(incident),
        incident_id=incident.id,
        payload={
            "title": incident.title,
            "kind": incident.kind,
            "tlp": incident.tlp,
            "asset": asset.key,
            "site": asset.site.key,
            "category": classified.category,
            "impact": classified.impact,
            "urgency": classified.urgency,
            "severity": classified.severity.key,
            "playbook": incident.playbook_key,
            "playbook_version": incident.playbook_version,
            "roles": {role: person.key for role, person in holders.items()},
            "tasks": len(incident.tasks),
        },
    )
    escalation.page_on_open(session, clock, incident, playbook, actor=actor)
    if playbook is not None and playbook.procedures:
        from coherence.containment import service as containment_service

        containment_service.instantiate(
            session, clock=clock, incident=incident, playbook=playbook, actor=actor
        )
    return incident


def _escalation_policy(
    session: Session, site: Site, playbook: PlaybookDocument | None
) -> str | None:
    key = (playbook.escalation_policy if playbook else None) or (
        site.escalation_policy.key if site.escalation_policy else None
    )
    if key and catalog_service.escalation_levels_by_key(session, key) is None:
        raise ValidationFailed(
            f"playbook names escalation policy {key!r}, which this facility lacks",
            field="playbook",
        )
    return key


def _staff(session: Session, incident: Incident, now: datetime) -> dict[str, Person]:
    holders: dict[str, Person] = {}
    for role in INCIDENT_STAFFING:
        person = catalog_service.on_call(session, site=incident.site, role=role, at=now)
        if person is not None:
            incident.roles.append(
                RoleAssignment(role=role.value, person_id=person.id, assigned_at=now)
            )
            holders[role.value] = person
    session.flush()
    return holders


def _instantiate_tasks(
    session: Session,
    clock: Clock,
    incident: Incident,
    playbook: PlaybookDocument | None,
    holders: dict[str, Person],
    checklist: Sequence[str],
) -> None:
    steps = playbook.steps if playbook else []
    for position, step in enumerate(steps):
        holder = holders.get(step.owner_role.value)
        incident.tasks.append(
            Task(
                position=position,
                source="playbook",
                step_key=step.key,
                title=step.title,
                details=step.details,
                hazard=step.hazard,
                owner_role=step.owner_role.value,
                assignee_id=holder.id if holder else None,
                requires_change_record=step.requires_change_record,
                due_at=incident.detected_at + timedelta(minutes=step.due_minutes),
                status=TaskStatus.OPEN.value,
            )
        )
    commander = holders.get(IcsRole.INCIDENT_COMMANDER.value)
    for offset, item in enumerate(checklist, start=len(steps)):
        incident.tasks.append(
            Task(
                position=offset,
                source="checklist",
                title=item,
                owner_role=IcsRole.INCIDENT_COMMANDER.value,
                assignee_id=commander.id if commander else None,
                status=TaskStatus.OPEN.value,
            )
        )
    session.flush()
    for task in incident.tasks:
        if task.due_at is not None:
            timers_service.schedule(
                session,
                clock=clock,
                kind=TimerKind.TASK_DUE,
                due_at=task.due_at,
                incident_id=incident.id,
                task_id=task.id,
            )


def subject_of(incident: Incident) -> str:
    return f"incident:{incident.id}"


def get(session: Session, incident_id: int) -> Incident | None:
    """Return an incident, or None."""
    return repository.get(session, incident_id)


def get_or_raise(session: Session, ref: str | int, *, for_update: bool = False) -> Incident:
    """Return an incident by id or reference (INC-00042), or raise NotFound."""
    incident_id = ref if isinstance(ref, int) else domain.parse_reference(ref)
    incident = repository.get(session, incident_id, for_update=for_update) if incident_id else None
    if incident is None:
        raise NotFound(f"no incident {ref!r}; see `coherence incident list`", field="incident")
    return incident


def may_take_role(incident: Incident, *, role: IcsRole, person_key: str, target: str) -> bool:
    """Return whether ``person_key`` is taking a free role themselves (which needs no command)."""
    if target != person_key:
        return False
    holder = next((r.person.key for r in incident.roles if r.role == role.value), None)
    return holder in (None, person_key)


def acknowledge(
    session: Session, *, clock: Clock, ref: str | int, actor: str, via: str
) -> Incident:
    """Acknowledge an incident: stop escalation and stamp the time; ``via`` names the channel."""
    return transition(
        session, clock=clock, ref=ref, target=Status.ACKNOWLEDGED, actor=actor, via=via
    )


def transition(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    target: Status,
    actor: str,
    note: str = "",
    via: str = "",
) -> Incident:
    """Move an incident through its lifecycle, refusing illegal moves."""
    incident = get_or_raise(session, ref, for_update=True)
    current = Status(incident.status)
    domain.check_transition(current, target)
    if target == Status.CLOSED:
        still_open = [t for t in incident.tasks if t.status == TaskStatus.OPEN.value]
        if still_open:
            listed = "; ".join(f"#{t.id} {t.title}" for t in still_open[:5])
            raise ValidationFailed(
                f"{len(still_open)} task(s) are still open; complete or skip them before "
                f"closing: {listed}",
                field="status",
            )
    if target == Status.CONTAINED:
        from coherence.containment import service as containment_service

        refusal = containment_service.containment_refusal(session, incident.id)
        if refusal:
            raise Conflict(refusal, field="status")
    now = clock.now()
    incident.status = target.value
    stamp = domain.stamp_to_set(
        target, {name: getattr(incident, name) for name in domain.STAMPS.values()}
    )
    if stamp is not None:
        setattr(incident, stamp, now)
    incident.updated_at = now
    if current == Status.DETECTED:
        timers_service.cancel(session, incident_id=incident.id, kind=TimerKind.ACK_ESCALATION)
    if target in (Status.RESOLVED, Status.CLOSED):
        timers_service.cancel(session, incident_id=incident.id, kind=TimerKind.TASK_DUE)
    entry_type = (
        EntryType.INCIDENT_ACKNOWLEDGED
        if target == Status.ACKNOWLEDGED
        else EntryType.INCIDENT_TRANSITIONED
    )
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=subject_of(incident),
        incident_id=incident.id,
        payload={"from": current.value, "to": target.value, "note": note}
        | ({"via": via} if via else {}),
    )
    session.flush()
    return incident


def reopen(session: Session, *, clock: Clock, ref: str | int, reason: str, actor: str) -> Incident:
    """Reopen a resolved or closed incident; it returns to acknowledged."""
    incident = get_or_raise(session, ref, for_update=True)
    current = Status(incident.status)
    domain.check_reopen(current)
    for stamp in domain.stamps_cleared_by_reopen():
        setattr(incident, stamp, None)
    incident.status = Status.ACKNOWLEDGED.value
    incident.updated_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_REOPENED,
        actor=actor,
        subject=subject_of(incident),
        incident_id=incident.id,
        payload={"from": current.value, "to": Status.ACKNOWLEDGED.value, "reason": reason},
    )
    return incident


def assign_role(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    role: IcsRole,
    person_key: str,
    actor: str,
    policy: QualificationPolicy = QualificationPolicy.WARN,
    override_reason: str | None = None,
) -> Incident:
    """Give an ICS role on the incident to a person, reassign their open tasks, and tell them.

    A checked role given to someone not qualified is warned about or refused by ``policy``;
    ``override_reason`` lets it through either way, recorded (see training).
    """
    incident = get_or_raise(session, ref, for_update=True)
    person = catalog_service.get_person_or_raise(session, person_key)
    current = next((r for r in incident.roles if r.role == role.value), None)
    previous = current.person.key if current else None
    if previous == person.key:
        return incident
    training_service.check_assignment(
        session,
        clock=clock,
        person=person,
        role=role.value,
        incident_id=incident.id,
        policy=policy,
        override_reason=override_reason,
        actor=actor,
    )
    now = clock.now()
    if current is None:
        incident.roles.append(RoleAssignment(role=role.value, person_id=person.id, assigned_at=now))
    else:
        current.person = person
        current.assigned_at = now
    for task in incident.tasks:
        if task.owner_role == role.value and task.status == TaskStatus.OPEN.value:
            task.assignee_id = person.id
    incident.updated_at = now
    session.flush()
    session.expire(incident, ["roles"])
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.ROLE_ASSIGNED,
        actor=actor,
        subject=subject_of(incident),
        incident_id=incident.id,
        payload={"role": role.value, "person": person.key, "previous": previous},
    )
    escalation.page(
        session,
        clock,
        incident,
        [person],
        actor=actor,
        why=f"you are now {role.value.replace('_', ' ')}",
        reason="role",
    )
    return incident


def get_task_or_raise(session: Session, task_id: int) -> Task:
    """Return a task by id, or raise NotFound."""
    task = repository.get_task(session, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}; see `coherence task list INCIDENT`", field="task")
    return task


def update_task(
    session: Session, *, clock: Clock, task_id: int, status: TaskStatus, note: str, actor: str
) -> Task:
    """Complete, skip or reopen a task."""
    task = get_task_or_raise(session, task_id)
    incident = get_or_raise(session, task.incident_id, for_update=True)
    if Status(incident.status) == Status.CLOSED:
        raise ValidationFailed("the incident is closed; reopen it to change tasks", field="task")
    if TaskStatus(task.status) == status:
        raise ValidationFailed(f"task {task_id} is already {status.value}", field="status")
    if status == TaskStatus.SKIPPED and not note.strip():
        raise ValidationFailed("say why the task is skipped", field="note")
    now = clock.now()
    task.status = status.value
    task.note = note or task.note
    if status == TaskStatus.OPEN:
        task.completed_at = task.completed_by = None
        task.overdue_at = None
        if task.due_at is not None and Status(incident.status) in domain.OPEN_STATUSES:
            # A reopened task is watched again: overdue at once if its time has passed.
            timers_service.schedule(
                session,
                clock=clock,
                kind=TimerKind.TASK_DUE,
                due_at=max(task.due_at, now),
                incident_id=incident.id,
                task_id=task.id,
            )
        entry_type = EntryType.TASK_REOPENED
    else:
        task.completed_at, task.completed_by = now, actor
        timers_service.cancel(
            session, incident_id=incident.id, kind=TimerKind.TASK_DUE, task_id=task.id
        )
        entry_type = EntryType.TASK_COMPLETED
    incident.updated_at = now
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=f"task:{task.id}",
        incident_id=incident.id,
        payload={"task": task.id, "title": task.title, "status": status.value, "note": note},
    )
    return task


def raise_severity(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    impact: str,
    urgency: str,
    reason: str,
    actor: str,
) -> bool:
    """Reclassify to ``impact`` x ``urgency`` if that is worse; return whether it changed."""
    incident = get_or_raise(session, ref, for_update=True)
    scheme = standard_scheme()
    proposed = scheme.severity_for(impact=impact, urgency=urgency)
    if proposed.rank >= scheme.severities[incident.severity].rank:
        return False
    previous = incident.severity
    incident.impact, incident.urgency, incident.severity = impact, urgency, proposed.key
    incident.updated_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_RECLASSIFIED,
        actor=actor,
        subject=subject_of(incident),
        incident_id=incident.id,
        payload={
            "from": previous,
            "to": proposed.key,
            "impact": impact,
            "urgency": urgency,
            "reason": reason,
        },
    )
    return True


def is_open(session: Session, incident_id: int) -> bool:
    """Return whether an incident exists and is not resolved or closed."""
    incident = repository.get(session, incident_id)
    return incident is not None and Status(incident.status) in domain.OPEN_STATUSES


def find_open(
    session: Session, *, asset: str, playbook: str | None, kind: str | None = None
) -> int | None:
    """Return the id of the newest open incident on ``asset`` from ``playbook``, of ``kind``."""
    incident = repository.open_for(session, asset_key=asset, playbook=playbook, kind=kind)
    return incident.id if incident else None
