"""Telemetry and alert intake over HTTP."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from coherence.access.api import Ingests, InjectsFaults, WatchesIntake
from coherence.access.throttle import RATE_LIMITED_RESPONSE, IntakeLimit
from coherence.detection import formats
from coherence.detection.pipeline import IngestReport, Pipeline
from coherence.detection.schemas import (
    FaultInjection,
    FaultRead,
    IntakeResult,
    IntakeStatus,
    RejectedSample,
)
from coherence.detection.simulation import SimulationRunner
from coherence.detection.simulator import InjectionRefused
from coherence.errors import Conflict, ValidationFailed
from coherence.http import ERROR_RESPONSES
from coherence.incidents.domain import reference

router = APIRouter(prefix="/api/v1", tags=["detection"], responses=ERROR_RESPONSES)

BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"type": ["array", "object"]}},
            "application/x-ndjson": {"schema": {"type": "string"}},
        },
    }
}


# A batch with no usable item is answered 422 with the same IntakeResult, listing each refusal.
INTAKE_RESPONSES: dict[int | str, dict[str, Any]] = {
    422: {
        "description": "Nothing usable: every refused item listed (IntakeResult), or a body that "
        "cannot be read at all (ErrorBody).",
        "content": {
            "application/json": {
                "schema": {
                    "anyOf": [
                        {"$ref": "#/components/schemas/IntakeResult"},
                        {"$ref": "#/components/schemas/ErrorBody"},
                    ]
                }
            }
        },
    },
    429: RATE_LIMITED_RESPONSE,
}


def _pipeline(request: Request) -> Pipeline:
    pipeline: Pipeline = request.app.state.pipeline
    return pipeline


def _result(report: IngestReport) -> JSONResponse:
    body = IntakeResult(
        accepted=report.accepted,
        rejected=[
            RejectedSample(index=r.index, field=r.field, message=r.message) for r in report.rejected
        ],
        incidents_opened=[reference(i) for i in report.opened],
        incidents_updated=[reference(i) for i in report.updated],
    )
    # Nothing usable in the batch is the sender's error; a partly good batch is accepted.
    status = 422 if report.rejected and not report.accepted else 200
    return JSONResponse(body.model_dump(mode="json"), status_code=status)


@router.post(
    "/telemetry",
    response_model=IntakeResult,
    summary="Send telemetry",
    openapi_extra=BODY,
    dependencies=[IntakeLimit],
    responses=INTAKE_RESPONSES,
)
async def send_telemetry(request: Request, _caller: Ingests) -> JSONResponse:
    """Take a batch of samples: a JSON array, NDJSON, or one columnar series.

    Each refused sample is listed with its index and reason; the rest are evaluated.
    """
    body = await request.body()
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type in ("application/x-ndjson", "application/jsonl", "application/ndjson"):
        samples, rejected = formats.parse_ndjson(body)
        items = [i for i, line in enumerate(body.splitlines()) if line.strip()]
    elif body.lstrip()[:1] == b"{":
        samples, rejected = formats.parse_columnar(body)
        items = list(range(len(samples) + len(rejected)))
    elif body.lstrip()[:1] == b"[":
        samples, rejected = formats.parse_json_array(body)
        items = list(range(len(samples) + len(rejected)))
    else:
        raise ValidationFailed(
            "send a JSON array of samples, one columnar series object, or NDJSON "
            "(Content-Type: application/x-ndjson)",
            field="body",
        )
    # Where each parsed sample stood in the body, so later refusals name the right item.
    refused = {r.index for r in rejected}
    positions = [i for i in items if i not in refused]
    pipeline = _pipeline(request)
    return _result(await run_in_threadpool(pipeline.ingest, samples, rejected, positions))


@router.post(
    "/alerts/alertmanager",
    response_model=IntakeResult,
    summary="Prometheus Alertmanager webhook",
    dependencies=[IntakeLimit],
    responses=INTAKE_RESPONSES,
)
async def alertmanager(request: Request, _caller: Ingests) -> JSONResponse:
    """Take an Alertmanager webhook (version 4); the alert's `asset` label names the asset."""
    alerts, rejected = formats.parse_alertmanager(await request.body())
    report = await run_in_threadpool(_pipeline(request).ingest_alerts, alerts)
    report.rejected.extend(rejected)
    return _result(report)


@router.post(
    "/signals",
    response_model=IntakeResult,
    summary="Raise or clear a signal",
    dependencies=[IntakeLimit],
    responses=INTAKE_RESPONSES,
)
async def generic_signal(request: Request, _caller: Ingests) -> JSONResponse:
    """Raise or clear one signal from any system, de-duplicated on its `dedup_key`."""
    received_at = request.app.state.clock.now().timestamp()
    alert = formats.parse_generic_signal(await request.body(), received_at=received_at)
    return _result(await run_in_threadpool(_pipeline(request).ingest_alerts, [alert]))


@router.get("/telemetry/status", response_model=IntakeStatus, summary="Detector status")
def status(request: Request, _caller: WatchesIntake) -> IntakeStatus:
    """How many series the detector tracks, and what MQTT intake has taken and refused."""
    stats = request.app.state.mqtt_stats
    return IntakeStatus(
        tracked_series=_pipeline(request).tracked_series,
        mqtt_enabled=bool(request.app.state.settings.mqtt_url),
        mqtt_active=stats.active,
        mqtt_received=stats.received,
        mqtt_accepted=stats.accepted,
        mqtt_rejected=stats.rejected,
        mqtt_last_rejections=list(stats.last_rejections),
    )


def _simulation(request: Request) -> SimulationRunner:
    runner: SimulationRunner | None = request.app.state.simulation
    if runner is None:
        raise Conflict(
            "no simulation is running; start the server with `coherence serve --simulate`",
            field="simulation",
        )
    return runner


@router.get("/simulator/faults", response_model=list[FaultRead], summary="Simulated faults")
def list_faults(request: Request, _caller: WatchesIntake) -> list[FaultRead]:
    """Faults injected into the running simulation (409 when none is running)."""
    return [
        FaultRead(fault=i.fault.name, asset=i.asset, strikes_at=i.since)
        for i in _simulation(request).simulator.injections
    ]


@router.post(
    "/simulator/faults",
    response_model=FaultRead,
    status_code=201,
    summary="Inject a simulated fault",
)
def inject_fault(body: FaultInjection, request: Request, _caller: InjectsFaults) -> FaultRead:
    """Strike a simulated asset with a named fault, now or after a delay."""
    runner = _simulation(request)
    at = request.app.state.clock.now().timestamp() + body.after_seconds
    try:
        injection = runner.simulator.inject(body.fault, body.asset, at)
    except InjectionRefused as exc:
        raise ValidationFailed(str(exc), field=exc.field) from None
    return FaultRead(fault=injection.fault.name, asset=injection.asset, strikes_at=injection.since)
