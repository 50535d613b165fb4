"""Recovery HTTP API: restoration plans, step progress, verification gates, supply data."""

from __future__ import annotations

from datetime import UTC

from fastapi import APIRouter, Request

from coherence.access.api import Commands, ManagesFacility, Reads, ReadsFacility, Records
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES
from coherence.recovery import pausing, service, supply_service, verification, views
from coherence.recovery.schemas import (
    GateRecord,
    PlanCreate,
    PlanRead,
    ReadingsIn,
    StepAction,
    StepRead,
    SupplyResult,
)

router = APIRouter(prefix="/api/v1", tags=["recovery"], responses=ERROR_RESPONSES)


@router.get("/incidents/{ref}/recovery", response_model=PlanRead, summary="Restoration plan")
def show_plan(ref: str, caller: Reads) -> PlanRead:
    """The current plan version: waves, what each step waits for, progress and ETA."""
    return views.plan_read(service.current_plan_or_raise(caller.session, caller.target))


@router.post(
    "/incidents/{ref}/recovery",
    response_model=PlanRead,
    status_code=201,
    summary="Plan or recompute restoration",
)
def make_plan(ref: str, body: PlanCreate, caller: Commands) -> PlanRead:
    """Plan restoration of the incident's asset, ``also`` and what depends on them; again:
    a new version keeping every step's state. Cyclic or inconsistent dependencies: 422."""
    plan = service.make_plan(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        actor=caller.person.key,
        also=body.also,
        parts=body.parts,
    )
    return views.plan_read(plan)


@router.post(
    "/incidents/{ref}/recovery/refresh", response_model=PlanRead, summary="Check for anomalies"
)
def refresh(ref: str, caller: Records, body: StepAction | None = None) -> PlanRead:
    """Pause any branch with a new signal since recovery began, and recompute if so."""
    plan = pausing.refresh(caller.session, clock=caller.clock, ref=caller.target.id)
    return views.plan_read(plan)


@router.post(
    "/incidents/{ref}/recovery/steps/{key}/start", response_model=StepRead, summary="Start a step"
)
def start_step(ref: str, key: str, caller: Records, body: StepAction | None = None) -> StepRead:
    """Begin a ready step; the steps done now become its rollback point."""
    step = verification.start_step(
        caller.session, clock=caller.clock, ref=caller.target.id, asset=key, actor=caller.person.key
    )
    return views.step_read(step)


@router.post(
    "/incidents/{ref}/recovery/steps/{key}/complete",
    response_model=StepRead,
    summary="Finish a step's work",
)
def complete_step(ref: str, key: str, caller: Records, body: StepAction | None = None) -> StepRead:
    """Finish the work and judge the gates: done if all pass; a failure rolls back."""
    step = verification.complete_step(
        caller.session, clock=caller.clock, ref=caller.target.id, asset=key, actor=caller.person.key
    )
    return views.step_read(step)


@router.post(
    "/incidents/{ref}/recovery/steps/{key}/readings",
    response_model=StepRead,
    summary="Post readings and re-judge gates",
)
def post_readings(ref: str, key: str, body: ReadingsIn, caller: Records) -> StepRead:
    """Keep the readings (checked against the metric dictionary), then judge the gates again."""
    now = caller.clock.now()
    samples = [
        supply_service.sample(key, r.metric, r.value, r.unit, (r.at or now).astimezone(UTC))
        for r in body.readings
    ]
    supply_service.record_readings(caller.session, clock=caller.clock, samples=samples)
    step = verification.check_gates(
        caller.session, clock=caller.clock, ref=caller.target.id, asset=key, actor=caller.person.key
    )
    return views.step_read(step)


@router.post(
    "/incidents/{ref}/recovery/steps/{key}/gate",
    response_model=StepRead,
    summary="Record a manual gate",
)
def record_gate(ref: str, key: str, body: GateRecord, caller: Records) -> StepRead:
    """Record a gate telemetry cannot judge (backups validated, state restored)."""
    step = verification.record_gate(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        asset=key,
        gate=body.gate,
        passed=body.passed,
        note=body.note,
        actor=caller.person.key,
    )
    return views.step_read(step)


@router.post(
    "/incidents/{ref}/recovery/steps/{key}/resume",
    response_model=PlanRead,
    summary="Resume a paused branch",
)
def resume(ref: str, key: str, caller: Commands, body: StepAction | None = None) -> PlanRead:
    """Resume a branch paused by an anomaly, once its signal has cleared."""
    plan = pausing.resume(
        caller.session, clock=caller.clock, ref=caller.target.id, asset=key, actor=caller.person.key
    )
    return views.plan_read(plan)


@router.get("/recovery/supply", summary="Spares and vendor contracts")
def show_supply(caller: ReadsFacility) -> dict[str, list[dict[str, object]]]:
    """Spares per site and vendor contracts with SLAs, windows and lead times."""
    return {
        "spares": [
            {"site": s.site, "part": s.part, "quantity": s.quantity, "fits": s.fits}
            for s in supply_service.spares(caller.session)
        ],
        "contracts": [
            {
                "vendor": c.vendor,
                "response_hours": c.response_hours,
                "repair_hours": c.repair_hours,
                "maintenance_windows": c.windows,
                "parts": c.parts,
            }
            for c in supply_service.contracts(caller.session)
        ],
    }


@router.post(
    "/recovery/supply",
    response_model=SupplyResult,
    summary="Load spares and vendor contracts",
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
async def load_supply(request: Request, caller: ManagesFacility) -> SupplyResult:
    """Replace spares and contracts with a YAML or JSON document; any problem changes nothing."""
    data = load_yaml_mapping(await request.body(), source="body")
    report = supply_service.load_supply(
        caller.session, clock=caller.clock, data=data, actor=caller.person.key, source="api"
    )
    return SupplyResult(spares=report.spares, contracts=report.contracts)
