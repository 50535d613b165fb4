"""Catalog HTTP API: read the facility, load a facility file, ask who is on call."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request

from coherence.access.api import ManagesFacility, ManagesOnCall, ReadsFacility, withhold_personal
from coherence.catalog import service, views
from coherence.catalog.domain import IcsRole
from coherence.catalog.schemas import (
    AssetRead,
    LoadReport,
    OnCallRead,
    OrganisationRead,
    OverrideCreate,
    OverrideRead,
    PersonRead,
    SiteRead,
)
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES, ClockDep, RowId, SessionDep

router = APIRouter(prefix="/api/v1", tags=["catalog"], responses=ERROR_RESPONSES)


@router.get("/organisations", response_model=list[OrganisationRead], summary="List organisations")
def list_organisations(session: SessionDep, _caller: ReadsFacility) -> list[OrganisationRead]:
    """Every organisation: operators, research groups, vendors, regulators, partners."""
    return [OrganisationRead.model_validate(o) for o in service.list_organisations(session)]


@router.get("/sites", response_model=list[SiteRead], summary="List sites")
def list_sites(session: SessionDep, _caller: ReadsFacility) -> list[SiteRead]:
    """Every site with its escalation policy."""
    return [views.site_read(s) for s in service.list_sites(session)]


@router.get("/assets", response_model=list[AssetRead], summary="List assets")
def list_assets(
    session: SessionDep,
    _caller: ReadsFacility,
    site: str | None = Query(None, max_length=64, description="Only assets at this site."),
) -> list[AssetRead]:
    """Assets with their dependency groups (``needs`` of ``assets`` must work)."""
    return [views.asset_read(a) for a in service.list_assets(session, site_key=site)]


@router.get("/assets/{key}", response_model=AssetRead, summary="Show one asset")
def get_asset(key: str, session: SessionDep, _caller: ReadsFacility) -> AssetRead:
    """One asset and what it depends on."""
    return views.asset_read(service.get_asset_or_raise(session, key))


@router.get("/people", response_model=list[PersonRead], summary="List people")
def list_people(session: SessionDep, caller: ReadsFacility) -> list[PersonRead]:
    """People with the ICS roles they can fill and their contact points (personal data: an
    observer sees them redacted)."""
    people = [views.person_read(p) for p in service.list_people(session)]
    withhold_personal(caller, "people", [c for person in people for c in person.contacts])
    return people


@router.get("/oncall", response_model=OnCallRead, summary="Who is on call")
def on_call(
    session: SessionDep,
    clock: ClockDep,
    _caller: ReadsFacility,
    site: str = Query(max_length=64, description="Site key."),
    role: IcsRole = Query(description="ICS role."),
    at: datetime | None = Query(None, description="Moment to ask about; default now."),
) -> OnCallRead:
    """Who is on call for a role at a site: an override first, then the rotation's turn."""
    site_row = service.get_site_or_raise(session, site)
    moment = at or clock.now()
    found = service.on_call_detail(session, site=site_row, role=role, at=moment)
    return OnCallRead(
        site=site,
        role=role,
        rotation=found.rotation.key if found else None,
        person=found.person.key if found else None,
        at=moment,
        until=found.until if found else None,
        covering=bool(found and found.override),
    )


@router.get("/oncall/overrides", response_model=list[OverrideRead], summary="On-call overrides")
def list_overrides(
    session: SessionDep, clock: ClockDep, _caller: ReadsFacility
) -> list[OverrideRead]:
    """Overrides running now or to come, soonest first."""
    return [views.override_read(o) for o in service.list_overrides(session, now=clock.now())]


@router.post(
    "/rotations/{rotation}/overrides",
    response_model=OverrideRead,
    status_code=201,
    summary="Cover a rotation for a while",
)
def add_override(
    rotation: Annotated[str, Path(max_length=64)],
    request: OverrideCreate,
    session: SessionDep,
    clock: ClockDep,
    caller: ManagesOnCall,
) -> OverrideRead:
    """Put ``person`` on call in place of the rotation's turn from ``starts_at`` to ``ends_at``
    (at most 31 days); they must have the rotation's role."""
    return views.override_read(
        service.add_override(
            session,
            clock=clock,
            rotation_key=rotation,
            person_key=request.person,
            starts_at=request.starts_at,
            ends_at=request.ends_at,
            reason=request.reason,
            actor=caller.person.key,
        )
    )


@router.delete(
    "/oncall/overrides/{override_id}", response_model=OverrideRead, summary="Cancel an override"
)
def cancel_override(
    override_id: RowId, session: SessionDep, clock: ClockDep, caller: ManagesOnCall
) -> OverrideRead:
    """The rotation's own turn applies again."""
    return views.override_read(
        service.cancel_override(
            session, clock=clock, override_id=override_id, actor=caller.person.key
        )
    )


@router.post(
    "/facility",
    response_model=LoadReport,
    summary="Load a facility file",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/yaml": {"schema": {"type": "string"}},
                "application/json": {"schema": {"type": "object"}},
            },
        }
    },
)
async def load_facility(
    request: Request, session: SessionDep, clock: ClockDep, caller: ManagesFacility
) -> LoadReport:
    """Load a whole facility (YAML or JSON) idempotently; any problem rejects the whole file."""
    data = load_yaml_mapping(await request.body(), source="body")
    return service.load_facility(
        session, clock=clock, data=data, actor=caller.person.key, source="api"
    )
