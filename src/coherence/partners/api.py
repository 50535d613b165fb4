"""Partner HTTP API: agreements, who sees an incident, export-guard overrides, unified command."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from coherence.access.api import Commands, ManagesFacility, Myself, Reads, Records
from coherence.access.policy import Action
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES
from coherence.partners import packages_api, service, stix_api, unified, views
from coherence.partners.schemas import (
    AgreementRead,
    LoadResult,
    OverrideCreate,
    OverrideRead,
    PartnerView,
    PeriodCreate,
    PeriodRead,
)

router = APIRouter(prefix="/api/v1", tags=["partners"], responses=ERROR_RESPONSES)


@router.get("/agreements", response_model=list[AgreementRead], summary="List agreements")
def list_agreements(caller: Myself) -> list[AgreementRead]:
    """Every agreement for members of an operator; a partner sees those it is party to."""
    today = caller.clock.now().date()
    everything = caller.can(Action.READ_FACILITY, None)
    organisation = caller.person.organisation.key
    return [
        views.agreement_read(a, today=today)
        for a in service.list_agreements(caller.session)
        if everything or organisation in a.parties
    ]


@router.post(
    "/agreements",
    response_model=LoadResult,
    summary="Load agreements",
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
async def load_agreements(request: Request, caller: ManagesFacility) -> LoadResult:
    """Load an agreements document (YAML or JSON) by key; any problem rejects the whole file."""
    data = load_yaml_mapping(await request.body(), source="body")
    report = service.load_agreements(
        caller.session, clock=caller.clock, data=data, actor=caller.person.key, source="api"
    )
    return LoadResult(created=report.created, updated=report.updated, unchanged=report.unchanged)


@router.get("/incidents/{ref}/partners", response_model=list[PartnerView], summary="Who sees it")
def incident_partners(ref: str, caller: Reads) -> list[PartnerView]:
    """Each organisation an agreement in force shares the incident with: its ceiling and data,
    whether the incident's label lets it see it, and what the export guard would stop."""
    return views.partner_views(caller.session, caller.target, now=caller.clock.now())


@router.post(
    "/incidents/{ref}/share-overrides",
    response_model=OverrideRead,
    status_code=201,
    summary="Override the export guard",
)
def override_share(ref: str, body: OverrideCreate, caller: Records) -> OverrideRead:
    """Let a share the export guard blocks go to one organisation, giving the lawful basis.
    Needs the export_control clearance; ledgered as share:overridden."""
    incident = caller.target
    grant = service.grant_for(
        caller.session, organisation=body.organisation, incident=incident, now=caller.clock.now()
    )
    row = service.override_share(
        caller.session,
        clock=caller.clock,
        incident=incident,
        organisation=body.organisation,
        categories=grant.categories if grant else frozenset(),
        reason=body.reason,
        approver=caller.person.key,
    )
    return views.override_read(row)


@router.get(
    "/incidents/{ref}/periods", response_model=list[PeriodRead], summary="Operational periods"
)
def list_periods(ref: str, caller: Reads) -> list[PeriodRead]:
    """The incident's operational periods and their joint objectives (ICS 202), in order."""
    return [views.period_read(p) for p in unified.periods(caller.session, caller.target.id)]


@router.post(
    "/incidents/{ref}/periods",
    response_model=PeriodRead,
    status_code=201,
    summary="Set a period's objectives",
)
def set_period(ref: str, body: PeriodCreate, caller: Commands) -> PeriodRead:
    """Set the joint objectives of the next (or a numbered) operational period."""
    row = unified.set_period(
        caller.session,
        clock=caller.clock,
        incident=caller.target,
        number=body.number,
        starts_at=body.starts_at,
        ends_at=body.ends_at,
        objectives=body.objectives,
        organisations=body.organisations,
        safety_message=body.safety_message,
        actor=caller.person.key,
    )
    return views.period_read(row)


@router.get(
    "/incidents/{ref}/summary",
    summary="Status summary (ICS 209)",
    response_model=dict[str, Any],
    responses={200: {"content": {"text/markdown": {}}}},
)
def status_summary(
    ref: str,
    caller: Reads,
    format: Literal["json", "markdown"] = Query("json", description="json or markdown"),
) -> Any:
    """Phase, severity, command, the period's objectives, work, statements, evidence, partners
    and their mutual aid: an ICS 209-style summary built from the incident's records."""
    summary = unified.status_summary(caller.session, caller.target, caller.clock.now())
    if format == "markdown":
        return PlainTextResponse(unified.summary_markdown(summary), media_type="text/markdown")
    return summary


router.include_router(packages_api.router)
router.include_router(stix_api.router)
