"""Containment HTTP API: change records on an incident, their sign-offs, and the gate override."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from coherence.access.api import Caller, Commands, Reads, Records
from coherence.containment import service, views
from coherence.containment.models import ChangeRecord
from coherence.containment.schemas import (
    ApproveRequest,
    ChangeCreate,
    ChangeRead,
    CheckRequest,
    ExecuteRequest,
    OverrideRead,
    OverrideRequest,
    ReasonRequest,
    VerifyRequest,
)
from coherence.http import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["containment"], responses=ERROR_RESPONSES)


@router.get(
    "/incidents/{ref}/changes", response_model=list[ChangeRead], summary="List change records"
)
def list_changes(ref: str, caller: Reads) -> list[ChangeRead]:
    """The incident's containment change records, oldest first."""
    return [views.change_read(c) for c in service.changes_for(caller.session, caller.target.id)]


@router.post(
    "/incidents/{ref}/changes",
    response_model=ChangeRead,
    status_code=201,
    summary="Propose a change",
)
def propose(ref: str, body: ChangeCreate, caller: Records) -> ChangeRead:
    """Propose a change from a procedure of the incident's playbook, or describe one ad hoc."""
    change = service.propose(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        request=body,
        actor=caller.person.key,
    )
    return views.change_read(change)


@router.post(
    "/incidents/{ref}/containment-override",
    response_model=OverrideRead,
    status_code=201,
    summary="Override the containment gate",
)
def override(ref: str, body: OverrideRequest, caller: Commands) -> OverrideRead:
    """The incident commander lets the incident be contained despite unverified changes."""
    row = service.record_override(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        reason=body.reason,
        actor=caller.person.key,
    )
    return views.override_read(row)


@router.get("/changes/{change_id}", response_model=ChangeRead, summary="Show a change record")
def show(change_id: int, caller: Reads) -> ChangeRead:
    """One change record with its approvals, preconditions and verification."""
    return views.change_read(service.get_or_raise(caller.session, change_id))


@router.post("/changes/{change_id}/approve", response_model=ChangeRead, summary="Approve a change")
def approve(change_id: int, body: ApproveRequest, caller: Records) -> ChangeRead:
    """Approve as someone other than the proposer; safety-critical changes need two people."""
    return views.change_read(
        service.approve(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            note=body.note,
            actor=caller.person.key,
        )
    )


@router.post(
    "/changes/{change_id}/check", response_model=ChangeRead, summary="Check a precondition"
)
def check(change_id: int, body: CheckRequest, caller: Records) -> ChangeRead:
    """Record that one precondition (by number) is met."""
    return views.change_read(
        service.check_precondition(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            number=body.precondition,
            note=body.note,
            actor=caller.person.key,
        )
    )


@router.post(
    "/changes/{change_id}/execute", response_model=ChangeRead, summary="Mark a change executed"
)
def execute(change_id: int, body: ExecuteRequest, caller: Records) -> ChangeRead:
    """Refused, saying why, until the change is approved and its preconditions are met."""
    return views.change_read(
        service.execute(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            note=body.note,
            actor=caller.person.key,
        )
    )


@router.post(
    "/changes/{change_id}/verify", response_model=ChangeRead, summary="Mark a change verified"
)
def verify(change_id: int, body: VerifyRequest, caller: Records) -> ChangeRead:
    """Record how the executed change was verified to have its expected effect."""
    return views.change_read(
        service.verify(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            how=body.how,
            actor=caller.person.key,
        )
    )


@router.post(
    "/changes/{change_id}/rollback", response_model=ChangeRead, summary="Roll back a change"
)
def rollback(change_id: int, body: ReasonRequest, caller: Records) -> ChangeRead:
    """Record that an executed change was undone, and why."""
    return _end(change_id, body, caller, service.roll_back)


@router.post("/changes/{change_id}/cancel", response_model=ChangeRead, summary="Cancel a change")
def cancel(change_id: int, body: ReasonRequest, caller: Records) -> ChangeRead:
    """Cancel a change before it is executed, and say why."""
    return _end(change_id, body, caller, service.cancel)


def _end(
    change_id: int, body: ReasonRequest, caller: Caller, ending: Callable[..., ChangeRecord]
) -> ChangeRead:
    """Roll back or cancel a change with the caller's reason."""
    return views.change_read(
        ending(
            caller.session,
            clock=caller.clock,
            change_id=change_id,
            reason=body.reason,
            actor=caller.person.key,
        )
    )
