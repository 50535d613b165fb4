"""Risk API bodies, the register document and views."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    model_validator,
)

from coherence.catalog.domain import AssetKind
from coherence.risk.domain import AdvisorySource, Status

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=2000)]
Control = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Level = Annotated[int, Field(ge=1, le=5)]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RiskSpec(Strict):
    """A register entry as written in a file or sent to the API."""

    key: Key
    scenario: Text
    assets: list[Key] = Field(min_length=1, max_length=200)
    category: Key | None = Field(
        None, description="Incident category whose learned rate on these assets is shown."
    )
    likelihood: Level = Field(description="1 rare ... 5 almost certain (a decade per level).")
    impact: Level = Field(description="1 negligible ... 5 severe.")
    controls: list[Control] = Field(default_factory=list, max_length=50)
    owner: Key = Field(description="The person key who owns the risk.")
    review_date: date
    status: Status = Status.OPEN


class RiskDocument(Strict):
    """A file of register entries (examples/risks.yaml)."""

    risks: list[RiskSpec] = Field(max_length=5000)

    @model_validator(mode="after")
    def _unique(self) -> RiskDocument:
        keys = [r.key for r in self.risks]
        if len(set(keys)) != len(keys):
            raise ValueError("risks lists a key twice")
        return self


class RiskUpdate(Strict):
    """Change some fields of a risk; fields left out stay as they are."""

    scenario: Text | None = None
    assets: list[Key] | None = Field(None, min_length=1, max_length=200)
    category: Key | None = None
    likelihood: Level | None = None
    impact: Level | None = None
    controls: list[Control] | None = Field(None, max_length=50)
    owner: Key | None = None
    review_date: date | None = None
    status: Status | None = None

    @model_validator(mode="after")
    def _something(self) -> RiskUpdate:
        if not self.model_fields_set:
            raise ValueError("give at least one field to change")
        return self


class RiskRead(BaseModel):
    """A risk as shown: recorded likelihood, the likelihood advisories raise it to and why."""

    key: str
    scenario: str
    assets: list[str]
    category: str | None
    likelihood: int
    effective_likelihood: int
    raised_by: list[str]
    learned_frequency: float | None
    learned_likelihood: int | None
    impact: int
    score: int
    band: str
    controls: list[str]
    owner: str
    review_date: date
    review_overdue: bool
    status: str
    updated_at: datetime
    updated_by: str


class LoadResult(BaseModel):
    """What a register load changed."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


class AdvisoryCreate(Strict):
    """A threat or vulnerability input: what it touches, by what factor, why, until when."""

    key: Key
    source: AdvisorySource = AdvisorySource.ADVISORY
    reference: Annotated[str, StringConstraints(max_length=128)] = ""
    software: Annotated[str, StringConstraints(max_length=200)] = Field(
        "", description="The affected software or product and version."
    )
    reason: Text
    factor: float = Field(gt=1, le=100, description="Multiplies the affected failure rates.")
    assets: list[Key] = Field(default_factory=list, max_length=500)
    kinds: list[AssetKind] = Field(default_factory=list, max_length=50)
    expires_at: AwareDatetime

    @model_validator(mode="after")
    def _targets(self) -> AdvisoryCreate:
        if not self.assets and not self.kinds:
            raise ValueError("name the assets or asset kinds the advisory affects")
        return self


class AdvisoryRead(BaseModel):
    """An advisory and whether it is in force."""

    key: str
    source: str
    reference: str
    software: str
    reason: str
    factor: float
    assets: list[str]
    kinds: list[str]
    expires_at: datetime
    in_force: bool
    recorded_at: datetime
    recorded_by: str
    withdrawn_at: datetime | None
    withdrawn_by: str | None


class AdvisoryWithdraw(Strict):
    """Withdraw an advisory: an empty body (or none)."""


class RateRead(BaseModel):
    """A learned failure rate, per asset-year, with its prior and evidence."""

    kind: str
    category: str
    assets: int
    years: float
    exposure: float
    events: int
    prior_shape: float
    prior_rate: float
    prior_source: str
    shape: float
    rate: float
    mean: float
    low: float
    high: float


class RatesRead(BaseModel):
    """The learned rates over one observation window."""

    since: datetime
    until: datetime
    rates: list[RateRead]


class TrendPoint(BaseModel):
    """The rates as they stood at one moment."""

    at: datetime
    rates: list[RateRead]


class SimulationRequest(Strict):
    """A Monte Carlo run, optionally with what-if changes compared against the baseline."""

    trials: int = Field(100_000, ge=1000, le=1_000_000)
    seed: int = Field(1, ge=0, le=2**32 - 1)
    services: list[Key] = Field(
        default_factory=list,
        max_length=1000,
        description="Assets to report; default: every high-value research asset.",
    )
    add_redundant: list[Key] = Field(default_factory=list, max_length=100)
    spares: dict[Key, Annotated[str, StringConstraints(max_length=64)]] = Field(
        default_factory=dict, description="Asset key: the part kept on site (may be empty)."
    )
    repair_hours: dict[Key, Annotated[float, Field(ge=0, le=100_000)]] = Field(default_factory=dict)


class Contributor(BaseModel):
    """An asset and the service downtime per year attributable to it."""

    asset: str
    hours: float


class ServiceRead(BaseModel):
    """A service's availability and expected downtime (baseline figures with a what-if)."""

    key: str
    availability: float
    downtime_hours: float
    margin_hours: float
    baseline_availability: float | None
    baseline_downtime_hours: float | None
    contributors: list[Contributor]


class AssetInputRead(BaseModel):
    """What the simulation assumed for one asset, and why."""

    key: str
    kind: str
    failures_per_year: float
    repair_hours: float
    repair_detail: str
    unavailability: float
    advisories: list[str]


class SimulationRead(BaseModel):
    """The result of a run."""

    trials: int
    seed: int
    what_if: SimulationRequest | None
    services: list[ServiceRead]
    assets: list[AssetInputRead]
