"""Authentication at the HTTP edge."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from coherence.access import break_glass, guard, service
from coherence.access.domain import DataCategory, Tlp
from coherence.access.models import BreakGlassGrant
from coherence.access.policy import Action, Decision
from coherence.access.redaction import Redactions, placeholder, redact_payload
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms.models import Statement
from coherence.containment.models import ChangeRecord
from coherence.db import session_scope
from coherence.errors import NotFound, ValidationFailed
from coherence.evidence.models import EvidenceItem
from coherence.http import ERROR_RESPONSES, RowId, SessionDep
from coherence.incidents import repository as incident_repository
from coherence.incidents import service as incident_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.incidents.schemas import TimelineEntry
from coherence.watch import service as watch_service

WEB_TOKEN_COOKIE = "coherence_token"


# The API takes bearer tokens only: a browser's dashboard cookie must not authorise API writes.
bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `coherence token create --person KEY`.",
)


def current_person(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Person:
    """Return the person whose token came with the request, or answer 401."""
    return service.authenticate(session, credentials.credentials if credentials else None)


CurrentPerson = Annotated[Person, Depends(current_person)]


def caller_key(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> str:
    """Authenticate in a transaction of its own and return the caller's person key.

    Intake endpoints hand the batch to the detector, which writes in transactions of its
    own; holding the request's transaction open meanwhile would block them on SQLite.
    """
    with session_scope(request.app.state.session_factory) as session:
        return service.authenticate(session, credentials.credentials if credentials else None).key


CallerKey = Annotated[str, Depends(caller_key)]


@dataclass
class Caller:
    """An authenticated person the policy allowed in, with what was decided and about what."""

    person: Person
    action: Action
    decision: Decision
    incident: Incident | None
    session: Session
    clock: Clock

    @property
    def target(self) -> Incident:
        """The incident the request's path names."""
        if self.incident is None:
            raise NotFound("this request names no incident", field="incident")
        return self.incident

    def require(self, action: Action, incident: Incident | None, *, tlp: Tlp | None = None) -> None:
        """Raise PermissionDenied unless the caller may also take ``action`` (on ``incident``)."""
        guard.require(
            self.session,
            person=self.person,
            action=action,
            now=self.clock.now(),
            incident=incident,
            tlp=tlp,
        )

    def record_redaction(
        self, what: str, found: Redactions, *, incident: Incident | None = None
    ) -> None:
        """Record in the ledger that this caller was shown ``what`` with fields withheld."""
        guard.record_redaction(
            self.session,
            clock=self.clock,
            reader=self.person.key,
            what=what,
            found=found,
            incident_id=incident.id if incident else None,
        )

    def can(self, action: Action, incident: Incident | None, *, tlp: Tlp | None = None) -> bool:
        """Return whether the caller may take ``action`` (on ``incident``)."""
        return guard.decide_for(
            self.session,
            person=self.person,
            action=action,
            now=self.clock.now(),
            incident=incident,
            tlp=tlp,
        ).allowed


def redact_timeline(caller: Caller, entries: list[TimelineEntry]) -> list[TimelineEntry]:
    """Return the timeline with fields the caller may not read replaced, and record any."""
    found = Redactions([], set())
    shown = [
        entry.model_copy(
            update={
                "payload": redact_payload(
                    entry.type, entry.payload, caller.decision.entitled, found, f"seq{entry.seq}"
                )
            }
        )
        for entry in entries
    ]
    if found:
        caller.record_redaction(f"incident:{caller.target.id}", found, incident=caller.target)
    return shown


def withhold_personal(caller: Caller, what: str, addresses: list[Any]) -> None:
    """Blank the ``address`` of each contact line unless the caller may read personal data."""
    if DataCategory.PERSONAL in caller.decision.entitled or not addresses:
        return
    found = Redactions([], set())
    for index, line in enumerate(addresses):
        line.address = placeholder(DataCategory.PERSONAL)
        found.add(f"{what}.contacts[{index}].address", DataCategory.PERSONAL)
    caller.record_redaction(what, found, incident=caller.incident)


