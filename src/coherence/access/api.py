"""Authentication at the HTTP edge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel

from coherence.access import service
from coherence.catalog.models import Person
from coherence.db import session_scope
from coherence.http import ERROR_RESPONSES, SessionDep

WEB_TOKEN_COOKIE = "coherence_token"


# The API takes bearer tokens only: a browser's dashboard cookie must not authorise API writes.
bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `coherence token create --person KEY`.",
)


def current_person(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Person:
    """Return the person whose token came with the request, or answer 401."""
    return service.authenticate(session, credentials.credentials if credentials else None)


CurrentPerson = Annotated[Person, Depends(current_person)]


def caller_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """Authenticate in a transaction of its own and return the caller's person key.

    Intake endpoints hand the batch to the detector, which writes in transactions of its
    own; holding the request's transaction open meanwhile would block them on SQLite.
    """
    with session_scope(request.app.state.session_factory) as session:
        return service.authenticate(session, credentials.credentials if credentials else None).key


CallerKey = Annotated[str, Depends(caller_key)]

router = APIRouter(prefix="/api/v1", tags=["access"], responses=ERROR_RESPONSES)


class Me(BaseModel):
    """The caller, as the server sees them."""

    key: str
    name: str
    organisation: str
    roles: list[str]


@router.get("/me", summary="Who am I", response_model=Me)
def me(person: CurrentPerson) -> Me:
    """Return the person the API token belongs to."""
    return Me(
        key=person.key,
        name=person.name,
        organisation=person.organisation.key,
        roles=list(person.roles),
    )
