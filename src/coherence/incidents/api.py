"""Incident HTTP API: open, drive through the lifecycle, staff, record, and measure."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request

from coherence.access.api import (
    Commands,
    ListsIncidents,
    OpensIncident,
    Reads,
    ReadsFacility,
    Records,
    Reopens,
    redact_timeline,
)
from coherence.access.policy import Action
from coherence.http import ERROR_RESPONSES, ClockDep, SessionDep
from coherence.incidents import metrics_api, service, views
from coherence.incidents import records as incident_records
from coherence.incidents.domain import Kind, Status
from coherence.incidents.schemas import (
    DecisionCreate,
    IncidentCreate,
    IncidentDetail,
    IncidentPage,
    LabelRequest,
    MetricsSummary,
    NoteCreate,
    ReopenRequest,
    RoleAssign,
    TaskRead,
    TaskUpdate,
    TimelineEntry,
    TransitionRequest,
)

router = APIRouter(prefix="/api/v1", tags=["incidents"], responses=ERROR_RESPONSES)
REF = "Incident id or reference, e.g. 42 or INC-00042."


@router.post(
    "/incidents", response_model=IncidentDetail, status_code=201, summary="Open an incident"
)
def open_incident(
    body: IncidentCreate, session: SessionDep, clock: ClockDep, caller: OpensIncident
) -> IncidentDetail:
    """Open, classify and staff an incident; its playbook steps become tasks with due times."""
    incident = service.open_incident(session, clock=clock, request=body, actor=caller.person.key)
    return views.incident_detail(incident)


@router.get("/incidents", response_model=IncidentPage, summary="List incidents")
def list_incidents(
    session: SessionDep,
    caller: ListsIncidents,
    status: list[Status] = Query(default_factory=list, description="Only these phases."),
    kind: list[Kind] = Query(default_factory=list, description="Only these kinds."),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=1_000_000),
) -> IncidentPage:
    """Incidents, newest first."""
    return views.incident_page(
        session,
        statuses=status,
        kinds=kind,
        limit=limit,
        offset=offset,
        visible=lambda incident: caller.can(Action.READ, incident),
    )


@router.get("/incidents/{ref}", response_model=IncidentDetail, summary="Show an incident")
def get_incident(ref: str, session: SessionDep, _caller: Reads) -> IncidentDetail:
    """One incident with its roles, tasks, allowed moves and metrics so far."""
    return views.incident_detail(service.get_or_raise(session, ref))


@router.post(
    "/incidents/{ref}/ack", response_model=IncidentDetail, summary="Acknowledge an incident"
)
def acknowledge(ref: str, session: SessionDep, clock: ClockDep, caller: Records) -> IncidentDetail:
    """Acknowledge: stops escalation and stamps the time to acknowledge."""
    return views.incident_detail(
        service.acknowledge(session, clock=clock, ref=ref, actor=caller.person.key, via="api")
    )


@router.post(
    "/incidents/{ref}/transition", response_model=IncidentDetail, summary="Move to another phase"
)
def transition(
    ref: str,
    body: TransitionRequest,
    session: SessionDep,
    clock: ClockDep,
    caller: Commands,
) -> IncidentDetail:
    """Move through detected, acknowledged, contained, recovering, resolved, closed."""
    if body.status is Status.CLOSED:
        caller.require(Action.CLOSE, caller.target)
    incident = service.transition(
        session, clock=clock, ref=ref, target=body.status, actor=caller.person.key, note=body.note
    )
    return views.incident_detail(incident)


@router.post("/incidents/{ref}/reopen", response_model=IncidentDetail, summary="Reopen an incident")
def reopen(
    ref: str, body: ReopenRequest, session: SessionDep, clock: ClockDep, caller: Reopens
) -> IncidentDetail:
    """Reopen a resolved or closed incident; it returns to acknowledged."""
    return views.incident_detail(
        service.reopen(session, clock=clock, ref=ref, reason=body.reason, actor=caller.person.key)
    )


@router.post(
    "/incidents/{ref}/notes",
    response_model=list[TimelineEntry],
    status_code=201,
    summary="Add a note",
)
def add_note(
    ref: str, body: NoteCreate, session: SessionDep, clock: ClockDep, caller: Records
) -> list[TimelineEntry]:
    """Add a note to the timeline; returns the timeline."""
    incident = incident_records.add_note(
        session,
        clock=clock,
        ref=ref,
        text=body.text,
        actor=caller.person.key,
        category=body.category,
    )
    return redact_timeline(caller, views.timeline(session, incident.id))


@router.post(
    "/incidents/{ref}/decisions",
    response_model=list[TimelineEntry],
    status_code=201,
    summary="Record a decision",
)
def record_decision(
    ref: str, body: DecisionCreate, session: SessionDep, clock: ClockDep, caller: Records
) -> list[TimelineEntry]:
    """Record a decision with its rationale and who took it; returns the timeline."""
    incident = incident_records.record_decision(
        session,
        clock=clock,
        ref=ref,
        decision=body.decision,
        rationale=body.rationale,
        decided_by=body.decided_by,
        category=body.category,
        actor=caller.person.key,
    )
    return redact_timeline(caller, views.timeline(session, incident.id))


@router.post("/incidents/{ref}/roles", response_model=IncidentDetail, summary="Assign a role")
def assign_role(
    ref: str,
    body: RoleAssign,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    caller: Records,
) -> IncidentDetail:
    """Give an ICS role to a person; their open tasks for that role follow them.

    Anyone who may add to the record may take a free role; handing a role to someone else,
    or taking command from a sitting commander, is for the incident commander. A checked role
    for someone not qualified is warned about, or refused (422 on `person`) under
    COHERENCE_QUALIFICATION_POLICY=refuse unless `override_reason` says why (recorded)."""
    if not service.may_take_role(
        caller.target, role=body.role, person_key=caller.person.key, target=body.person
    ):
        caller.require(Action.COMMAND, caller.target)
    incident = service.assign_role(
        session,
        clock=clock,
        ref=ref,
        role=body.role,
        person_key=body.person,
        actor=caller.person.key,
        policy=request.app.state.settings.qualification_policy,
        override_reason=body.override_reason,
    )
    return views.incident_detail(incident)


@router.post("/incidents/{ref}/label", response_model=IncidentDetail, summary="Set the TLP label")
def label(
    ref: str, body: LabelRequest, session: SessionDep, clock: ClockDep, caller: Commands
) -> IncidentDetail:
    """Label the incident TLP:CLEAR, GREEN, AMBER, AMBER+STRICT or RED. RED limits it to the
    named recipients (the caller and current role holders included); partners never see
    AMBER+STRICT or anything above their agreement's ceiling."""
    incident = incident_records.label(
        session,
        clock=clock,
        ref=ref,
        tlp=body.tlp,
        recipients=body.recipients,
        actor=caller.person.key,
    )
    return views.incident_detail(incident)


