"""Dashboard routes: the incident board, the incident page and the forms that act on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.comms import service as comms_service
from coherence.containment import pages as containment_pages
from coherence.errors import CoherenceError
from coherence.http import ClockDep, SessionDep
from coherence.incidents import metrics_views, views
from coherence.incidents import records as incident_records
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import OPEN_STATUSES, Status, reference
from coherence.incidents.schemas import (
    DecisionCreate,
    NoteCreate,
    ReopenRequest,
    TaskUpdate,
    TransitionRequest,
)
from coherence.recovery import pages as recovery_pages
from coherence.reviews import pages as review_pages
from coherence.web import (
    acks,
    auth,
    facility,
    live,
    partners_page,
    playbooks_page,
    reports,
    roles,
    statements_page,
    status,
)
from coherence.web.auth import same_origin
from coherence.web.forms import parse
from coherence.web.guards import (
    PageCommands,
    PageLists,
    PageReads,
    PageRecords,
    PageRefused,
    PageReopens,
    page_refused_handler,
)
from coherence.web.rendering import (
    STATIC,
    browser_error_page,
    build_templates,
    render,
    render_incident,
)

BOARD_LIMIT = views.MAX_PAGE
# Phases in lifecycle order, so the board's filter reads like the lifecycle.
OPEN_IN_ORDER = [s for s in Status if s in OPEN_STATUSES]

FormText = Annotated[str | None, Form()]

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


def mount_web(app: FastAPI) -> None:
    """Add the dashboard pages and static files to ``app``."""
    app.state.web_templates = build_templates()
    app.state.error_page = browser_error_page
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(acks.router)
    app.include_router(status.router)
    app.include_router(live.router)
    app.include_router(facility.router)
    app.include_router(reports.router)
    app.include_router(partners_page.router)
    app.include_router(statements_page.router)
    app.include_router(playbooks_page.router)
    app.include_router(roles.router)
    app.include_router(router)
    app.include_router(review_pages.router)
    app.include_router(metrics_views.router)
    app.include_router(containment_pages.router)
    app.include_router(recovery_pages.router)
    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)
    app.add_exception_handler(auth.CrossOriginRefused, auth.cross_origin_handler)
    app.add_exception_handler(PageRefused, page_refused_handler)


@router.get("/")
def board(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    caller: PageLists,
    show_all: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """Show the open incidents you may see, newest first (all of them with ``?all=1``)."""
    statuses = [] if show_all else OPEN_IN_ORDER
    page = views.incident_page(
        session,
        statuses=statuses,
        limit=BOARD_LIMIT,
        visible=lambda incident: caller.can(Action.READ, incident),
    )
    unacknowledged = [i for i in page.items if i.status == Status.DETECTED]
    failed = comms_service.failed_pages(session, [i.id for i in page.items])
    context = {
        "page": page,
        "failed_pages": [(i, failed[i.id]) for i in page.items if i.id in failed],
        "show_all": show_all,
        "unacknowledged": unacknowledged,
        "now": clock.now(),
    }
    return render(request, "board.html", context, person=caller.person)


@router.get("/incidents/{ref}")
def incident_page(request: Request, ref: str, session: SessionDep, caller: PageReads) -> Response:
    """Show one incident: phase, roles, tasks, timeline, forms and metrics so far."""
    return render_incident(request, session, caller, ref)


def _act(
    request: Request,
    session: Session,
    caller: Caller,
    ref: str | int,
    change: Callable[[], int],
    *,
    values: dict[str, str | None] | None = None,
    anchor: str = "",
) -> Response:
    """Apply ``change`` (returning the incident id) and redirect, or re-render with the error."""
    try:
        incident_id = change()
        session.flush()
    except CoherenceError as error:
        # The session commits after the endpoint; roll back so a refused change writes nothing.
        session.rollback()
        return render_incident(request, session, caller, ref, error=error, values=values)
    return RedirectResponse(f"/incidents/{reference(incident_id)}{anchor}", status_code=303)


@router.post("/incidents/{ref}/ack")
def acknowledge(
    request: Request, ref: str, session: SessionDep, clock: ClockDep, caller: PageRecords
) -> Response:
    """Acknowledge the incident."""

    def change() -> int:
        return incidents_service.acknowledge(
            session, clock=clock, ref=ref, actor=caller.person.key, via="dashboard"
        ).id

    return _act(request, session, caller, ref, change)


@router.post("/incidents/{ref}/transition")
def transition(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    caller: PageCommands,
    status: FormText = None,
    note: FormText = None,
) -> Response:
    """Move the incident to the phase named by the button pressed."""

    def change() -> int:
        body = parse(TransitionRequest, status=status, note=note)
        if body.status is Status.CLOSED:
            caller.require(Action.CLOSE, caller.target)
        return incidents_service.transition(
            session,
            clock=clock,
            ref=ref,
            target=body.status,
            actor=caller.person.key,
            note=body.note,
        ).id

    return _act(request, session, caller, ref, change, values={"transition_note": note})


@router.post("/incidents/{ref}/reopen")
def reopen(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    caller: PageReopens,
    reason: FormText = None,
) -> Response:
    """Reopen a resolved or closed incident, giving a reason."""

    def change() -> int:
        body = parse(ReopenRequest, reason=reason)
        return incidents_service.reopen(
            session, clock=clock, ref=ref, reason=body.reason, actor=caller.person.key
        ).id

    return _act(request, session, caller, ref, change, values={"reason": reason})


@router.post("/incidents/{ref}/note")
def add_note(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    caller: PageRecords,
    text: FormText = None,
) -> Response:
    """Add a note to the timeline."""

    def change() -> int:
        body = parse(NoteCreate, text=text)
        return incident_records.add_note(
            session, clock=clock, ref=ref, text=body.text, actor=caller.person.key
        ).id

    return _act(request, session, caller, ref, change, values={"text": text}, anchor="#timeline")


@router.post("/incidents/{ref}/decide")
def record_decision(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    caller: PageRecords,
    decision: FormText = None,
    rationale: FormText = None,
    decided_by: FormText = None,
) -> Response:
    """Record a decision, its rationale and who took it (default: you)."""

    def change() -> int:
        body = parse(
            DecisionCreate, decision=decision, rationale=rationale, decided_by=decided_by or None
        )
        return incident_records.record_decision(
            session,
            clock=clock,
            ref=ref,
            decision=body.decision,
            rationale=body.rationale,
            decided_by=body.decided_by,
            actor=caller.person.key,
        ).id

    values = {"decision": decision, "rationale": rationale, "decided_by": decided_by}
    return _act(request, session, caller, ref, change, values=values, anchor="#timeline")


@router.post("/tasks/{task_id}")
def update_task(
    request: Request,
    task_id: int,
    session: SessionDep,
    clock: ClockDep,
    caller: PageRecords,
    status: FormText = None,
    note: FormText = None,
) -> Response:
    """Mark a task done, skipped (with a reason) or open again."""
    incident_id = caller.target.id

    def change() -> int:
        body = parse(TaskUpdate, status=status, note=note or "")
        incidents_service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=body.status,
            note=body.note,
            actor=caller.person.key,
        )
        return incident_id

    values = {f"task_note_{task_id}": note}
    return _act(
        request, session, caller, incident_id, change, values=values, anchor=f"#task-{task_id}"
    )
