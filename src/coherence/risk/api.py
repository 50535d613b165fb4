"""Risk HTTP API: the register, advisories, learned failure rates and Monte Carlo runs."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from coherence.access.api import ManagesFacility, ReadsFacility
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES
from coherence.risk import analysis, service, views
from coherence.risk.domain import Status
from coherence.risk.schemas import (
    AdvisoryCreate,
    AdvisoryRead,
    AdvisoryWithdraw,
    LoadResult,
    RatesRead,
    RiskRead,
    RiskSpec,
    RiskUpdate,
    SimulationRead,
    SimulationRequest,
    TrendPoint,
)

router = APIRouter(prefix="/api/v1/risk", tags=["risk"], responses=ERROR_RESPONSES)

SINCE = Query(None, description="Start of the history to learn from (default: first records).")


@router.get("/register", response_model=list[RiskRead], summary="Risk register")
def list_risks(caller: ReadsFacility, status: Status | None = None) -> list[RiskRead]:
    """Every risk, with likelihood raised by advisories in force (and why) and as learned."""
    rows = service.list_risks(caller.session, status=status.value if status else None)
    return views.risk_reads(caller.session, rows, now=caller.clock.now())


@router.post("/register", response_model=RiskRead, status_code=201, summary="Add a risk")
def add_risk(body: RiskSpec, caller: ManagesFacility) -> RiskRead:
    """Add a risk; 409 if the key is taken, 422 naming an unknown asset, owner or category."""
    row = service.add_risk(caller.session, clock=caller.clock, spec=body, actor=caller.person.key)
    return views.risk_reads(caller.session, [row], now=caller.clock.now())[0]


@router.post(
    "/register/load",
    response_model=LoadResult,
    summary="Load risks from a document",
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
async def load_register(request: Request, caller: ManagesFacility) -> LoadResult:
    """Add or update risks by key from YAML or JSON; any problem changes nothing."""
    data = load_yaml_mapping(await request.body(), source="body")
    return service.load_register(
        caller.session, clock=caller.clock, data=data, actor=caller.person.key, source="api"
    )


@router.get("/register/{key}", response_model=RiskRead, summary="One risk")
def show_risk(key: str, caller: ReadsFacility) -> RiskRead:
    """One risk as the register shows it."""
    row = service.get_risk_or_raise(caller.session, key)
    return views.risk_reads(caller.session, [row], now=caller.clock.now())[0]


@router.patch("/register/{key}", response_model=RiskRead, summary="Update a risk")
def update_risk(key: str, body: RiskUpdate, caller: ManagesFacility) -> RiskRead:
    """Change the fields given; each change is ledgered with its old and new value."""
    row = service.update_risk(
        caller.session, clock=caller.clock, key=key, changes=body, actor=caller.person.key
    )
    return views.risk_reads(caller.session, [row], now=caller.clock.now())[0]


@router.get("/advisories", response_model=list[AdvisoryRead], summary="Advisories")
def list_advisories(caller: ReadsFacility) -> list[AdvisoryRead]:
    """Every advisory and supply-chain alert, newest first, saying which are in force."""
    now = caller.clock.now()
    return [views.advisory_read(a, now=now) for a in service.list_advisories(caller.session)]


@router.post(
    "/advisories", response_model=AdvisoryRead, status_code=201, summary="Record an advisory"
)
def record_advisory(body: AdvisoryCreate, caller: ManagesFacility) -> AdvisoryRead:
    """Raise the likelihood of the named assets or kinds by a factor, with a reason, until
    it expires."""
    row = service.record_advisory(
        caller.session, clock=caller.clock, request=body, actor=caller.person.key
    )
    return views.advisory_read(row, now=caller.clock.now())


@router.post(
    "/advisories/{key}/withdraw", response_model=AdvisoryRead, summary="Withdraw an advisory"
)
def withdraw_advisory(
    key: str, caller: ManagesFacility, body: AdvisoryWithdraw | None = None
) -> AdvisoryRead:
    """Stop an advisory raising likelihoods before it expires."""
    row = service.withdraw_advisory(
        caller.session, clock=caller.clock, key=key, actor=caller.person.key
    )
    return views.advisory_read(row, now=caller.clock.now())


@router.get("/rates", response_model=RatesRead, summary="Learned failure rates")
def learned_rates(caller: ReadsFacility, since: AwareDatetime | None = SINCE) -> RatesRead:
    """Posterior incidents per asset-year by asset kind and category, with 90 % intervals."""
    span, estimates = analysis.learned_rates(caller.session, now=caller.clock.now(), since=since)
    return RatesRead(
        since=span.start, until=span.end, rates=[views.rate_read(e) for e in estimates]
    )


@router.get("/rates/trend", response_model=list[TrendPoint], summary="Failure-rate trend")
def rate_trend(
    caller: ReadsFacility,
    since: AwareDatetime | None = SINCE,
    points: int = Query(12, ge=2, le=120, description="Moments across the history."),
) -> list[TrendPoint]:
    """The learned rates as they stood at evenly spaced moments across the history."""
    found = analysis.rate_trend(caller.session, now=caller.clock.now(), since=since, points=points)
    return [TrendPoint(at=at, rates=[views.rate_read(e) for e in items]) for at, items in found]


@router.post("/simulations", response_model=SimulationRead, summary="Run a Monte Carlo")
def simulate(body: SimulationRequest, caller: ReadsFacility) -> SimulationRead:
    """Availability and downtime of each research service and what contributes most; with
    what-ifs (add_redundant, spares, repair_hours), beside the baseline on the same draws.
    Nothing is stored."""
    report, baseline = analysis.simulate(caller.session, now=caller.clock.now(), request=body)
    return views.simulation_read(report, baseline, body)
