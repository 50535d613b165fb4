"""Authentication at the HTTP edge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel

from coherence.access import service
from coherence.catalog.models import Person
from coherence.http import SessionDep

WEB_TOKEN_COOKIE = "coherence_token"


def _bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    # The API takes bearer tokens only: a browser's cookie must not authorise API writes.
    return None


def current_person(request: Request, session: SessionDep) -> Person:
    """Return the person whose token came with the request, or answer 401."""
    return service.authenticate(session, _bearer_token(request))


CurrentPerson = Annotated[Person, Depends(current_person)]

router = APIRouter(prefix="/api/v1", tags=["access"])


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
