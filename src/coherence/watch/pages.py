"""The access history page of an incident, for auditors and administrators."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.errors import CoherenceError
from coherence.training.pages import render_page
from coherence.watch import service as watch_service
from coherence.watch import views as watch_views
from coherence.web.auth import same_origin
from coherence.web.guards import AllowPage
from coherence.web.rendering import render_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PageAudits = Annotated[Caller, Depends(AllowPage(Action.AUDIT))]


@router.get("/incidents/{ref}/access")
def access_page(request: Request, ref: str, caller: PageAudits) -> Response:
    """Who read the incident's data, under which label, and what was withheld from whom."""
    try:
        incident, found = watch_service.history(caller.session, ref=ref)
    except CoherenceError as error:
        return render_error(request, error, person=caller.person)
    return render_page(
        request,
        "coherence.watch",
        "access_history.html",
        caller,
        history=watch_views.access_history(incident, found),
        title=incident.title,
    )
