"""The partners page: the agreements and what each partner sees of each open incident.

"What it sees" is the access policy's own answer for the partner's people, not a second set
of rules: the page asks the question a partner's sign-in would ask.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access import guard
from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.catalog.domain import OrganisationKind
from coherence.catalog.models import Person
from coherence.http import ClockDep, SessionDep
from coherence.incidents import views as incident_views
from coherence.incidents.domain import OPEN_STATUSES, reference
from coherence.incidents.models import Incident
from coherence.partners import service as partners_service
from coherence.web.guards import AllowPage
from coherence.web.rendering import render

# Beyond this many open incidents the grid stops being readable; the newest are shown.
MAX_INCIDENTS = 30

router = APIRouter(include_in_schema=False)

PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]


@dataclass(frozen=True)
class Sight:
    """What one partner organisation sees of one incident, as the policy decides it."""

    sees: bool
    reason: str
    categories: tuple[str, ...]
    person: str | None


@router.get("/partners")
def partners_page(
    request: Request, session: SessionDep, clock: ClockDep, caller: PageReadsFacility
) -> Response:
    """Show the agreements and, for every open incident you may see, what each partner sees."""
    now = clock.now()
    agreements = list(partners_service.list_agreements(session))
    organisations = {o.key: o for o in catalog_service.list_organisations(session)}
    operators = {k for k, o in organisations.items() if o.kind == OrganisationKind.OPERATOR}
    partners = sorted({p for a in agreements for p in a.parties} - operators)
    people: dict[str, list[Person]] = {}
    for person in catalog_service.list_people(session):
        people.setdefault(person.organisation.key, []).append(person)
    incidents = _open_incidents(session, caller)
    sights = {
        (incident.id, org): _sight(session, incident, people.get(org, []), now)
        for incident in incidents
        for org in partners
    }
    context = {
        "agreements": [(a, in_force(a.valid_from, a.valid_until, now.date())) for a in agreements],
        "partners": partners,
        "names": {k: o.name for k, o in organisations.items()},
        "incidents": [(i.id, reference(i.id), i.title, i.tlp) for i in incidents],
        "sights": sights,
        "now": now,
        "max_incidents": MAX_INCIDENTS,
    }
    return render(request, "partners.html", context, person=caller.person)


def _open_incidents(session: Session, caller: Caller) -> list[Incident]:
    """The open incidents the caller may read, newest first."""
    seen: list[Incident] = []

    def visible(incident: Incident) -> bool:
        allowed = caller.can(Action.READ, incident)
        if allowed and len(seen) < MAX_INCIDENTS:
            seen.append(incident)
        return allowed

    incident_views.incident_page(
        session, statuses=sorted(OPEN_STATUSES), limit=MAX_INCIDENTS, visible=visible
    )
    return seen


def _sight(session: Session, incident: Incident, people: list[Person], now: datetime) -> Sight:
    """Ask the policy whether the organisation's first person on file may read the incident."""
    if not people:
        return Sight(False, "nobody of this organisation is on file to sign in", (), None)
    person = people[0]
    decision = guard.decide_for(
        session, person=person, action=Action.READ, now=now, incident=incident
    )
    categories = tuple(sorted(c.value for c in decision.entitled)) if decision.allowed else ()
    return Sight(decision.allowed, decision.reason, categories, person.key)


def in_force(valid_from: date, valid_until: date, today: date) -> bool:
    """Return whether an agreement's dates cover ``today``."""
    return valid_from <= today <= valid_until
