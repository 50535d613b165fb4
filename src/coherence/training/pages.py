"""The readiness page: checked roles by site and shift, unqualified on-call, qualifications."""

from __future__ import annotations

from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.errors import CoherenceError
from coherence.training import service, views
from coherence.web.auth import same_origin
from coherence.web.guards import AllowPage
from coherence.web.rendering import SECURITY_HEADERS, render_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]


def render_page(
    request: Request, package: str, name: str, caller: Caller, **context: object
) -> HTMLResponse:
    """Render a template shipped inside ``package`` with the dashboard's layout and filters."""
    source = resources.files(package).joinpath("templates", name).read_text()
    template = request.app.state.web_templates.env.from_string(source)
    body = template.render(
        person=caller.person,
        error=None,
        session_hours=f"{request.app.state.settings.session_hours:g}",
        **context,
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@router.get("/readiness")
def readiness_page(
    request: Request,
    caller: PageReadsFacility,
    site: str | None = Query(None),
    days: int = Query(7, ge=1, le=90),
) -> Response:
    """Each site's checked roles shift by shift, who on call is not qualified, and everyone's
    standing in the checked roles."""
    session, now = caller.session, caller.clock.now()
    try:
        read = views.build_readiness(session, now=now, days=days, site=site)
    except CoherenceError as error:
        return render_error(request, error, person=caller.person)
    _row, curriculum = service.current_or_raise(session)
    held = service.qualifications_by_person(session, curriculum, now=now)
    rostered = sorted(
        {
            (m.person.key, m.person.name)
            for r in catalog_service.list_rotations(session)
            if r.role in curriculum.checked_roles
            for m in r.members
        }
    )
    people = [
        (key, name, [held.get(key, {}).get(role) for role in read.checked_roles])
        for key, name in rostered
    ]
    return render_page(
        request,
        "coherence.training",
        "readiness.html",
        caller,
        read=read,
        people=people,
        sites=catalog_service.list_sites(session),
        chosen=site,
        days=days,
        now=now,
    )