def _incident_of_task(session: Session, raw: str) -> tuple[Incident | None, Tlp | None]:
    task = incident_repository.get_task(session, _path_int(raw, "task_id"))
    if task is None:
        raise NotFound(f"no task {raw}", field="task_id")
    return incident_service.get_or_raise(session, task.incident_id), None


def _incident_of_statement(session: Session, raw: str) -> tuple[Incident | None, Tlp | None]:
    statement = session.get(Statement, _path_int(raw, "statement_id"))
    if statement is None:
        raise NotFound(f"no statement {raw}", field="statement_id")
    return incident_service.get_or_raise(session, statement.incident_id), None


def _incident_of_evidence(session: Session, raw: str) -> tuple[Incident | None, Tlp | None]:
    item = session.get(EvidenceItem, _path_int(raw, "item_id"))
    if item is None:
        raise NotFound(f"no evidence item {raw}", field="item_id")
    incident = (
        incident_service.get_or_raise(session, item.incident_id) if item.incident_id else None
    )
    return incident, Tlp(item.tlp)


def _incident_of_change(session: Session, raw: str) -> tuple[Incident | None, Tlp | None]:
    change = session.get(ChangeRecord, _path_int(raw, "change_id"))
    if change is None:
        raise NotFound(f"no change record {raw}", field="change_id")
    return incident_service.get_or_raise(session, change.incident_id), None


def _path_int(raw: str, name: str) -> int:
    if not raw.isdecimal() or len(raw) > 12:
        raise ValidationFailed(f"{name} must be a whole number", field=name)
    return int(raw)


# How a path parameter leads to the incident (and record label) an action is about.
RESOLVERS: dict[str, Callable[[Session, str], tuple[Incident | None, Tlp | None]]] = {
    "ref": lambda session, raw: (incident_service.get_or_raise(session, raw), None),
    "task_id": _incident_of_task,
    "statement_id": _incident_of_statement,
    "item_id": _incident_of_evidence,
    "change_id": _incident_of_change,
}


def authorize(request: Request, session: Session, person: Person, action: Action) -> Caller:
    """Decide ``action`` for ``person`` on whatever the request's path names; 403 if refused."""
    clock: Clock = request.app.state.clock
    incident: Incident | None = None
    tlp: Tlp | None = None
    for name, raw in request.path_params.items():
        if name in RESOLVERS and action.on_incident:
            incident, tlp = RESOLVERS[name](session, str(raw))
    decision = guard.require(
        session, person=person, action=action, now=clock.now(), incident=incident, tlp=tlp
    )
    if action is Action.READ and incident is not None:
        path, now = request.url.path, clock.now()
        watch_service.record_read(
            session, person=person, incident=incident, tlp=tlp, path=path, at=now
        )
    return Caller(person, action, decision, incident, session, clock)


class Allow:
    """A route dependency: authenticate the bearer token and ask the policy about ``action``."""

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(self, request: Request, session: SessionDep, person: CurrentPerson) -> Caller:
        return authorize(request, session, person, self.action)


