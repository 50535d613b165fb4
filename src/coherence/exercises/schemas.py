"""The scenario file format and the exercise API's bodies and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from coherence.catalog.domain import ContactChannel, IcsRole
from coherence.documents import Key, StrictDocument
from coherence.exercises.domain import ClockMode, Complication, Milestone

Title = Annotated[str, StringConstraints(min_length=1, max_length=200)]
Minutes = Annotated[float, Field(ge=0, le=60 * 24 * 7, description="Minutes from the start.")]
INJECT_KINDS = frozenset({"telemetry", "message", "complication"})


class ClockSpec(StrictDocument):
    """How exercise time moves: stepped by the director, accelerated N times, or real time."""

    mode: ClockMode = ClockMode.STEPPED
    speed: float = Field(1.0, gt=0, le=3600, description="Exercise seconds per wall second.")

    @model_validator(mode="after")
    def _speed_fits_mode(self) -> ClockSpec:
        if self.mode is ClockMode.ACCELERATED and self.speed <= 1:
            raise ValueError("an accelerated clock needs a speed above 1, e.g. speed: 10")
        if self.mode is not ClockMode.ACCELERATED and self.speed != 1:
            raise ValueError(f"speed applies only to mode accelerated, not {self.mode.value}")
        return self


class TelemetryInject(StrictDocument):
    """Readings fed through the detector as if the asset sent them."""

    kind: Literal["telemetry"]
    at_minutes: Minutes
    title: Title
    asset: Key
    metric: Key
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    values: list[float | Annotated[str, StringConstraints(max_length=64)]] = Field(
        min_length=1, max_length=1000
    )
    every_seconds: float = Field(30, gt=0, le=3600, description="Seconds between readings.")


class MessageInject(StrictDocument):
    """Something that happens to the team: a call, an email, a visitor."""

    kind: Literal["message"]
    at_minutes: Minutes
    title: Title
    sender: Title = Field(description="Who it comes from, e.g. 'Reporter, Northbridge Courier'.")
    to_role: IcsRole | None = Field(None, description="The role it reaches; they are paged.")
    text: Annotated[str, StringConstraints(min_length=1, max_length=4000)]


class ComplicationInject(StrictDocument):
    """A channel down, a role unreachable or a spare part back-ordered."""

    kind: Literal["complication"]
    at_minutes: Minutes
    title: Title
    complication: Complication
    channel: ContactChannel | None = None
    role: IcsRole | None = None
    part: Key | None = None
    lasts_minutes: float | None = Field(None, gt=0, le=60 * 24 * 7)

    @model_validator(mode="after")
    def _names_what_it_affects(self) -> ComplicationInject:
        needs = {
            Complication.CHANNEL_DOWN: "channel",
            Complication.ROLE_UNREACHABLE: "role",
            Complication.SPARE_BACKORDERED: "part",
        }[self.complication]
        given = [n for n in ("channel", "role", "part") if getattr(self, n) is not None]
        if given != [needs]:
            raise ValueError(f"{self.complication.value} takes {needs} (and nothing else)")
        return self


Inject = Annotated[
    TelemetryInject | MessageInject | ComplicationInject, Field(discriminator="kind")
]


class ScenarioDocument(StrictDocument):
    """A scenario: the playbook exercised, where, and the timed injects."""

    key: Key
    title: Title
    description: str = Field("", max_length=10_000)
    playbook: Key
    site: Key
    assets: list[Key] = Field(min_length=1, max_length=100)
    page_real_recipients: bool = Field(
        False, description="Page people on their real contact points (EXERCISE in the subject)."
    )
    clock: ClockSpec = Field(default_factory=ClockSpec)
    targets: dict[Milestone, Annotated[float, Field(gt=0, le=60 * 24 * 31)]] = Field(
        default_factory=dict,
        description="Minutes after detection (after onset for detected), overriding defaults.",
    )
    step_dependencies: dict[Key, list[Key]] = Field(
        default_factory=dict, description="Step key: the steps it waits for."
    )
    injects: list[Inject] = Field(min_length=1, max_length=500)


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class AdvanceRequest(Strict):
    """Step a stepped clock to the next inject (no minutes) or on by some minutes."""

    minutes: float | None = Field(None, gt=0, le=60 * 24 * 7)


class EndRequest(Strict):
    """End the exercise; the note goes in the ledger."""

    note: str = Field("", max_length=2000)


class InjectRead(BaseModel):
    """One inject and what became of it."""

    position: int
    at_minutes: float
    kind: str
    title: str
    status: str
    fired_at_minutes: float | None
    detail: str
    incidents: list[str]


class ExerciseRead(BaseModel):
    """An exercise run: its clock, injects, incidents and complications in force."""

    id: int
    reference: str
    key: str
    title: str
    playbook: str
    playbook_version: int
    site: str
    mode: str
    speed: float
    page_real_recipients: bool
    status: str
    started_at: datetime
    started_by: str
    ended_at: datetime | None
    elapsed_minutes: float
    next_inject_minutes: float | None
    incidents: list[str]
    complications: list[str]
    injects: list[InjectRead]


class ScenarioCheck(BaseModel):
    """What a valid scenario holds."""

    key: str
    title: str
    playbook: str
    mode: str
    injects: int
    last_inject_minutes: float
