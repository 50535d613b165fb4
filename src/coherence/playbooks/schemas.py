"""The playbook document format and the shapes the playbook API returns."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    Field,
    StringConstraints,
    field_validator,
    model_validator,
)

from coherence.catalog.domain import AssetKind, IcsRole, OrganisationKind
from coherence.documents import Key, StrictDocument

Text = Annotated[str, StringConstraints(min_length=1, max_length=4000, strip_whitespace=True)]


class Operator(StrEnum):
    """Comparison a threshold or rate trigger applies."""

    GT = ">"
    GE = ">="
    LT = "<"
    LE = "<="


class ThresholdTrigger(StrictDocument):
    """Fires when a metric stays beyond a value for ``hold_seconds``."""

    kind: Literal["threshold"]
    key: Key
    metric: Key
    operator: Operator
    value: float
    hold_seconds: float = Field(0, ge=0, le=86_400)
    clear_value: float | None = Field(
        None,
        description="Clears only once the metric is back past this (hysteresis); "
        "default: the firing value.",
    )
    clear_hold_seconds: float = Field(0, ge=0, le=86_400)
    impact: str | None = None
    urgency: str | None = None
    description: str = ""

    @model_validator(mode="after")
    def _clear_value_on_the_safe_side(self) -> ThresholdTrigger:
        if self.clear_value is None:
            return self
        above = self.operator in (Operator.GT, Operator.GE)
        if (above and self.clear_value > self.value) or (
            not above and self.clear_value < self.value
        ):
            raise ValueError(
                f"clear_value {self.clear_value:g} must be on the normal side of "
                f"{self.operator.value} {self.value:g}, or the alarm could never clear"
            )
        return self


class RateTrigger(StrictDocument):
    """Fires when a metric's rate of change, per second over a window, passes a value."""

    kind: Literal["rate"]
    key: Key
    metric: Key
    operator: Operator
    value: float = Field(description="Rate in metric units per second.")
    window_seconds: float = Field(gt=0, le=86_400)
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


class StateTrigger(StrictDocument):
    """Fires when a state metric takes one of the listed values for ``hold_seconds``."""

    kind: Literal["state"]
    key: Key
    metric: Key
    values: list[int | float | str] = Field(min_length=1)
    hold_seconds: float = Field(0, ge=0, le=86_400)
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


class BitsTrigger(StrictDocument):
    """Fires when any bit of ``mask`` is set in an integer status word (e.g. alarm bits)."""

    kind: Literal["bits"]
    key: Key
    metric: Key
    mask: int = Field(gt=0, lt=2**63)
    hold_seconds: float = Field(0, ge=0, le=86_400)
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


class AbsenceTrigger(StrictDocument):
    """Fires when a metric has sent nothing for ``silence_seconds`` (a silent sensor)."""

    kind: Literal["absence"]
    key: Key
    metric: Key
    silence_seconds: float = Field(gt=0, le=7 * 86_400)
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


class AnomalyTrigger(StrictDocument):
    """Fires when a value leaves its own series' baseline by ``threshold`` robust deviations."""

    kind: Literal["anomaly"]
    key: Key
    metric: Key
    direction: Literal["high", "low", "both"] = "both"
    threshold: float = Field(5.0, gt=0, le=100, description="Deviations from the baseline.")
    half_life_samples: float = Field(
        50, ge=2, le=100_000, description="How quickly the baseline follows the series."
    )
    min_samples: int = Field(30, ge=3, le=100_000, description="Learn before judging.")
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


class CorrelatedTrigger(StrictDocument):
    """Fires when a share of an asset's parts (e.g. a processor's qubits) are bad at once."""

    kind: Literal["correlated"]
    key: Key
    metric: Key
    operator: Operator
    value: float = Field(description="The per-part condition, e.g. t1_ratio_to_median < 0.5.")
    fraction: float = Field(gt=0, le=1, description="Share of reporting parts that must be bad.")
    min_parts: int = Field(5, ge=2, le=100_000, description="Parts that must report first.")
    impact: str | None = None
    urgency: str | None = None
    description: str = ""