class Public:
    """A route dependency marking an endpoint that needs no sign-in, and why."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __call__(self) -> None:
        return None


class AllowInOwnTransaction:
    """Like :class:`Allow` for a facility action, deciding in a transaction of its own.

    Intake endpoints hand the batch to the detector, which writes in transactions of its
    own; holding the request's transaction open meanwhile would block them on SQLite.
    """

    def __init__(self, action: Action) -> None:
        self.action = action

    def __call__(
        self,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    ) -> str:
        with session_scope(request.app.state.session_factory) as session:
            person = service.authenticate(session, credentials.credentials if credentials else None)
            guard.require(
                session, person=person, action=self.action, now=request.app.state.clock.now()
            )
            return person.key


Myself = Annotated[Caller, Depends(Allow(Action.SELF))]
ReadsFacility = Annotated[Caller, Depends(Allow(Action.READ_FACILITY))]
ManagesFacility = Annotated[Caller, Depends(Allow(Action.MANAGE_FACILITY))]
ManagesOnCall = Annotated[Caller, Depends(Allow(Action.MANAGE_ONCALL))]
DraftsStatements = Annotated[Caller, Depends(Allow(Action.DRAFT_STATEMENTS))]
Audits = Annotated[Caller, Depends(Allow(Action.AUDIT))]
ListsIncidents = Annotated[Caller, Depends(Allow(Action.LIST_INCIDENTS))]
OpensIncident = Annotated[Caller, Depends(Allow(Action.OPEN_INCIDENT))]
Reads = Annotated[Caller, Depends(Allow(Action.READ))]
Records = Annotated[Caller, Depends(Allow(Action.RECORD))]
Commands = Annotated[Caller, Depends(Allow(Action.COMMAND))]
Reopens = Annotated[Caller, Depends(Allow(Action.REOPEN))]
Communicates = Annotated[Caller, Depends(Allow(Action.COMMUNICATE))]
Reports = Annotated[Caller, Depends(Allow(Action.REPORT))]
BreaksGlass = Annotated[Caller, Depends(Allow(Action.BREAK_GLASS))]
Ingests = Annotated[str, Depends(AllowInOwnTransaction(Action.INGEST))]
InjectsFaults = Annotated[str, Depends(AllowInOwnTransaction(Action.OPEN_INCIDENT))]
WatchesIntake = Annotated[str, Depends(AllowInOwnTransaction(Action.READ_FACILITY))]


router = APIRouter(prefix="/api/v1", tags=["access"], responses=ERROR_RESPONSES)


class Me(BaseModel):
    """The caller, as the server sees them."""

    key: str
    name: str
    organisation: str
    roles: list[str]


@router.get("/me", summary="Who am I", response_model=Me)
def me(caller: Myself) -> Me:
    """Return the person the API token belongs to."""
    return Me(
        key=caller.person.key,
        name=caller.person.name,
        organisation=caller.person.organisation.key,
        roles=list(caller.person.roles),
    )


class BreakGlassRequest(BaseModel):
    """Why you need emergency access, and for how long."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=2000, description="Recorded and sent to the IC.")
    minutes: int = Field(
        break_glass.DEFAULT_MINUTES, ge=1, le=break_glass.MAX_MINUTES, description="How long."
    )


class GrantRead(BaseModel):
    """A break-glass grant."""

    id: int
    person: str
    incident: str
    reason: str
    started_at: datetime
    expires_at: datetime
    ended_at: datetime | None


def grant_read(grant: BreakGlassGrant) -> GrantRead:
    """Return a grant's read model."""
    return GrantRead(
        id=grant.id,
        person=grant.person.key,
        incident=reference(grant.incident_id),
        reason=grant.reason,
        started_at=grant.started_at,
        expires_at=grant.expires_at,
        ended_at=grant.ended_at,
    )


@router.post(
    "/incidents/{ref}/break-glass",
    response_model=GrantRead,
    status_code=201,
    summary="Take break-glass access",
)
def take_break_glass(ref: str, body: BreakGlassRequest, caller: BreaksGlass) -> GrantRead:
    """Emergency access to an incident you cannot otherwise act on, for up to four hours.

    The reason goes into the ledger and to the incident commander and safety officer."""
    grant = break_glass.take(
        caller.session,
        clock=caller.clock,
        person_key=caller.person.key,
        ref=caller.target.id,
        reason=body.reason,
        minutes=body.minutes,
    )
    return grant_read(grant)


@router.delete(
    "/break-glass/{grant_id}", response_model=GrantRead, summary="End break-glass access"
)
def end_break_glass(grant_id: RowId, caller: Myself) -> GrantRead:
    """Give up a grant early; its holder or an administrator may."""
    return grant_read(
        break_glass.end(caller.session, clock=caller.clock, grant_id=grant_id, actor=caller.person)
    )


@router.get("/break-glass", response_model=list[GrantRead], summary="Break-glass grants")
def list_break_glass(
    caller: Audits,
    active: bool = Query(False, description="Only grants still in force."),
) -> list[GrantRead]:
    """Every grant, newest first, for review."""
    return [
        grant_read(g)
        for g in break_glass.grants(caller.session, now=caller.clock.now(), active_only=active)
    ]
