"""Printable briefings in the spirit of the ICS 201 incident briefing and ICS 209 status summary.

Both are built from the incident's own records, behind the same read check as the incident
page, and laid out to print on A4 or Letter with the browser's own print command.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access.api import redact_timeline
from coherence.catalog import service as catalog_service
from coherence.http import ClockDep, SessionDep
from coherence.incidents import views as incident_views
from coherence.incidents.schemas import IncidentDetail
from coherence.partners import unified
from coherence.web.guards import PageReads
from coherence.web.rendering import render

router = APIRouter(include_in_schema=False)


@router.get("/incidents/{ref}/ics201")
def incident_briefing(
    request: Request, ref: str, session: SessionDep, clock: ClockDep, caller: PageReads
) -> Response:
    """Print the incident briefing: situation, hazards, objectives, actions, organisation."""
    incident = caller.target
    detail = incident_views.incident_detail(incident)
    now = clock.now()
    period = unified.current_period(session, incident.id, now)
    timeline = redact_timeline(caller, incident_views.timeline(session, incident.id))
    context = {
        "incident": detail,
        "now": now,
        "period": unified.period_view(period) if period else None,
        "hazards": [t for t in detail.tasks if t.hazard],
        "done": [t for t in detail.tasks if t.status.value != "open"],
        "planned": [t for t in detail.tasks if t.status.value == "open"],
        "decisions": [e for e in timeline if e.type == "decision:recorded"],
        "organisation": _organisation(session, detail),
        "prepared_by": caller.person,
    }
    return render(request, "ics201.html", context, person=caller.person)


@router.get("/incidents/{ref}/ics209")
def status_summary(
    request: Request, ref: str, session: SessionDep, clock: ClockDep, caller: PageReads
) -> Response:
    """Print the status summary: phase, times, command, work, statements and partners."""
    now = clock.now()
    summary = unified.status_summary(session, caller.target, now)
    context = {
        "summary": summary,
        "incident": incident_views.incident_detail(caller.target),
        "now": now,
        "names": _names(session, summary["command"].values()),
        "prepared_by": caller.person,
    }
    return render(request, "ics209.html", context, person=caller.person)


def _organisation(session: Session, detail: IncidentDetail) -> list[dict[str, Any]]:
    """Who holds each ICS role, with the tasks their role owns."""
    names = _names(session, detail.roles.values())
    rows = []
    for role, key in detail.roles.items():
        owned = [t for t in detail.tasks if t.owner_role == role]
        rows.append(
            {
                "role": role,
                "person": names.get(key, key),
                "key": key,
                "open": sum(1 for t in owned if t.status.value == "open"),
                "total": len(owned),
            }
        )
    return rows


def _names(session: Session, keys: Any) -> dict[str, str]:
    found = {k: catalog_service.get_person(session, k) for k in set(keys)}
    return {k: p.name for k, p in found.items() if p is not None}
