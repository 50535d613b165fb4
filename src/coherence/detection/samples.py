"""The unit of telemetry every intake path produces, and the per-sample refusal."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Quality(StrEnum):
    """How far a reading can be trusted; EPICS INVALID maps to ``invalid``."""

    GOOD = "good"
    UNCERTAIN = "uncertain"
    INVALID = "invalid"


# Not frozen: a frozen dataclass costs several times more to build, and intake builds
# one per reading. Nothing mutates a sample once made.
@dataclass(slots=True)
class Sample:
    """One reading: which asset, which metric, its value and unit, when, and how good."""

    site: str
    asset: str
    metric: str
    value: float | str
    unit: str
    timestamp: float
    quality: Quality = Quality.GOOD


@dataclass(frozen=True, slots=True)
class Rejection:
    """Why one sample of a batch was refused; ``index`` is its place in the batch."""

    index: int
    field: str
    message: str


class AlertStatus(StrEnum):
    """Whether an external alert is raised or has cleared."""

    FIRING = "firing"
    RESOLVED = "resolved"


@dataclass(frozen=True, slots=True)
class ExternalAlert:
    """An alert raised by another system (Alertmanager, EPICS alarm server, a script)."""

    source: str
    dedup_key: str
    asset: str
    severity: str
    status: AlertStatus
    summary: str
    starts_at: float
    labels: tuple[tuple[str, str], ...] = ()
