"""Recovery API bodies and views."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]


class Strict(BaseModel):
    """Unknown fields are refused, so a typo is an error rather than silently ignored."""

    model_config = ConfigDict(extra="forbid")


class PlanCreate(Strict):
    """Make or recompute a plan: more assets down besides the incident's, and parts needed."""

    also: list[Key] = Field(default_factory=list, max_length=1000)
    parts: dict[Key, Key] = Field(
        default_factory=dict, description="Asset key: the part it needs replaced."
    )


class StepAction(Strict):
    """Start, complete, re-check or resume a step: an empty body (or none)."""


class GateRecord(Strict):
    """A person's verdict on a manual gate."""

    gate: Key
    passed: bool
    note: str = Field("", max_length=2000)


class ReadingIn(Strict):
    """One telemetry reading, in the metric dictionary's terms."""

    metric: Key
    value: float | Annotated[str, StringConstraints(min_length=1, max_length=64)]
    unit: Annotated[str, StringConstraints(min_length=1, max_length=32)]
    at: datetime | None = None


class ReadingsIn(Strict):
    """Readings for the step's asset, then its gates are judged again."""

    readings: list[ReadingIn] = Field(min_length=1, max_length=1000)


class StepRead(BaseModel):
    """One step as shown."""

    asset: str
    kind: str
    criticality: str
    wave: int
    state: str
    waits_for: list[str]
    notes: list[str]
    duration_hours: float
    part: dict[str, Any] | None
    start_hours: float | None
    finish_hours: float | None
    gates: list[dict[str, Any]]
    rollback_point: list[str] | None
    note: str | None


class PlanRead(BaseModel):
    """A plan version with its steps, progress and estimate."""

    incident: str
    version: int
    status: str
    reason: str
    roots: list[str]
    waves: int
    eta_hours: float | None
    full_service_at: datetime | None
    done: int
    total: int
    created_at: datetime
    steps: list[StepRead]


class SupplyResult(BaseModel):
    """What a supply document load stored."""

    spares: int
    contracts: int
