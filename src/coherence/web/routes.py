"""Dashboard routes: the incident board, the incident page and the forms that act on them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Query, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from coherence.catalog.models import Person
from coherence.comms import service as comms_service
from coherence.errors import CoherenceError, NotFound
from coherence.http import ClockDep, SessionDep
from coherence.incidents import service as incidents_service
from coherence.incidents import views
from coherence.incidents.domain import OPEN_STATUSES, Status, reference
from coherence.incidents.schemas import (
    DecisionCreate,
    NoteCreate,
    ReopenRequest,
    TaskUpdate,
    TransitionRequest,
)
from coherence.web import acks, auth, status
from coherence.web.auth import WebPerson, same_origin
from coherence.web.forms import parse
from coherence.web.rendering import STATIC, build_templates, render, render_error, render_incident

BOARD_LIMIT = views.MAX_PAGE
# Phases in lifecycle order, so the board's filter reads like the lifecycle.
OPEN_IN_ORDER = [s for s in Status if s in OPEN_STATUSES]

FormText = Annotated[str | None, Form()]

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


def mount_web(app: FastAPI) -> None:
    """Add the dashboard pages and static files to ``app``."""
    app.state.web_templates = build_templates()
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(auth.router)
    app.include_router(acks.router)
    app.include_router(status.router)
    app.include_router(router)
    app.add_exception_handler(auth.LoginRequired, auth.login_required_handler)
    app.add_exception_handler(auth.CrossOriginRefused, auth.cross_origin_handler)


@router.get("/")
def board(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    show_all: Annotated[bool, Query(alias="all")] = False,
) -> Response:
    """Show open incidents newest first (all incidents with ``?all=1``)."""
    statuses = [] if show_all else OPEN_IN_ORDER
    page = views.incident_page(session, statuses=statuses, limit=BOARD_LIMIT)
    unacknowledged = [i for i in page.items if i.status == Status.DETECTED]
    failed = comms_service.failed_pages(session, [i.id for i in page.items])
    context = {
        "page": page,
        "failed_pages": [(i, failed[i.id]) for i in page.items if i.id in failed],
        "show_all": show_all,
        "unacknowledged": unacknowledged,
        "now": clock.now(),
    }
    return render(request, "board.html", context, person=person)


@router.get("/incidents/{ref}")
def incident_page(request: Request, ref: str, session: SessionDep, person: WebPerson) -> Response:
    """Show one incident: phase, roles, tasks, timeline, forms and metrics so far."""
    return render_incident(request, session, person, ref)


def _act(
    request: Request,
    session: Session,
    person: Person,
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
        return render_incident(request, session, person, ref, error=error, values=values)
    return RedirectResponse(f"/incidents/{reference(incident_id)}{anchor}", status_code=303)


@router.post("/incidents/{ref}/ack")
def acknowledge(
    request: Request, ref: str, session: SessionDep, clock: ClockDep, person: WebPerson
) -> Response:
    """Acknowledge the incident."""

    def change() -> int:
        return incidents_service.acknowledge(
            session, clock=clock, ref=ref, actor=person.key, via="dashboard"
        ).id

    return _act(request, session, person, ref, change)


@router.post("/incidents/{ref}/transition")
def transition(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    status: FormText = None,
    note: FormText = None,
) -> Response:
    """Move the incident to the phase named by the button pressed."""

    def change() -> int:
        body = parse(TransitionRequest, status=status, note=note)
        return incidents_service.transition(
            session, clock=clock, ref=ref, target=body.status, actor=person.key, note=body.note
        ).id

    return _act(request, session, person, ref, change, values={"transition_note": note})


@router.post("/incidents/{ref}/reopen")
def reopen(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    reason: FormText = None,
) -> Response:
    """Reopen a resolved or closed incident, giving a reason."""

    def change() -> int:
        body = parse(ReopenRequest, reason=reason)
        return incidents_service.reopen(
            session, clock=clock, ref=ref, reason=body.reason, actor=person.key
        ).id

    return _act(request, session, person, ref, change, values={"reason": reason})


@router.post("/incidents/{ref}/note")
def add_note(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    text: FormText = None,
) -> Response:
    """Add a note to the timeline."""

    def change() -> int:
        body = parse(NoteCreate, text=text)
        return incidents_service.add_note(
            session, clock=clock, ref=ref, text=body.text, actor=person.key
        ).id

    return _act(request, session, person, ref, change, values={"text": text}, anchor="#timeline")


@router.post("/incidents/{ref}/decide")
def record_decision(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    decision: FormText = None,
    rationale: FormText = None,
    decided_by: FormText = None,
) -> Response:
    """Record a decision, its rationale and who took it (default: you)."""

    def change() -> int:
        body = parse(
            DecisionCreate, decision=decision, rationale=rationale, decided_by=decided_by or None
        )
        return incidents_service.record_decision(
            session,
            clock=clock,
            ref=ref,
            decision=body.decision,
            rationale=body.rationale,
            decided_by=body.decided_by,
            actor=person.key,
        ).id

    values = {"decision": decision, "rationale": rationale, "decided_by": decided_by}
    return _act(request, session, person, ref, change, values=values, anchor="#timeline")


@router.post("/tasks/{task_id}")
def update_task(
    request: Request,
    task_id: int,
    session: SessionDep,
    clock: ClockDep,
    person: WebPerson,
    status: FormText = None,
    note: FormText = None,
) -> Response:
    """Mark a task done, skipped (with a reason) or open again."""
    try:
        incident_id = incidents_service.get_task_or_raise(session, task_id).incident_id
    except NotFound as missing:
        return render_error(request, missing, person=person)

    def change() -> int:
        body = parse(TaskUpdate, status=status, note=note or "")
        incidents_service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=body.status,
            note=body.note,
            actor=person.key,
        )
        return incident_id

    values = {f"task_note_{task_id}": note}
    return _act(
        request, session, person, incident_id, change, values=values, anchor=f"#task-{task_id}"
    )
