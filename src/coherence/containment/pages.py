"""Dashboard forms for change records: the API's actions, with its schemas and access rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.containment import service
from coherence.containment.schemas import (
    ApproveRequest,
    ChangeCreate,
    CheckRequest,
    ExecuteRequest,
    OverrideRequest,
    ReasonRequest,
    VerifyRequest,
)
from coherence.web.auth import same_origin
from coherence.web.forms import act, lines, parse, words
from coherence.web.guards import PageCommands, PageRecords

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
FormText = Annotated[str | None, Form()]


@router.post("/incidents/{ref}/changes")
def propose(
    request: Request,
    ref: str,
    caller: PageRecords,
    procedure: FormText = None,
    title: FormText = None,
    what: FormText = None,
    why: FormText = None,
    expected_effect: FormText = None,
    risk: FormText = None,
    rollback_plan: FormText = None,
    safety_critical: FormText = None,
    preconditions: FormText = None,
    assets: FormText = None,
) -> Response:
    """Propose a change from a procedure of the incident's playbook, or describe one ad hoc."""
    typed = {
        "procedure": procedure or None,
        "title": title or None,
        "what": what or None,
        "why": why or None,
        "expected_effect": expected_effect or None,
        "risk": risk or None,
        "rollback_plan": rollback_plan or None,
    }

    def change() -> object:
        body = parse(
            ChangeCreate,
            **typed,
            safety_critical=safety_critical or "false",
            preconditions=lines(preconditions),
            assets=words(assets),
        )
        return service.propose(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            request=body,
            actor=caller.person.key,
        )

    values = {
        **{f"change_{k}": v for k, v in typed.items()},
        "change_preconditions": preconditions,
        "change_assets": assets,
    }
    return act(request, caller, change, values=values, anchor="#changes")


@router.post("/incidents/{ref}/containment-override")
def override(request: Request, ref: str, caller: PageCommands, reason: FormText = None) -> Response:
    """The incident commander lets the incident be contained despite unverified changes."""

    def change() -> object:
        body = parse(OverrideRequest, reason=reason)
        return service.record_override(
            caller.session,
            clock=caller.clock,
            ref=caller.target.id,
            reason=body.reason,
            actor=caller.person.key,
        )

    return act(request, caller, change, values={"override_reason": reason}, anchor="#changes")


@router.post("/changes/{change_id}/approve")
def approve(
    request: Request, change_id: int, caller: PageRecords, note: FormText = None
) -> Response:
    """Approve as someone other than the proposer; safety-critical changes need two people."""

    def change() -> object:
        body = parse(ApproveRequest, note=note)
        return service.approve(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            note=body.note,
            actor=caller.person.key,
        )

    values = {f"approve_{change_id}": note}
    return act(request, caller, change, values=values, anchor=f"#change-{change_id}")


@router.post("/changes/{change_id}/check")
def check(
    request: Request,
    change_id: int,
    caller: PageRecords,
    precondition: FormText = None,
    note: FormText = None,
) -> Response:
    """Record that one precondition (by number) is met."""

    def change() -> object:
        body = parse(CheckRequest, precondition=precondition, note=note)
        return service.check_precondition(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            number=body.precondition,
            note=body.note,
            actor=caller.person.key,
        )

    values = {f"check_{change_id}_{precondition}": note}
    return act(request, caller, change, values=values, anchor=f"#change-{change_id}")


@router.post("/changes/{change_id}/execute")
def execute(
    request: Request, change_id: int, caller: PageRecords, note: FormText = None
) -> Response:
    """Mark a change executed; refused, saying why, until approved with preconditions met."""

    def change() -> object:
        body = parse(ExecuteRequest, note=note)
        return service.execute(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            note=body.note,
            actor=caller.person.key,
        )

    values = {f"execute_{change_id}": note}
    return act(request, caller, change, values=values, anchor=f"#change-{change_id}")


@router.post("/changes/{change_id}/verify")
def verify(request: Request, change_id: int, caller: PageRecords, how: FormText = None) -> Response:
    """Record how the executed change was verified to have its expected effect."""

    def change() -> object:
        body = parse(VerifyRequest, how=how)
        return service.verify(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            how=body.how,
            actor=caller.person.key,
        )

    values = {f"verify_{change_id}": how}
    return act(request, caller, change, values=values, anchor=f"#change-{change_id}")


@router.post("/changes/{change_id}/rollback")
def rollback(
    request: Request, change_id: int, caller: PageRecords, reason: FormText = None
) -> Response:
    """Record that an executed change was undone, and why."""
    return _end(request, change_id, caller, reason, service.roll_back)


@router.post("/changes/{change_id}/cancel")
def cancel(
    request: Request, change_id: int, caller: PageRecords, reason: FormText = None
) -> Response:
    """Cancel a change before it is executed, and say why."""
    return _end(request, change_id, caller, reason, service.cancel)


def _end(
    request: Request,
    change_id: int,
    caller: Caller,
    reason: str | None,
    ending: Callable[..., object],
) -> Response:
    """Roll back or cancel a change with the reason given, and go back to it."""

    def change() -> object:
        body = parse(ReasonRequest, reason=reason)
        return ending(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            reason=body.reason,
            actor=caller.person.key,
        )

    values = {f"end_{change_id}": reason}
    return act(request, caller, change, values=values, anchor=f"#change-{change_id}")
