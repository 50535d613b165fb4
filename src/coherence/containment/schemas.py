"""Containment request and response shapes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from coherence.containment.domain import ChangeState, Risk
from coherence.documents import Key

Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=2000, strip_whitespace=True)]
Reason = Annotated[str, StringConstraints(min_length=1, max_length=2000, strip_whitespace=True)]

AD_HOC_FIELDS = ("title", "what", "why", "expected_effect", "risk", "rollback_plan")


class Request(BaseModel):
    """Base of every containment request: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class ChangeCreate(Request):
    """Propose a change: name a procedure of the incident's playbook, or describe it in full."""

    procedure: Key | None = Field(None, description="A procedure key of the incident's playbook.")
    title: Title | None = None
    what: LongText | None = None
    why: LongText | None = None
    expected_effect: LongText | None = None
    risk: Risk | None = None
    rollback_plan: LongText | None = None
    safety_critical: bool = False
    preconditions: list[LongText] = Field(default_factory=list, max_length=20)
    assets: list[Key] = Field(
        default_factory=list, max_length=50, description="Asset keys; default: the incident's."
    )

    @model_validator(mode="after")
    def _procedure_or_fields(self) -> ChangeCreate:
        given = [name for name in AD_HOC_FIELDS if getattr(self, name) is not None]
        if self.procedure is not None:
            if given or self.preconditions or self.safety_critical:
                raise ValueError(
                    "a change from a procedure takes its fields from the playbook; give only "
                    f"procedure and assets (also given: {', '.join(given) or 'preconditions'})"
                )
            return self
        missing = [name for name in AD_HOC_FIELDS if getattr(self, name) is None]
        if missing:
            raise ValueError(
                f"an ad hoc change needs {', '.join(missing)} (or name a playbook procedure)"
            )
        return self


class ApproveRequest(Request):
    """Approve a change."""

    note: Note = ""


class CheckRequest(Request):
    """Check one precondition as met."""

    precondition: int = Field(ge=1, le=100, description="Its number, counted from 1.")
    note: Note = ""


class ExecuteRequest(Request):
    """Mark a change executed."""

    note: Note = ""


class VerifyRequest(Request):
    """Mark a change verified, saying how."""

    how: Reason = Field(description="How the effect was verified.")


class ReasonRequest(Request):
    """Roll back or cancel a change, saying why."""

    reason: Reason


class OverrideRequest(Request):
    """Let the incident become contained despite executed, unverified changes."""

    reason: Reason


class ApprovalRead(BaseModel):
    """One approval."""

    person: str
    at: datetime
    note: str


class PreconditionRead(BaseModel):
    """One precondition and whether it was checked met."""

    number: int
    text: str
    met: bool
    checked_by: str | None
    checked_at: datetime | None
    note: str


class ChangeRead(BaseModel):
    """A change record in full."""

    id: int
    incident: str
    procedure: str | None
    title: str
    what: str
    why: str
    assets: list[str]
    expected_effect: str
    risk: Risk
    rollback_plan: str
    safety_critical: bool
    state: ChangeState
    state_text: str
    approvals: list[ApprovalRead]
    approvals_needed: int
    preconditions: list[PreconditionRead]
    proposed_by: str
    proposed_at: datetime
    executed_by: str | None
    executed_at: datetime | None
    verified_by: str | None
    verified_at: datetime | None
    verification: str | None
    ended_by: str | None
    ended_at: datetime | None
    ended_reason: str | None


class OverrideRead(BaseModel):
    """A containment override."""

    id: int
    incident: str
    reason: str
    unverified: list[int]
    recorded_by: str
    recorded_at: datetime
