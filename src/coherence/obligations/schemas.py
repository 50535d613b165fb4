"""Pydantic I/O for obligations: triage answers, clocks, verdicts and report drafts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StrictBool

from coherence.obligations.domain import QUESTIONS, Answer
from coherence.obligations.drafting import MAX_FIELD_CHARS, MAX_RECEIPT_CHARS


class AssessmentUpdate(BaseModel):
    """Triage answers to record; only the fields given change, and null clears an answer."""

    model_config = ConfigDict(extra="forbid")

    personal_data: StrictBool | None = Field(None, description=QUESTIONS[Answer.PERSONAL_DATA])
    cross_border: StrictBool | None = Field(None, description=QUESTIONS[Answer.CROSS_BORDER])
    significant: StrictBool | None = Field(None, description=QUESTIONS[Answer.SIGNIFICANT])
    major_ict: StrictBool | None = Field(None, description=QUESTIONS[Answer.MAJOR_ICT])
    ransom_paid: StrictBool | None = Field(None, description=QUESTIONS[Answer.RANSOM_PAID])
    aware_at: AwareDatetime | None = Field(
        None, description="When the organisation became aware; default: when detected."
    )
    classified_at: AwareDatetime | None = Field(
        None, description="When it was classified as major (DORA); default: when answered yes."
    )
    ransom_paid_at: AwareDatetime | None = Field(
        None, description="When a ransom was paid; default: when answered yes."
    )
    impact_summary: str | None = Field(
        None, max_length=MAX_FIELD_CHARS, description="What happened and its impact, for reports."
    )


class AssessmentRead(BaseModel):
    """The triage answers recorded for an incident."""

    personal_data: bool | None
    cross_border: bool | None
    significant: bool | None
    major_ict: bool | None
    ransom_paid: bool | None
    aware_at: datetime | None
    classified_at: datetime | None
    ransom_paid_at: datetime | None
    impact_summary: str
    recorded_by: str
    recorded_at: datetime


class VerdictRead(BaseModel):
    """Whether one obligation applies to the incident, and why."""

    obligation: str
    title: str
    citation: str
    enabled: bool
    applies: bool
    reason: str


class ClockRead(BaseModel):
    """One report's clock."""

    key: str = Field(description="OBLIGATION.REPORT, e.g. eu-nis2.early-warning.")
    incident: str
    obligation: str
    report: str
    title: str
    report_title: str
    authority: str
    state: str = Field(description="running, warned, missed, submitted or withdrawn.")
    starts_at: datetime
    due_at: datetime
    basis: str
    provisional: bool = Field(description="Counts from an earlier report not yet submitted.")
    overdue: bool
    seconds_left: float = Field(description="Until the deadline; negative once it has passed.")
    report_status: str | None = Field(description="draft, reviewed, submitted, or null.")
    started_at: datetime
    warned_at: datetime | None
    missed_at: datetime | None
    submitted_at: datetime | None
    withdrawn_at: datetime | None


class IncidentObligations(BaseModel):
    """An incident's triage answers, which obligations apply, and every clock."""

    incident: str
    source: str = Field(description="The obligations file in force.")
    awareness: datetime
    assessment: AssessmentRead | None
    verdicts: list[VerdictRead]
    clocks: list[ClockRead]
    started: list[str] = Field(default_factory=list, description="Clocks this request started.")
    withdrawn: list[str] = Field(default_factory=list, description="Clocks it withdrew.")
    moved: list[str] = Field(default_factory=list, description="Clocks whose deadline moved.")


class DraftRequest(BaseModel):
    """Draft a report; ``refresh`` fills again every field nobody edited."""

    model_config = ConfigDict(extra="forbid")

    refresh: StrictBool = False


class ReportEdit(BaseModel):
    """New values for fields of a draft, by field key."""

    model_config = ConfigDict(extra="forbid")

    fields: dict[str, str] = Field(min_length=1, max_length=60)


class SubmitRequest(BaseModel):
    """Mark a reviewed report submitted."""

    model_config = ConfigDict(extra="forbid")

    content: str | None = Field(
        None,
        description="The exact text sent, when it was not the report's JSON (e.g. pasted into "
        "a portal); its SHA-256 is kept. Default: the report's canonical JSON.",
    )
    receipt: str | None = Field(
        None, max_length=MAX_RECEIPT_CHARS, description="The authority's receipt or case number."
    )


class ReportField(BaseModel):
    """One field of a report."""

    key: str
    label: str
    required: bool
    help: str
    value: str
    edited: bool


class ReportRead(BaseModel):
    """A report draft, the text and JSON it would send, and what was sent."""

    key: str
    incident: str
    title: str
    authority: str
    citation: str
    status: str = Field(description="draft, reviewed or submitted.")
    clock_state: str
    due_at: datetime
    fields: list[ReportField]
    missing: list[str] = Field(description="Required fields still empty.")
    authors: list[str]
    drafted_by: str
    drafted_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    submitted_by: str | None
    submitted_at: datetime | None
    submitted_sha256: str | None
    receipt: str | None
    sha256: str = Field(description="SHA-256 of the document as it stands.")
    document: dict[str, Any]
    text: str


class ReportSpecRead(BaseModel):
    """One report an obligation asks for."""

    key: str
    title: str
    due: list[str]
    fields: list[str]
    required: list[str]


class ObligationRead(BaseModel):
    """One obligation of the file in force."""

    key: str
    title: str
    citation: str
    authority: str
    enabled: bool
    jurisdictions: list[str]
    entity_classes: list[str]
    sectors: list[str]
    categories: list[str]
    min_severity: str | None
    requires: list[str]
    warn_at: list[float]
    reports: list[ReportSpecRead]


class ObligationsFile(BaseModel):
    """The obligations in force and the file they came from."""

    source: str
    obligations: list[ObligationRead]
