"""Pydantic I/O for incidents, tasks and the timeline."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from coherence.access.domain import DataCategory, Tlp
from coherence.catalog.domain import IcsRole
from coherence.incidents.domain import Kind, Status, TaskStatus

ShortText = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=10_000, strip_whitespace=True)]
KeyRef = Annotated[str, StringConstraints(min_length=1, max_length=64, strip_whitespace=True)]


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IncidentCreate(_Input):
    """Open an incident against an asset, usually by naming the playbook that applies."""

    asset: KeyRef = Field(description="Key of the affected asset.")
    playbook: KeyRef | None = Field(
        None, description="Key of the playbook to run; its newest version is used."
    )
    category: KeyRef | None = Field(
        None, description="Category, when no playbook is named (or to override it)."
    )
    impact: KeyRef | None = Field(None, description="Impact level; default from the playbook.")
    urgency: KeyRef | None = Field(None, description="Urgency level; default from the playbook.")
    title: ShortText | None = Field(None, description="Default: the playbook title and asset.")
    summary: Annotated[str, StringConstraints(max_length=10_000)] = ""
    kind: Kind = Field(Kind.REAL, description="real, exercise or test; fixed for life.")
    tlp: Tlp = Field(Tlp.AMBER, description="TLP 2.0 label; change it later with /label.")
    occurred_at: AwareDatetime | None = Field(
        None, description="When the fault began, if known (for time-to-detect)."
    )


class TransitionRequest(_Input):
    """Move an incident to another lifecycle phase."""

    status: Status
    note: Annotated[str, StringConstraints(max_length=10_000)] = ""


class ReopenRequest(_Input):
    """Reopen a resolved or closed incident."""

    reason: LongText


class NoteCreate(_Input):
    """Add a free-text note to the timeline."""

    text: LongText
    category: DataCategory = Field(
        DataCategory.OPERATIONAL,
        description="What the text holds; readers not entitled to the category see it redacted.",
    )


class DecisionCreate(_Input):
    """Record a decision, why it was taken and who took it."""

    decision: LongText
    rationale: LongText
    decided_by: KeyRef | None = Field(None, description="Person key; default: the caller.")
    category: DataCategory = Field(
        DataCategory.OPERATIONAL,
        description="What the text holds; readers not entitled to the category see it redacted.",
    )


class LabelRequest(_Input):
    """Set the incident's TLP label and, for TLP:RED, who may see it."""

    tlp: Tlp
    recipients: list[KeyRef] = Field(
        default_factory=list,
        max_length=100,
        description=(
            "People named to see a TLP:RED incident; the caller and the current role holders "
            "are added."
        ),
    )


class RoleAssign(_Input):
    """Hand an ICS role on the incident to a person."""

    role: IcsRole
    person: KeyRef
    override_reason: Annotated[str, StringConstraints(max_length=2000)] | None = Field(
        None, description="Why someone not qualified for the role must take it (recorded)."
    )


class TaskUpdate(_Input):
    """Complete, skip or reopen a task."""

    status: TaskStatus
    note: Annotated[str, StringConstraints(max_length=10_000)] = ""


class TaskRead(BaseModel):
    """A task as the API returns it."""

    id: int
    position: int
    source: str
    step_key: str | None
    title: str
    details: str
    hazard: str | None
    owner_role: str
    assignee: str | None
    requires_change_record: bool
    due_at: datetime | None
    status: TaskStatus
    overdue: bool
    completed_at: datetime | None
    completed_by: str | None
    note: str | None


class IncidentRead(BaseModel):
    """An incident's current state."""

    id: int
    reference: str
    title: str
    summary: str
    kind: Kind
    status: Status
    category: str
    severity: str
    impact: str
    urgency: str
    asset: str
    site: str
    playbook: str | None
    playbook_version: int | None
    escalation_level: int = Field(description="Escalation level paged so far; 1 is the first.")
    opened_by: str
    occurred_at: datetime | None
    detected_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    recovering_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None
    roles: dict[str, str]
    tlp: Tlp = Field(description="TLP 2.0 label; RED limits the incident to `tlp_recipients`.")
    tlp_recipients: list[str] = Field(description="People named to see a TLP:RED incident.")
    open_tasks: int
    overdue_tasks: int
    allowed_transitions: list[Status]
    metrics: dict[str, float | None]


class IncidentDetail(IncidentRead):
    """An incident with its tasks."""

    tasks: list[TaskRead]


class IncidentPage(BaseModel):
    """One page of incidents, newest first."""

    items: list[IncidentRead]
    total: int
    limit: int
    offset: int


class TimelineEntry(BaseModel):
    """One ledger entry about the incident."""

    seq: int
    at: datetime
    type: str
    actor: str
    payload: dict[str, Any]


class MetricsSummary(BaseModel):
    """Aggregated response metrics over real incidents, in seconds."""

    incidents: int
    metrics: dict[str, dict[str, float | int | None]]
    descriptions: dict[str, str]
