"""Risk register rules: the 5 x 5 scales, severity bands, the heatmap and advisories' effect.

Pure functions over plain data; nothing here touches the database or the clock.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

LIKELIHOOD = {
    1: "rare (under once in 100 years)",
    2: "unlikely (once in 10 to 100 years)",
    3: "possible (once in 1 to 10 years)",
    4: "likely (1 to 10 times a year)",
    5: "almost certain (10 or more times a year)",
}
IMPACT = {1: "negligible", 2: "minor", 3: "moderate", 4: "major", 5: "severe"}
# Upper edges, per year, of likelihood levels 1 to 4: one level per decade of frequency.
FREQUENCY_EDGES = (0.01, 0.1, 1.0, 10.0)


class Status(StrEnum):
    """Where a risk stands in its treatment."""

    OPEN = "open"
    TREATED = "treated"
    ACCEPTED = "accepted"
    CLOSED = "closed"


class AdvisorySource(StrEnum):
    """What raised the likelihood: a vulnerability advisory or a supply-chain alert."""

    ADVISORY = "advisory"
    SUPPLY_CHAIN = "supply_chain"


@dataclass(frozen=True)
class Band:
    """A severity band: its name and the dashboard's severity class it shares."""

    name: str
    css: str


BANDS = (
    Band("critical", "sev1"),
    Band("high", "sev2"),
    Band("medium", "sev3"),
    Band("low", "sev4"),
)


def band(score: int) -> Band:
    """Severity band of likelihood x impact: 17+ critical, 10+ high, 5+ medium, else low."""
    if score >= 17:
        return BANDS[0]
    if score >= 10:
        return BANDS[1]
    if score >= 5:
        return BANDS[2]
    return BANDS[3]


def likelihood_of(frequency: float) -> int:
    """The likelihood level of an expected number of occurrences per year."""
    return 1 + sum(1 for edge in FREQUENCY_EDGES if frequency >= edge)


@dataclass(frozen=True)
class Advisory:
    """A threat or vulnerability input as the rules see it."""

    key: str
    source: str
    reason: str
    factor: float
    assets: frozenset[str]
    kinds: frozenset[str]
    expires_at: datetime
    withdrawn: bool = False

    def in_force(self, now: datetime) -> bool:
        """Neither withdrawn nor expired."""
        return not self.withdrawn and now < self.expires_at

    def touches(self, asset: str, kind: str) -> bool:
        """Whether it names the asset or the asset's kind."""
        return asset in self.assets or kind in self.kinds


@dataclass(frozen=True)
class Raise:
    """How much advisories in force raise a likelihood, and the reasons recorded."""

    factor: float
    levels: int
    reasons: tuple[str, ...]


NO_RAISE = Raise(1.0, 0, ())


def raise_for(advisories: Iterable[Advisory], assets: Mapping[str, str], now: datetime) -> Raise:
    """The advisories in force touching any of ``assets`` (key: kind): factors multiply.

    On the 5-level scale one level is a decade of frequency; the raise is rounded up, so any
    advisory in force shows as at least one level.
    """
    hits = [
        a
        for a in advisories
        if a.in_force(now) and any(a.touches(key, kind) for key, kind in assets.items())
    ]
    if not hits:
        return NO_RAISE
    factor = math.prod(a.factor for a in hits)
    levels = max(1, math.ceil(math.log10(factor) - 1e-9))
    reasons = tuple(f"{a.key} ({a.source}, x{a.factor:g}): {a.reason}" for a in hits)
    return Raise(factor, levels, reasons)


def effective_likelihood(likelihood: int, raised: Raise) -> int:
    """The recorded likelihood raised by advisories, capped at 5."""
    return min(5, likelihood + raised.levels)


@dataclass(frozen=True)
class Cell:
    """One square of the heatmap: its score, band and the risks in it."""

    likelihood: int
    impact: int
    score: int
    band: Band
    risks: tuple[str, ...]


def heatmap(placed: Sequence[tuple[str, int, int]]) -> list[list[Cell]]:
    """Rows from likelihood 5 down to 1, columns impact 1 to 5, each with its risk keys."""
    found: dict[tuple[int, int], list[str]] = {}
    for key, likelihood, impact in placed:
        found.setdefault((likelihood, impact), []).append(key)
    return [
        [
            Cell(lk, im, lk * im, band(lk * im), tuple(sorted(found.get((lk, im), []))))
            for im in range(1, 6)
        ]
        for lk in range(5, 0, -1)
    ]


def review_overdue(review_date_iso: str, today_iso: str, status: str) -> bool:
    """A risk still open (or treated) whose review date has passed."""
    return status in (Status.OPEN, Status.TREATED) and review_date_iso < today_iso
