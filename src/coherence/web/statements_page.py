"""Pre-cleared messaging on the dashboard: templates and their approvals, a preview of the
public status page, and issuing an approved statement from the incident page.

Every form calls the statements service the API calls, behind the same access actions.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Query, Request
from starlette.responses import RedirectResponse, Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.comms import statements_service
from coherence.comms.models import StatementTemplate
from coherence.comms.statements import EXTERNAL_AUDIENCES, Audience, missing_approvals
from coherence.errors import CoherenceError
from coherence.http import ClockDep, SessionDep
from coherence.incidents.domain import reference
from coherence.web import status
from coherence.web.auth import same_origin
from coherence.web.guards import AllowPage, PageReads
from coherence.web.rendering import render, render_incident

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])

PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]
PageDraftsStatements = Annotated[Caller, Depends(AllowPage(Action.DRAFT_STATEMENTS))]
PageCommunicates = Annotated[Caller, Depends(AllowPage(Action.COMMUNICATE))]
TemplateKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
TemplateField = Annotated[str, Query(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


@router.get("/statements")
def templates_page(
    request: Request, session: SessionDep, clock: ClockDep, caller: PageReadsFacility
) -> Response:
    """List every template by key with its versions, clearance and who approved what."""
    return _templates(request, session, caller, clock)


@router.post("/statements/templates/{key}/versions/{version}/approve")
def approve(
    request: Request,
    key: TemplateKey,
    version: Annotated[int, Path(ge=1, le=1_000_000)],
    session: SessionDep,
    clock: ClockDep,
    caller: PageDraftsStatements,
) -> Response:
    """Give your approval of one template version, as the API's approve does."""
    try:
        statements_service.approve(
            session, clock=clock, key=key, version=version, person_key=caller.person.key
        )
        session.flush()
    except CoherenceError as error:
        session.rollback()
        return _templates(request, session, caller, clock, error=error)
    return RedirectResponse(f"/statements#template-{key}", status_code=303)


@router.get("/incidents/{ref}/statements/preview")
def preview(
    request: Request,
    ref: str,
    template: TemplateField,
    session: SessionDep,
    clock: ClockDep,
    caller: PageReads,
) -> Response:
    """Show the public status page as it would read with this statement issued now."""
    try:
        drafted = statements_service.preview(session, ref=ref, template_key=template)
    except CoherenceError as error:
        return render_incident(request, session, caller, ref, error=error)
    context = {
        "incidents": status.by_incident(status.public_posts(session)),
        "now": clock.now(),
        "preview": drafted,
        "reference": reference(caller.target.id),
        "published": Audience(drafted.template.audience) == Audience.PUBLIC,
    }
    return render(request, "status_preview.html", context, person=caller.person)


@router.post("/incidents/{ref}/statements")
def issue(
    request: Request,
    ref: str,
    template: Annotated[str, Form(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")],
    session: SessionDep,
    clock: ClockDep,
    caller: PageCommunicates,
) -> Response:
    """Issue the latest cleared version of a template for the incident."""
    try:
        statement = statements_service.issue(
            session, clock=clock, ref=ref, template_key=template, actor=caller.person.key
        )
        session.flush()
    except CoherenceError as error:
        session.rollback()
        return render_incident(request, session, caller, ref, error=error)
    return RedirectResponse(
        f"/incidents/{reference(statement.incident_id)}#statements", status_code=303
    )


def _templates(
    request: Request,
    session: SessionDep,
    caller: Caller,
    clock: ClockDep,
    *,
    error: CoherenceError | None = None,
) -> Response:
    versions: defaultdict[str, list[StatementTemplate]] = defaultdict(list)
    for row in statements_service.list_templates(session):
        versions[row.key].append(row)
    context = {
        "templates": {k: list(reversed(v)) for k, v in sorted(versions.items())},
        "missing": {
            (row.key, row.version): missing_approvals(row.required_approvals, row.approvals)
            for rows in versions.values()
            for row in rows
        },
        "external": {a.value for a in EXTERNAL_AUDIENCES},
        "can_approve": caller.can(Action.DRAFT_STATEMENTS, None),
        "now": clock.now(),
        "error": error,
    }
    code = error.status_code if error else 200
    return render(request, "statements.html", context, person=caller.person, status_code=code)
