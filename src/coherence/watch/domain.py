"""Unusual access to incident data, without I/O: each principal against its own history.

A principal is a person (or a partner's or integration's token, which belongs to a person).
What counts is distinct records read, so reloading one incident page all night is not unusual;
reading far more of them than the principal's usual busy hour, at an hour it is never seen at,
or many TLP:AMBER and RED ones in a few minutes, is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from coherence.access.domain import Tlp

SENSITIVE = frozenset({Tlp.AMBER.value, Tlp.AMBER_STRICT.value, Tlp.RED.value})
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class Rule(StrEnum):
    """Which kind of unusual access a finding is."""

    VOLUME = "volume"
    SENSITIVE_BURST = "sensitive_burst"
    UNUSUAL_HOUR = "unusual_hour"


@dataclass(frozen=True)
class Thresholds:
    """How unusual is unusual; floors keep a quiet principal's first busy hour from firing."""

    window: timedelta = timedelta(hours=1)
    burst_window: timedelta = timedelta(minutes=10)
    history: timedelta = timedelta(days=14)
    volume_floor: int = 50
    sensitive_floor: int = 20
    factor: float = 3.0
    hour_floor: int = 10
    settled: timedelta = timedelta(days=7)
    cooldown: timedelta = timedelta(hours=6)


@dataclass(frozen=True)
class Activity:
    """What one principal read lately: distinct records in the window, distinct AMBER/RED
    records in the burst window, and the UTC hours of day it read at."""

    person: str
    records: int
    sensitive: int
    hours: frozenset[int]


@dataclass(frozen=True)
class History:
    """The principal's past before the window: distinct records (and AMBER/RED ones) per
    hour bucket, and when it was first seen reading."""

    hourly: Mapping[int, int]
    hourly_sensitive: Mapping[int, int]
    first_seen: datetime | None


@dataclass(frozen=True)
class Finding:
    """One reason a principal's reading is unusual."""

    rule: Rule
    detail: str
    baseline: float


def hour_bucket(at: datetime) -> int:
    """Whole hours since 1970 (UTC): the bucket reads are counted in; modulo 24, the hour."""
    return int((at - EPOCH) // timedelta(hours=1))


def usual(counts: Mapping[int, int]) -> float:
    """A principal's usual busy hour: the 90th percentile of its active hours (0 if none)."""
    values = sorted(counts.values())
    if not values:
        return 0.0
    return float(values[int(0.9 * (len(values) - 1))])


def seen_hours(history: History) -> frozenset[int]:
    """Hours of day (UTC) the principal has read at, each widened by an hour either side."""
    return frozenset(
        (bucket % 24 + shift) % 24 for bucket in history.hourly for shift in (-1, 0, 1)
    )


def assess(
    activity: Activity, history: History, thresholds: Thresholds, *, now: datetime
) -> list[Finding]:
    """Every rule the principal's recent reading breaks."""
    found: list[Finding] = []
    base = usual(history.hourly)
    limit = max(thresholds.volume_floor, thresholds.factor * base)
    if activity.records > limit:
        found.append(
            Finding(
                Rule.VOLUME,
                f"read {activity.records} incident records in the last hour; its usual busy "
                f"hour is {base:g} (limit {limit:g})",
                base,
            )
        )
    sensitive_base = usual(history.hourly_sensitive)
    sensitive_limit = max(thresholds.sensitive_floor, thresholds.factor * sensitive_base)
    if activity.sensitive >= sensitive_limit:
        minutes = int(thresholds.burst_window / timedelta(minutes=1))
        found.append(
            Finding(
                Rule.SENSITIVE_BURST,
                f"read {activity.sensitive} TLP:AMBER or RED records in {minutes} minutes "
                f"(limit {sensitive_limit:g})",
                sensitive_base,
            )
        )
    settled = history.first_seen is not None and now - history.first_seen >= thresholds.settled
    odd = sorted(activity.hours - seen_hours(history))
    if settled and history.hourly and odd and activity.records >= thresholds.hour_floor:
        at = ", ".join(f"{h:02d}:00" for h in odd)
        found.append(
            Finding(
                Rule.UNUSUAL_HOUR,
                f"read {activity.records} incident records at {at} UTC, an hour it has not "
                "read at before",
                float(len(history.hourly)),
            )
        )
    return found
