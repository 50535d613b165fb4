"""Dashboard pages: report a near miss in a short form, follow its review, search lessons."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.errors import CoherenceError
from coherence.learning import api as learning_api
from coherence.learning import lessons, summary, views
from coherence.learning import service as near_misses
from coherence.learning.domain import near_miss_reference
from coherence.learning.schemas import NearMissCreate
from coherence.playbooks.domain import standard_scheme
from coherence.reviews.schemas import FindingCreate
from coherence.training.pages import render_page
from coherence.web.auth import same_origin
from coherence.web.forms import parse
from coherence.web.guards import AllowPage
from coherence.web.rendering import render_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]
PageOpensIncident = Annotated[Caller, Depends(AllowPage(Action.OPEN_INCIDENT))]
FormText = Annotated[str | None, Form()]
PACKAGE = "coherence.learning"


def _list_page(request: Request, caller: Caller, problem: CoherenceError | None = None) -> Response:
    session = caller.session
    rows = near_misses.list_near_misses(session, limit=100)
    page = render_page(
        request,
        PACKAGE,
        "near_misses.html",
        caller,
        near_misses=[views.near_miss_read(session, r, now=caller.clock.now()) for r in rows],
        categories=list(standard_scheme().categories.values()),
        sites=catalog_service.list_sites(session),
        problem=problem,
    )
    if problem is not None:
        page.status_code = problem.status_code
    return page


@router.get("/near-misses")
def near_misses_page(request: Request, caller: PageReadsFacility) -> Response:
    """Report a near miss in a few words, and see those reported and their reviews."""
    return _list_page(request, caller)


@router.post("/near-misses")
def report_near_miss(
    request: Request,
    caller: PageReadsFacility,
    what_happened: FormText = None,
    category: FormText = None,
    site: FormText = None,
    asset: FormText = None,
    anonymous: FormText = None,
) -> Response:
    """Report a near miss from the short form; anonymous keeps the reporter nowhere."""
    try:
        body = parse(
            NearMissCreate,
            what_happened=what_happened,
            category=category,
            site=site or None,
            asset=asset or None,
            anonymous=anonymous == "on",
        )
        row = near_misses.report(
            caller.session, clock=caller.clock, request=body, actor=caller.person.key
        )
        caller.session.flush()
    except CoherenceError as error:
        caller.session.rollback()
        return _list_page(request, caller, error)
    return RedirectResponse(f"/near-misses/{near_miss_reference(row.id)}", status_code=303)


def _detail(
    request: Request, caller: Caller, ref: str, problem: CoherenceError | None = None
) -> Response:
    try:
        row = near_misses.get_or_raise(caller.session, ref)
    except CoherenceError as error:
        return render_error(request, error, person=caller.person)
    page = render_page(
        request,
        PACKAGE,
        "near_miss.html",
        caller,
        near_miss=views.near_miss_read(caller.session, row, now=caller.clock.now()),
        can_review=caller.can(Action.OPEN_INCIDENT, None),
        problem=problem,
    )
    if problem is not None:
        page.status_code = problem.status_code
    return page


@router.get("/near-misses/{near_miss}")
def near_miss_page(request: Request, near_miss: str, caller: PageReadsFacility) -> Response:
    """One near miss, its findings and any playbook changes proposed from them."""
    return _detail(request, caller, near_miss)


@router.post("/near-misses/{near_miss}/findings")
def add_finding(
    request: Request,
    near_miss: str,
    caller: PageOpensIncident,
    title: FormText = None,
    what_happened: FormText = None,
    owner: FormText = None,
    due_on: FormText = None,
) -> Response:
    """Record a finding on the near miss."""
    try:
        body = parse(
            FindingCreate,
            title=title,
            what_happened=what_happened,
            owner=owner,
            due_on=due_on or None,
        )
        near_misses.add_finding(
            caller.session, clock=caller.clock, ref=near_miss, request=body, actor=caller.person.key
        )
        caller.session.flush()
    except CoherenceError as error:
        caller.session.rollback()
        return _detail(request, caller, near_miss, error)
    return RedirectResponse(f"/near-misses/{near_miss}", status_code=303)


@router.get("/lessons")
def lessons_page(
    request: Request,
    caller: PageReadsFacility,
    asset_kind: str | None = Query(None, max_length=64),
    category: str | None = Query(None, max_length=64),
    playbook: str | None = Query(None, max_length=64),
    q: str | None = Query(None, max_length=200),
) -> Response:
    """Search the lessons library by asset kind, category, playbook and words."""
    rows = lessons.search(
        caller.session,
        asset_kind=asset_kind or None,
        category=category or None,
        playbook=playbook or None,
        text=q or None,
    )
    return render_page(
        request,
        PACKAGE,
        "lessons.html",
        caller,
        lessons=learning_api.lesson_reads(caller, list(rows)),
        query={"asset_kind": asset_kind, "category": category, "playbook": playbook, "q": q},
    )


@router.get("/readiness-summary")
def summary_page(
    request: Request,
    caller: PageReadsFacility,
    organisation: str | None = Query(None, alias="for", max_length=64),
) -> Response:
    """The facility's readiness summary, or the one a partner would get under its agreements."""
    try:
        read = summary.build(caller.session, clock=caller.clock, organisation=organisation or None)
    except CoherenceError as error:
        return render_error(request, error, person=caller.person)
    return render_page(
        request,
        PACKAGE,
        "readiness_summary.html",
        caller,
        summary=read,
        organisations=catalog_service.list_organisations(caller.session),
    )
