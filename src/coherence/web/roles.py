"""Taking or handing out an ICS role from the incident page, as the API's role call does."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import Response

from coherence.access.policy import Action
from coherence.http import ClockDep, SessionDep
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import RoleAssign
from coherence.web.auth import same_origin
from coherence.web.forms import act, parse
from coherence.web.guards import PageRecords

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])

FormText = Annotated[str | None, Form()]


@router.post("/incidents/{ref}/roles")
def assign_role(
    request: Request,
    ref: str,
    session: SessionDep,
    clock: ClockDep,
    caller: PageRecords,
    role: FormText = None,
    person: FormText = None,
    override_reason: FormText = None,
) -> Response:
    """Take a free role yourself, or, as incident commander, give a role to someone."""

    def change() -> None:
        body = parse(
            RoleAssign,
            role=role,
            person=person or caller.person.key,
            override_reason=override_reason or None,
        )
        if not incidents_service.may_take_role(
            caller.target, role=body.role, person_key=caller.person.key, target=body.person
        ):
            caller.require(Action.COMMAND, caller.target)
        incidents_service.assign_role(
            session,
            clock=clock,
            ref=ref,
            role=body.role,
            person_key=body.person,
            actor=caller.person.key,
            policy=request.app.state.settings.qualification_policy,
            override_reason=body.override_reason,
        )

    values = {"role": role, "person": person, "override_reason": override_reason}
    return act(request, caller, change, values=values, anchor="#roles")
