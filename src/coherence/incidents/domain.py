"""Pure incident rules: the lifecycle table, escalation steps and response metrics."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from coherence.errors import Conflict, ValidationFailed
from coherence.playbooks.domain import ClassificationScheme, Severity


class Status(StrEnum):
    """Lifecycle phases, in the order an incident normally passes through them."""

    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    CONTAINED = "contained"
    RECOVERING = "recovering"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Kind(StrEnum):
    """Whether an incident is real; fixed at creation, drills and tests stay out of metrics."""

    REAL = "real"
    EXERCISE = "exercise"
    TEST = "test"


class TaskStatus(StrEnum):
    """Where a task stands."""

    OPEN = "open"
    DONE = "done"
    SKIPPED = "skipped"


TRANSITIONS: Mapping[Status, frozenset[Status]] = {
    Status.DETECTED: frozenset({Status.ACKNOWLEDGED}),
    Status.ACKNOWLEDGED: frozenset({Status.CONTAINED, Status.RESOLVED}),
    Status.CONTAINED: frozenset({Status.RECOVERING, Status.RESOLVED}),
    Status.RECOVERING: frozenset({Status.CONTAINED, Status.RESOLVED}),
    Status.RESOLVED: frozenset({Status.CLOSED}),
    Status.CLOSED: frozenset(),
}
# Reopening is its own operation (it needs a reason), so it is not in the table.
REOPENABLE = frozenset({Status.RESOLVED, Status.CLOSED})
OPEN_STATUSES = frozenset(
    {Status.DETECTED, Status.ACKNOWLEDGED, Status.CONTAINED, Status.RECOVERING}
)

# The timestamp column each phase stamps when it is entered.
STAMPS: Mapping[Status, str] = {
    Status.ACKNOWLEDGED: "acknowledged_at",
    Status.CONTAINED: "contained_at",
    Status.RECOVERING: "recovering_at",
    Status.RESOLVED: "resolved_at",
    Status.CLOSED: "closed_at",
}


@dataclass(frozen=True)
class Classification:
    """What kind of incident this is and how bad."""

    category: str
    impact: str
    urgency: str
    severity: Severity


def classify(
    scheme: ClassificationScheme,
    *,
    category: str | None,
    impact: str | None,
    urgency: str | None,
    defaults: tuple[str, str, str] | None,
) -> Classification:
    """Classify from what was asked, falling back to the playbook's (category, impact, urgency)."""
    default_category, default_impact, default_urgency = defaults or (None, None, None)
    category = category or default_category
    if category is None:
        raise ValidationFailed("name a playbook or a category", field="category")
    scheme.category(category)
    impact = impact or default_impact
    urgency = urgency or default_urgency
    if impact is None or urgency is None:
        raise ValidationFailed(
            "without a playbook, give both impact and urgency",
            field="impact" if impact is None else "urgency",
        )
    severity = scheme.severity_for(impact=impact, urgency=urgency)
    return Classification(category, impact, urgency, severity)


def check_transition(current: Status, target: Status) -> None:
    """Raise Conflict, naming the allowed moves, unless ``current -> target`` is legal."""
    if target == current:
        raise Conflict(f"the incident is already {current.value}", field="status")
    allowed = TRANSITIONS[current]
    if target in allowed:
        return
    hint = f"allowed from {current.value}: {', '.join(sorted(allowed)) or 'none'}"
    if current == Status.DETECTED:
        hint += " (acknowledge it first)"
    if current in REOPENABLE:
        hint += "; or reopen it, giving a reason"
    raise Conflict(
        f"cannot move a {current.value} incident to {target.value}; {hint}", field="status"
    )


def stamp_to_set(target: Status, stamps: Mapping[str, datetime | None]) -> str | None:
    """Return the timestamp entering ``target`` sets, or None if it was already set.

    The first containment, recovery start and acknowledgement are what response metrics
    measure, so moving back and forth does not overwrite them; resolution and closure are
    cleared by a reopen and so always reflect the final ones.
    """
    name = STAMPS[target]
    if target in (Status.RESOLVED, Status.CLOSED) or stamps.get(name) is None:
        return name
    return None