@router.get(
    "/incidents/{ref}/timeline", response_model=list[TimelineEntry], summary="Incident timeline"
)
def timeline(ref: str, session: SessionDep, caller: Reads) -> list[TimelineEntry]:
    """Every recorded change, note and decision about the incident, oldest first."""
    return redact_timeline(caller, views.timeline(session, caller.target.id))


@router.get("/incidents/{ref}/tasks", response_model=list[TaskRead], summary="Incident tasks")
def tasks(ref: str, session: SessionDep, _caller: Reads) -> list[TaskRead]:
    """The incident's tasks in playbook order, with due times and owners."""
    return [views.task_read(t) for t in service.get_or_raise(session, ref).tasks]


@router.patch("/tasks/{task_id}", response_model=TaskRead, summary="Complete or skip a task")
def update_task(
    task_id: int, body: TaskUpdate, session: SessionDep, clock: ClockDep, caller: Records
) -> TaskRead:
    """Mark a task done, skipped (with a reason) or open again."""
    task = service.update_task(
        session,
        clock=clock,
        task_id=task_id,
        status=body.status,
        note=body.note,
        actor=caller.person.key,
    )
    return views.task_read(task)


@router.get("/metrics", response_model=MetricsSummary, summary="Response metrics")
def metrics(
    session: SessionDep,
    _caller: ReadsFacility,
    kind: Kind = Query(Kind.REAL, description="real (default), exercise or test."),
) -> MetricsSummary:
    """Time to detect, acknowledge, contain, recover and close, over incidents of one kind."""
    return views.metrics_summary(session, kind=kind)


router.include_router(metrics_api.router)
