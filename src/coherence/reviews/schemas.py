"""Pydantic shapes of after-action reviews, findings, playbook changes and review standings."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coherence.reviews.domain import ChangeStatus, FindingStatus

Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
Text = Annotated[str, StringConstraints(min_length=1, max_length=10_000, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=10_000, strip_whitespace=True)]
PersonKey = Annotated[str, StringConstraints(min_length=1, max_length=128, strip_whitespace=True)]
PlaybookKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$")
]


class Strict(BaseModel):
    """A request body: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class ReviewUpdate(Strict):
    """Start a review or change its summary."""

    summary: Note = ""


class FindingCreate(Strict):
    """A finding: what happened, who follows it up and by when."""

    title: Title
    what_happened: Text
    owner: PersonKey = Field(description="Person key of who follows it up.")
    due_on: date | None = Field(None, description="Date the follow-up is due (YYYY-MM-DD).")


class FindingUpdate(Strict):
    """Change any of a finding's fields; won't-do needs a reason."""

    title: Title | None = None
    what_happened: Text | None = None
    owner: PersonKey | None = None
    due_on: date | None = None
    status: FindingStatus | None = None
    reason: Note | None = Field(None, description="Why it will not be done (for wont_do).")


class ChangeCreate(Strict):
    """A proposed new version of a playbook, and why."""

    rationale: Text = Field(description="What the change fixes, in a sentence or two.")
    document: dict[str, Any] = Field(description="The whole proposed playbook document.")


class Decision(Strict):
    """A reviewer's note on approving or rejecting a change."""

    note: Note = ""


class PlaybookReviewCreate(Strict):
    """Record that a playbook was reviewed and needs no change."""

    playbook: PlaybookKey
    note: Note = ""


class ChangeRead(BaseModel):
    """A proposed playbook change with the diff from the current version."""

    id: int
    finding: str
    playbook: str
    base_version: int | None
    status: ChangeStatus
    rationale: str
    proposed_by: str
    proposed_at: datetime
    submitted_at: datetime | None
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str | None
    published_version: int | None
    diff: str = Field(description="Unified diff of the YAML, current (or base) to proposed.")


class FindingRead(BaseModel):
    """A finding with its follow-up and any playbook changes proposed for it."""

    reference: str
    number: int
    title: str
    what_happened: str
    owner: str
    due_on: date | None
    status: FindingStatus
    reason: str | None
    overdue: bool
    created_by: str
    created_at: datetime
    updated_at: datetime
    playbook_versions: list[str] = Field(description="Versions published from it, key@version.")
    changes: list[ChangeRead]


class ReviewRead(BaseModel):
    """An incident's after-action review."""

    incident: str
    kind: str
    incident_status: str
    summary: str
    started_by: str
    started_at: datetime
    findings: list[FindingRead]


class StandingRead(BaseModel):
    """A playbook's review standing."""

    playbook: str
    title: str
    version: int
    interval_days: int
    last_reviewed_at: datetime
    last_review: str
    due_at: datetime
    overdue: bool


class PlaybookReviewRead(BaseModel):
    """A recorded review with no change."""

    playbook: str
    version: int
    note: str
    reviewed_by: str
    reviewed_at: datetime