Trigger = Annotated[
    ThresholdTrigger
    | RateTrigger
    | StateTrigger
    | BitsTrigger
    | AbsenceTrigger
    | AnomalyTrigger
    | CorrelatedTrigger,
    Field(discriminator="kind"),
]


class NotificationRule(StrictDocument):
    """Who must be told, and within how long of detection."""

    role: IcsRole | None = None
    organisation_kind: OrganisationKind | None = None
    within_minutes: float = Field(gt=0, le=60 * 24 * 31)
    min_severity: str | None = Field(
        None, description="Only notify at this severity or worse (e.g. sev2)."
    )

    @model_validator(mode="after")
    def _exactly_one_audience(self) -> NotificationRule:
        if (self.role is None) == (self.organisation_kind is None):
            raise ValueError("give exactly one of role or organisation_kind")
        return self


class StepSpec(StrictDocument):
    """One time-boxed step of the response."""

    key: Key
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    owner_role: IcsRole
    due_minutes: float = Field(ge=0, le=60 * 24 * 31, description="Due this long after detection.")
    details: str = ""
    hazard: str | None = None
    requires_change_record: bool = False


class ProcedureSpec(StrictDocument):
    """An isolation procedure; an incident on a matching asset proposes it as a change record."""

    key: Key
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    what: Text
    why: Text
    expected_effect: Text
    risk: Literal["low", "medium", "high"]
    rollback_plan: Text
    safety_critical: bool = Field(
        False, description="Needs two-person approval before it may be marked executed."
    )
    preconditions: list[Text] = Field(default_factory=list, max_length=20)
    asset_kinds: list[AssetKind] = Field(
        default_factory=list,
        description="Kinds of asset it applies to; default: every kind the playbook applies to.",
    )


class PlaybookDocument(StrictDocument):
    """A playbook as written in YAML."""

    key: Key
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    summary: Text
    category: Key
    applies_to: list[AssetKind] = Field(min_length=1)
    impact: str = Field(description="Default impact level when opened by hand.")
    urgency: str = Field(description="Default urgency level when opened by hand.")
    escalation_policy: Key | None = None
    triggers: list[Trigger] = Field(default_factory=list)
    notify: list[NotificationRule] = Field(default_factory=list)
    steps: list[StepSpec] = Field(min_length=1)
    procedures: list[ProcedureSpec] = Field(default_factory=list)
    recovery: str = ""
    references: list[str] = Field(default_factory=list)
    review_interval_days: int | None = Field(
        None, ge=1, le=3650, description="Days between reviews; default 365."
    )

    @field_validator("steps", "triggers", "procedures")
    @classmethod
    def _unique_keys(cls, items: list[Any]) -> list[Any]:
        keys = [item.key for item in items]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        if repeated:
            raise ValueError(f"keys must be unique; repeated: {', '.join(repeated)}")
        return items

    @model_validator(mode="after")
    def _procedures_fit_the_playbook(self) -> PlaybookDocument:
        for procedure in self.procedures:
            outside = sorted(k.value for k in procedure.asset_kinds if k not in self.applies_to)
            if outside:
                raise ValueError(
                    f"procedure {procedure.key!r} names asset kinds the playbook does not "
                    f"apply to: {', '.join(outside)}"
                )
        return self


class PlaybookSummary(BaseModel):
    """A playbook's newest version, listed."""

    key: str
    version: int
    title: str
    category: str
    applies_to: list[str]
    steps: int
    published_at: datetime
    finding: str | None = Field(None, description="The review finding this version answers.")


class PlaybookRead(PlaybookSummary):
    """A playbook version in full."""

    content_hash: str
    document: dict[str, Any]


class PlaybookValidation(BaseModel):
    """The result of validating a playbook that was not stored."""

    valid: bool
    key: str
    title: str
    triggers: int
    steps: int


class SeverityRead(BaseModel):
    """A severity level and its written criteria."""

    key: str
    name: str
    rank: int
    criteria: str
    checklist: list[str]


class CategoryRead(BaseModel):
    """An incident category with its base checklist."""

    key: str
    name: str
    description: str
    checklist: list[str]


class GlossaryTerm(BaseModel):
    """A shared term with a precise and a plain-language definition."""

    term: str
    definition: str
    plain: str
