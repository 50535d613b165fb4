"""Dashboard forms for the restoration plan: the API's actions, with its schemas and access rules.

There is no form to roll a step back by hand, as there is no such API call: a step rolls back
when one of its gates fails, so recording a manual gate as failed is how a person does it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.errors import ValidationFailed
from coherence.recovery import pausing, service, supply_service, verification
from coherence.recovery.schemas import GateRecord, PlanCreate, ReadingIn
from coherence.web.auth import same_origin
from coherence.web.forms import act, lines, parse, words
from coherence.web.guards import PageCommands, PageRecords

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
FormText = Annotated[str | None, Form()]
ANCHOR = "#recovery"


def number_or_state(value: str | None) -> float | str | None:
    """A typed value as a number when it reads as one, else as a state (as the CLI takes it)."""
    if value is None or not value.strip():
        return None
    try:
        return float(value)
    except ValueError:
        return value.strip()


def part_pairs(text: str | None) -> dict[str, str]:
    """``asset=part`` lines as a mapping; a line without ``=`` is refused, naming it."""
    pairs: dict[str, str] = {}
    for number, line in enumerate(lines(text), start=1):
        asset, sep, part = line.partition("=")
        if not sep:
            raise ValidationFailed(
                f"Parts (parts) line {number} {line!r} is not asset=part", field="parts"
            )
        pairs[asset.strip()] = part.strip()
    return pairs


@router.post("/incidents/{ref}/recovery")
def make_plan(
    request: Request,
    ref: str,
    caller: PageCommands,
    also: FormText = None,
    parts: FormText = None,
) -> Response:
    """Plan restoration (or recompute it as a new version keeping every step's state)."""

    def change() -> object:
        body = parse(PlanCreate, also=words(also), parts=part_pairs(parts))
        return service.make_plan(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            actor=caller.person.key,
            also=body.also,
            parts=body.parts,
        )

    values = {"recovery_also": also, "recovery_parts": parts}
    return act(request, caller, change, values=values, anchor=ANCHOR)


@router.post("/incidents/{ref}/recovery/refresh")
def refresh(request: Request, ref: str, caller: PageRecords) -> Response:
    """Pause any branch with a new signal since recovery began, and recompute if so."""

    def change() -> object:
        return pausing.refresh(caller.session, clock=caller.clock, ref=caller.target.id)

    return act(request, caller, change, anchor=ANCHOR)


@router.post("/incidents/{ref}/recovery/steps/{key}/start")
def start_step(request: Request, ref: str, key: str, caller: PageRecords) -> Response:
    """Begin a ready step; the steps done now become its rollback point."""
    return _on_step(request, caller, key, verification.start_step)


@router.post("/incidents/{ref}/recovery/steps/{key}/complete")
def complete_step(request: Request, ref: str, key: str, caller: PageRecords) -> Response:
    """Finish the work and judge the gates: done if all pass; a failure rolls back."""
    return _on_step(request, caller, key, verification.complete_step)


def _on_step(request: Request, caller: Caller, key: str, action: Callable[..., object]) -> Response:
    """Apply one step action as the caller, and go back to the plan."""

    def change() -> object:
        return action(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            asset=key,
            actor=caller.person.key,
        )

    return act(request, caller, change, anchor=ANCHOR)


@router.post("/incidents/{ref}/recovery/steps/{key}/readings")
def post_reading(
    request: Request,
    ref: str,
    key: str,
    caller: PageRecords,
    metric: FormText = None,
    value: FormText = None,
    unit: FormText = None,
) -> Response:
    """Keep a reading (checked against the metric dictionary), then judge the gates again."""

    def change() -> object:
        reading = parse(ReadingIn, metric=metric, value=number_or_state(value), unit=unit)
        at = caller.clock.now().astimezone(UTC)
        samples = [supply_service.sample(key, reading.metric, reading.value, reading.unit, at)]
        supply_service.record_readings(caller.session, clock=caller.clock, samples=samples)
        return verification.check_gates(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            asset=key,
            actor=caller.person.key,
        )

    values = {f"reading_{key}_metric": metric, f"reading_{key}_value": value}
    values[f"reading_{key}_unit"] = unit
    return act(request, caller, change, values=values, anchor=ANCHOR)


@router.post("/incidents/{ref}/recovery/steps/{key}/gate")
def record_gate(
    request: Request,
    ref: str,
    key: str,
    caller: PageRecords,
    gate: FormText = None,
    passed: FormText = None,
    note: FormText = None,
) -> Response:
    """Record a gate telemetry cannot judge; a failed gate rolls the step back."""

    def change() -> object:
        body = parse(GateRecord, gate=gate, passed=passed, note=note)
        return verification.record_gate(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            asset=key,
            gate=body.gate,
            passed=body.passed,
            note=body.note,
            actor=caller.person.key,
        )

    values = {f"gate_{key}_{gate}": note}
    return act(request, caller, change, values=values, anchor=ANCHOR)


@router.post("/incidents/{ref}/recovery/steps/{key}/resume")
def resume(request: Request, ref: str, key: str, caller: PageCommands) -> Response:
    """Resume a branch paused by an anomaly, once its signal has cleared."""

    def change() -> object:
        return pausing.resume(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            asset=key,
            actor=caller.person.key,
        )

    return act(request, caller, change, anchor=ANCHOR)
