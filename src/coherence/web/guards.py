"""The access policy on dashboard pages: the same decisions as the API, refused as a page."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from starlette.responses import Response

from coherence.access.api import Caller, authorize
from coherence.access.policy import Action
from coherence.catalog.models import Person
from coherence.errors import CoherenceError
from coherence.http import SessionDep
from coherence.web.auth import WebPerson
from coherence.web.rendering import render_error


class PageRefused(Exception):
    """The policy refused a signed-in person a page or form; answered with an error page."""

    def __init__(self, error: CoherenceError, person: Person) -> None:
        super().__init__(error.message)
        self.error = error
        self.person = person


class AllowPage:
    """A page dependency: the signed-in person, allowed ``action`` by the access policy."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, request: Request, session: SessionDep, person: WebPerson) -> Caller:
        try:
            return authorize(request, session, person, self.action)
        except CoherenceError as refused:
            # The refused request's transaction rolls back, which would expire the person the
            # error page greets; detached, it keeps what was loaded.
            session.expunge(person)
            raise PageRefused(refused, person) from None


async def page_refused_handler(request: Request, exc: Exception) -> Response:
    """Explain on a page why the policy (or a missing record) stopped the request."""
    assert isinstance(exc, PageRefused)
    return render_error(request, exc.error, person=exc.person)


PageLists = Annotated[Caller, Depends(AllowPage(Action.LIST_INCIDENTS))]
PageReads = Annotated[Caller, Depends(AllowPage(Action.READ))]
PageRecords = Annotated[Caller, Depends(AllowPage(Action.RECORD))]
PageCommands = Annotated[Caller, Depends(AllowPage(Action.COMMAND))]
PageReopens = Annotated[Caller, Depends(AllowPage(Action.REOPEN))]