def check_reopen(current: Status) -> None:
    """Raise Conflict unless the incident can be reopened."""
    if current not in REOPENABLE:
        raise Conflict(
            f"only resolved or closed incidents can be reopened; this one is {current.value}",
            field="status",
        )


def stamps_cleared_by_reopen() -> tuple[str, ...]:
    """Return the timestamps a reopen clears, so metrics measure the final recovery."""
    return (STAMPS[Status.RESOLVED], STAMPS[Status.CLOSED])


@dataclass(frozen=True)
class EscalationStep:
    """The level to page next and when."""

    level: int
    due_at: datetime


def next_escalation(
    levels: list[dict[str, object]], *, current_level: int, paged_at: datetime
) -> EscalationStep | None:
    """Return when to page the level after ``current_level``, or None if it was the last."""
    if current_level + 1 >= len(levels):
        return None
    window = float(str(levels[current_level]["ack_within_minutes"]))
    return EscalationStep(level=current_level + 1, due_at=paged_at + timedelta(minutes=window))


@dataclass(frozen=True)
class Stamps:
    """The raw timestamps every metric is derived from."""

    occurred_at: datetime | None
    detected_at: datetime
    acknowledged_at: datetime | None
    contained_at: datetime | None
    recovering_at: datetime | None
    resolved_at: datetime | None
    closed_at: datetime | None


METRIC_DESCRIPTIONS: Mapping[str, str] = {
    "time_to_detect": "onset (occurred) to detected",
    "time_to_acknowledge": "detected to acknowledged",
    "time_to_contain": "detected to contained",
    "time_to_recover": "detected to resolved (service restored and verified)",
    "time_to_close": "detected to closed (review done, record complete)",
}


def incident_metrics(stamps: Stamps) -> dict[str, float | None]:
    """Return each response metric in seconds, None where its end is not reached yet."""

    def span(start: datetime | None, end: datetime | None) -> float | None:
        if start is None or end is None:
            return None
        return (end - start).total_seconds()

    return {
        "time_to_detect": span(stamps.occurred_at, stamps.detected_at),
        "time_to_acknowledge": span(stamps.detected_at, stamps.acknowledged_at),
        "time_to_contain": span(stamps.detected_at, stamps.contained_at),
        "time_to_recover": span(stamps.detected_at, stamps.resolved_at),
        "time_to_close": span(stamps.detected_at, stamps.closed_at),
    }


def aggregate_metrics(
    per_incident: Iterable[Mapping[str, float | None]],
) -> dict[str, dict[str, float | int | None]]:
    """Return count, mean, median and 90th percentile of each metric across incidents."""
    values: dict[str, list[float]] = {name: [] for name in METRIC_DESCRIPTIONS}
    for metrics in per_incident:
        for name, value in metrics.items():
            if value is not None:
                values[name].append(value)
    summary: dict[str, dict[str, float | int | None]] = {}
    for name, samples in values.items():
        samples.sort()
        summary[name] = {
            "count": len(samples),
            "mean": statistics.fmean(samples) if samples else None,
            "median": statistics.median(samples) if samples else None,
            "p90": samples[min(len(samples) - 1, int(0.9 * len(samples)))] if samples else None,
        }
    return summary


def reference(incident_id: int) -> str:
    """Return the human reference of an incident, e.g. INC-00042."""
    return f"INC-{incident_id:05d}"


def parse_reference(text: str) -> int | None:
    """Return the id in ``INC-00042`` or ``42``, or None if it is neither."""
    digits = text.strip().upper().removeprefix("INC-")
    # isdecimal, not isdigit: int() refuses digits such as "²" that isdigit() accepts.
    if not digits.isdecimal() or len(digits) > 12:
        return None
    return int(digits)
