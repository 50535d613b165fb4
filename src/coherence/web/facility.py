"""The facility page: every site's assets, what state each is in, and the dependency graph drawn."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.detection import service as detection_service
from coherence.http import ClockDep, SessionDep
from coherence.incidents import views as incident_views
from coherence.incidents.domain import OPEN_STATUSES
from coherence.incidents.schemas import IncidentRead
from coherence.recovery import planning
from coherence.recovery import service as recovery_service
from coherence.web import graph as drawing
from coherence.web.guards import AllowPage
from coherence.web.rendering import render

# Above this many assets a site's drawing stops being readable; the table still lists them all.
MAX_DRAWN = 250
SEVERITY_ORDER = ("sev1", "sev2", "sev3", "sev4")

router = APIRouter(include_in_schema=False)

PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]


def asset_states(
    graph: Mapping[str, planning.Node],
    incidents: Iterable[IncidentRead],
    alarms: Iterable[str],
) -> dict[str, tuple[str, str]]:
    """Return (state, label) per asset: incident, alarm, affected (lost what it needs), or ok."""
    by_asset: dict[str, list[IncidentRead]] = {}
    for incident in incidents:
        by_asset.setdefault(incident.asset, []).append(incident)
    states: dict[str, tuple[str, str]] = {}
    for asset, found in by_asset.items():
        worst = min(found, key=lambda i: _severity_rank(i.severity))
        more = f" +{len(found) - 1}" if len(found) > 1 else ""
        states[asset] = ("incident", f"{worst.reference} {worst.severity.upper()}{more}")
    for asset in alarms:
        states.setdefault(asset, ("alarm", "Alarm firing"))
    struck = [a for a in states if a in graph]
    for asset in sorted(planning.affected(graph, struck) - set(struck)):
        states[asset] = ("affected", "Affected: lost a dependency")
    return states


def _severity_rank(severity: str) -> int:
    return SEVERITY_ORDER.index(severity) if severity in SEVERITY_ORDER else len(SEVERITY_ORDER)


@router.get("/facility")
def facility_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    caller: PageReadsFacility,
    site: Annotated[str | None, Query(max_length=64)] = None,
) -> Response:
    """Show each site's assets with their state and the dependency graph between them."""
    sites = list(catalog_service.list_sites(session))
    if site is not None:
        catalog_service.get_site_or_raise(session, site)
    graph = recovery_service.graph_of(session)
    incidents = _open_incidents(session, caller)
    alarms = {k.asset for k in detection_service.open_keys(session)}
    states = asset_states(graph, incidents, alarms)
    shown = [s for s in sites if site is None or s.key == site]
    drawings = {}
    for each in shown:
        part = {k: n for k, n in graph.items() if n.site == each.key}
        drawings[each.key] = drawing.layout(part, states) if len(part) <= MAX_DRAWN else None
    assets = {s.key: catalog_service.list_assets(session, site_key=s.key) for s in shown}
    context = {
        "sites": sites,
        "shown": shown,
        "chosen": site,
        "drawings": drawings,
        "assets": assets,
        "states": states,
        "graph": graph,
        "incidents": {i.asset: i for i in incidents},
        "now": clock.now(),
        "box": {"width": drawing.BOX_WIDTH, "height": drawing.BOX_HEIGHT},
        "max_drawn": MAX_DRAWN,
    }
    return render(request, "facility.html", context, person=caller.person)


def _open_incidents(session: Session, caller: Caller) -> list[IncidentRead]:
    page = incident_views.incident_page(
        session,
        statuses=sorted(OPEN_STATUSES),
        limit=incident_views.MAX_PAGE,
        visible=lambda incident: caller.can(Action.READ, incident),
    )
    return list(page.items)
