"""Dashboard pages: an incident's review with its forms, and the playbook review list."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.console import validated_text
from coherence.documents import load_yaml_mapping
from coherence.errors import CoherenceError
from coherence.http import SessionDep
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.reviews import changes, service, views
from coherence.reviews.domain import FindingStatus
from coherence.reviews.schemas import (
    Decision,
    FindingCreate,
    FindingUpdate,
    PlaybookReviewCreate,
)
from coherence.web.auth import same_origin
from coherence.web.forms import parse
from coherence.web.guards import AllowPage, PageReads, PageRecords
from coherence.web.rendering import render, render_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
FormText = Annotated[str | None, Form()]
PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]
PageManagesFacility = Annotated[Caller, Depends(AllowPage(Action.MANAGE_FACILITY))]


def _review_page(
    request: Request, caller: Caller, ref: str, error: CoherenceError | None = None
) -> Response:
    session = caller.session
    try:
        incident, review = service.get_review(session, ref)
    except CoherenceError as missing:
        return render_error(request, missing, person=caller.person)
    now = caller.clock.now()
    context = {
        "incident": incident,
        "reference": reference(incident.id),
        "review": views.review_read(session, incident, review, now=now) if review else None,
        "can_record": caller.can(Action.RECORD, incident),
        "can_approve": caller.can(Action.MANAGE_FACILITY, None),
        "statuses": list(FindingStatus),
        "error": error,
    }
    status = error.status_code if error is not None else 200
    return render(request, "review.html", context, person=caller.person, status_code=status)


def _act(request: Request, caller: Caller, ref: str, change: Callable[[], object]) -> Response:
    """Apply ``change`` and go back to the review, or show the page again with the error."""
    try:
        change()
        caller.session.flush()
    except CoherenceError as error:
        caller.session.rollback()
        return _review_page(request, caller, ref, error)
    incident = incidents_service.get_or_raise(caller.session, ref)
    return RedirectResponse(f"/incidents/{reference(incident.id)}/review", status_code=303)


@router.get("/incidents/{ref}/review")
def review_page(request: Request, ref: str, caller: PageReads) -> Response:
    """Show the incident's review: findings, owners, proposed changes and their diffs."""
    return _review_page(request, caller, ref)


@router.post("/incidents/{ref}/review/findings")
def add_finding(
    request: Request,
    ref: str,
    caller: PageRecords,
    title: FormText = None,
    what_happened: FormText = None,
    owner: FormText = None,
    due_on: FormText = None,
) -> Response:
    """Record a finding."""

    def change() -> object:
        body = parse(
            FindingCreate,
            title=title,
            what_happened=what_happened,
            owner=owner,
            due_on=due_on or None,
        )
        return service.add_finding(
            caller.session, clock=caller.clock, ref=ref, request=body, actor=caller.person.key
        )

    return _act(request, caller, ref, change)


@router.post("/incidents/{ref}/review/findings/{number}")
def update_finding(
    request: Request,
    ref: str,
    number: int,
    caller: PageRecords,
    status: FormText = None,
    reason: FormText = None,
) -> Response:
    """Move a finding to another status (won't-do with a reason)."""

    def change() -> object:
        fields = {"status": status, "reason": reason or None}
        body = parse(FindingUpdate, **{k: v for k, v in fields.items() if v is not None})
        return service.update_finding(
            caller.session,
            clock=caller.clock,
            ref=ref,
            number=number,
            request=body,
            actor=caller.person.key,
        )

    return _act(request, caller, ref, change)


@router.post("/incidents/{ref}/review/findings/{number}/change")
def propose_change(
    request: Request,
    ref: str,
    number: int,
    caller: PageRecords,
    rationale: FormText = None,
    document: FormText = None,
) -> Response:
    """Propose a new playbook version (YAML) for a finding."""

    def change() -> object:
        text = validated_text(rationale or "", "rationale")
        data = load_yaml_mapping(document or "", source="document")
        return changes.propose(
            caller.session,
            clock=caller.clock,
            ref=ref,
            number=number,
            rationale=text.strip(),
            document=data,
            actor=caller.person.key,
        )

    return _act(request, caller, ref, change)


@router.post("/incidents/{ref}/review/findings/{number}/change/submit")
def submit_change(request: Request, ref: str, number: int, caller: PageRecords) -> Response:
    """Send the draft change for review."""
    return _act(
        request,
        caller,
        ref,
        lambda: changes.submit(
            caller.session, clock=caller.clock, ref=ref, number=number, actor=caller.person.key
        ),
    )


def _decide(
    request: Request,
    caller: Caller,
    ref: str,
    number: int,
    note: str | None,
    act: Callable[..., object],
) -> Response:
    def change() -> object:
        caller.require(Action.READ, incidents_service.get_or_raise(caller.session, ref))
        body = parse(Decision, note=note or "")
        return act(
            caller.session,
            clock=caller.clock,
            ref=ref,
            number=number,
            note=body.note,
            actor=caller.person.key,
        )

    return _act(request, caller, ref, change)


@router.post("/incidents/{ref}/review/findings/{number}/change/approve")
def approve_change(
    request: Request, ref: str, number: int, caller: PageManagesFacility, note: FormText = None
) -> Response:
    """Approve the change in review, publishing it as the playbook's next version."""
    return _decide(request, caller, ref, number, note, changes.approve)


@router.post("/incidents/{ref}/review/findings/{number}/change/reject")
def reject_change(
    request: Request, ref: str, number: int, caller: PageManagesFacility, note: FormText = None
) -> Response:
    """Reject the change in review, saying why."""
    return _decide(request, caller, ref, number, note, changes.reject)


def _playbooks_page(
    request: Request, session: Session, caller: Caller, error: CoherenceError | None = None
) -> Response:
    standings = [views.standing_read(s) for s in changes.standings(session, now=caller.clock.now())]
    pending = [
        views.change_read(session, c)
        for c in changes.pending(session)
        if caller.can(Action.READ, c.finding.review.incident)
    ]
    context = {
        "standings": standings,
        "overdue": [s for s in standings if s.overdue],
        "pending": pending,
        "can_manage": caller.can(Action.MANAGE_FACILITY, None),
        "error": error,
    }
    status = error.status_code if error is not None else 200
    return render(
        request, "playbook_reviews.html", context, person=caller.person, status_code=status
    )


@router.get("/playbook-reviews")
def playbook_reviews(request: Request, session: SessionDep, caller: PageReadsFacility) -> Response:
    """List playbooks by review due date, overdue ones flagged, and changes awaiting review."""
    return _playbooks_page(request, session, caller)


@router.post("/playbook-reviews")
def record_review(
    request: Request,
    session: SessionDep,
    caller: PageManagesFacility,
    playbook: FormText = None,
    note: FormText = None,
) -> Response:
    """Record that a playbook was reviewed and needs no change."""
    try:
        body = parse(PlaybookReviewCreate, playbook=playbook, note=note or "")
        changes.record_review(
            session, clock=caller.clock, key=body.playbook, note=body.note, actor=caller.person.key
        )
        session.flush()
    except CoherenceError as error:
        session.rollback()
        return _playbooks_page(request, session, caller, error)
    return RedirectResponse("/playbook-reviews", status_code=303)
