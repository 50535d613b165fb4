"""Pydantic shapes of near misses, lessons and partner readiness summaries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coherence.access.domain import DataCategory, Tlp
from coherence.learning.domain import LessonSource, NearMissStatus
from coherence.reviews.schemas import FindingRead

KeyText = Annotated[
    str,
    StringConstraints(
        min_length=1, max_length=64, strip_whitespace=True, pattern=r"^[a-z0-9][a-z0-9._-]*$"
    ),
]
Text = Annotated[str, StringConstraints(min_length=1, max_length=5_000, strip_whitespace=True)]
Note = Annotated[str, StringConstraints(max_length=5_000, strip_whitespace=True)]
Title = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]
FindingRef = Annotated[str, StringConstraints(min_length=4, max_length=60, strip_whitespace=True)]


class Strict(BaseModel):
    """A request body: unknown fields are errors."""

    model_config = ConfigDict(extra="forbid")


class NearMissCreate(Strict):
    """A near miss in a few words: what happened and what kind of thing it was."""

    what_happened: Text = Field(description="What almost happened, and what stopped it.")
    category: KeyText = Field(description="A classification category, e.g. cryogenic.")
    site: KeyText | None = Field(None, description="Site key, if known.")
    asset: KeyText | None = Field(None, description="Asset key, if known.")
    tlp: Tlp = Field(Tlp.AMBER, description="Label: CLEAR, GREEN, AMBER or AMBER+STRICT.")
    anonymous: bool = Field(False, description="Keep who reported it nowhere.")


class NearMissClose(Strict):
    """Close a near miss's review, saying what came of it."""

    note: Text


class NearMissRead(BaseModel):
    """A near miss with its review findings."""

    reference: str
    what_happened: str
    category: str
    site: str | None
    asset: str | None
    tlp: str
    anonymous: bool
    reported_by: str | None = Field(description="None when reported anonymously.")
    reported_at: datetime
    status: NearMissStatus
    closed_at: datetime | None
    close_note: str | None
    findings: list[FindingRead]


class LessonCreate(Strict):
    """Publish a finding (of an incident or a near miss) to the lessons library."""

    finding: FindingRef = Field(description="The finding, e.g. INC-00042/F1 or NM-00003/F1.")
    lesson: Text = Field(description="What to do differently, for anyone to apply.")
    title: Title | None = Field(None, description="A title; default: the finding's.")
    tlp: Tlp | None = Field(None, description="Label; default: that of the incident/near miss.")
    data_category: DataCategory = Field(
        DataCategory.OPERATIONAL, description="What kind of data its text holds."
    )
    playbook: KeyText | None = Field(
        None, description="The playbook it concerns; default: the one it changed or ran."
    )


class LessonRead(BaseModel):
    """A lesson as the reader may see it."""

    reference: str
    source: LessonSource
    title: str
    summary: str
    lesson: str
    category: str
    asset_kind: str | None
    playbook: str | None
    tlp: str
    data_category: str
    origin_organisation: str
    origin_reference: str | None = Field(description="Its reference at the partner it came from.")
    published_at: datetime
    withheld: list[str] = Field(description="Fields redacted for this reader.")


class LessonsImported(BaseModel):
    """What importing a partner's lessons package did."""

    organisation: str
    sha256: str
    imported: list[str]
    skipped: list[str] = Field(description="Origin references already held.")


class TopRisk(BaseModel):
    """One of the facility's highest risks."""

    key: str
    band: str
    score: int
    category: str | None
    asset_kinds: list[str]
    scenario: str
    controls: list[str]


class RiskSection(BaseModel):
    """Open risks by band and the highest few."""

    by_band: dict[str, int]
    top: list[TopRisk]
    detail_withheld: bool = Field(description="Scenarios and controls held back.")


class RoleCover(BaseModel):
    """A checked role at a site: whether every shift ahead has a qualified person on call."""

    site: str
    role: str
    status: str = Field(description="ready, fragile, gap or no_rotation.")
    shifts: int
    gaps: int
    fragile_shifts: int
    min_depth: int


class ExerciseSummary(BaseModel):
    """The latest ended exercise of a playbook and its scores."""

    playbook: str
    title: str
    site: str
    ended_at: datetime
    scores: dict[str, float | None]


class SummaryRead(BaseModel):
    """A facility's high-level risk and resilience summary, as a recipient may see it."""

    format: str
    organisation: str
    recipient: str | None
    agreements: list[str]
    tlp: str
    generated_at: datetime
    risks: RiskSection
    roles: list[RoleCover]
    exercises: list[ExerciseSummary]
