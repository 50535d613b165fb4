"""Read models: incidents, tasks, timeline and metrics as the API, CLI and pages show them."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from sqlalchemy.orm import Session

from coherence.access.domain import Tlp
from coherence.incidents import domain, repository
from coherence.incidents.domain import Kind, Stamps, Status, TaskStatus
from coherence.incidents.models import Incident, Task
from coherence.incidents.schemas import (
    IncidentDetail,
    IncidentPage,
    IncidentRead,
    MetricsSummary,
    TaskRead,
    TimelineEntry,
)
from coherence.ledger import service as ledger_service

MAX_PAGE = 200


def task_read(task: Task) -> TaskRead:
    """Return a task's read model."""
    return TaskRead(
        id=task.id,
        position=task.position,
        source=task.source,
        step_key=task.step_key,
        title=task.title,
        details=task.details,
        hazard=task.hazard,
        owner_role=task.owner_role,
        assignee=task.assignee.key if task.assignee else None,
        requires_change_record=task.requires_change_record,
        due_at=task.due_at,
        status=TaskStatus(task.status),
        overdue=task.overdue_at is not None and task.status == TaskStatus.OPEN.value,
        completed_at=task.completed_at,
        completed_by=task.completed_by,
        note=task.note,
    )


def incident_read(incident: Incident) -> IncidentRead:
    """Return an incident's read model without its tasks."""
    status = Status(incident.status)
    open_tasks = [t for t in incident.tasks if t.status == TaskStatus.OPEN.value]
    return IncidentRead(
        id=incident.id,
        reference=domain.reference(incident.id),
        title=incident.title,
        summary=incident.summary,
        kind=Kind(incident.kind),
        status=status,
        category=incident.category,
        severity=incident.severity,
        impact=incident.impact,
        urgency=incident.urgency,
        asset=incident.asset.key,
        site=incident.site.key,
        playbook=incident.playbook_key,
        playbook_version=incident.playbook_version,
        escalation_level=incident.escalation_level + 1,
        opened_by=incident.opened_by,
        occurred_at=incident.occurred_at,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        contained_at=incident.contained_at,
        recovering_at=incident.recovering_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
        roles={r.role: r.person.key for r in sorted(incident.roles, key=lambda r: r.role)},
        tlp=Tlp(incident.tlp),
        tlp_recipients=list(incident.tlp_recipients or []),
        open_tasks=len(open_tasks),
        overdue_tasks=sum(1 for t in open_tasks if t.overdue_at is not None),
        allowed_transitions=sorted(domain.TRANSITIONS[status]),
        metrics=domain.incident_metrics(stamps_of(incident)),
    )


def incident_detail(incident: Incident) -> IncidentDetail:
    """Return an incident's read model with every task."""
    return IncidentDetail(
        **incident_read(incident).model_dump(), tasks=[task_read(t) for t in incident.tasks]
    )


def stamps_of(incident: Incident) -> Stamps:
    """Return the raw timestamps of an incident."""
    return Stamps(
        occurred_at=incident.occurred_at,
        detected_at=incident.detected_at,
        acknowledged_at=incident.acknowledged_at,
        contained_at=incident.contained_at,
        recovering_at=incident.recovering_at,
        resolved_at=incident.resolved_at,
        closed_at=incident.closed_at,
    )


def incident_page(
    session: Session,
    *,
    statuses: Sequence[Status] = (),
    kinds: Sequence[Kind] = (),
    limit: int = 50,
    offset: int = 0,
    visible: Callable[[Incident], bool] | None = None,
) -> IncidentPage:
    """Return one page of incidents, newest first, keeping only those ``visible`` accepts."""
    limit = max(1, min(limit, MAX_PAGE))
    offset = max(0, offset)
    status_values = [s.value for s in statuses]
    kind_values = [k.value for k in kinds]
    if visible is None:
        rows, total = repository.page(
            session, statuses=status_values, kinds=kind_values, limit=limit, offset=offset
        )
    else:
        # Visibility depends on roles, labels and agreements, so it is decided per incident.
        everything, _ = repository.page(
            session, statuses=status_values, kinds=kind_values, limit=None, offset=0
        )
        seen = [incident for incident in everything if visible(incident)]
        rows, total = seen[offset : offset + limit], len(seen)
    return IncidentPage(
        items=[incident_read(r) for r in rows], total=total, limit=limit, offset=offset
    )


def timeline(session: Session, incident_id: int, *, limit: int = 1000) -> list[TimelineEntry]:
    """Return the incident's ledger entries, oldest first."""
    return [
        TimelineEntry(
            seq=e.seq,
            at=e.recorded_at,
            type=e.entry_type,
            actor=e.actor,
            payload=ledger_service.payload_of(e),
        )
        for e in ledger_service.list_entries(session, incident_id=incident_id, limit=limit)
    ]


def metrics_summary(session: Session, *, kind: Kind = Kind.REAL) -> MetricsSummary:
    """Aggregate response metrics over incidents of one kind (real by default)."""
    incidents = repository.of_kind(session, kind.value)
    return MetricsSummary(
        incidents=len(incidents),
        metrics=domain.aggregate_metrics(domain.incident_metrics(stamps_of(i)) for i in incidents),
        descriptions=dict(domain.METRIC_DESCRIPTIONS),
    )
