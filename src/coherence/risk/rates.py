"""Failure rates per asset kind and incident category: Gamma priors updated by incidents.

Pure functions over plain data, apart from reading the shipped priors file once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from importlib import resources
from typing import Any

import yaml

from coherence.risk import gamma

HOURS_PER_YEAR = 8766.0  # 365.25 days
YEAR = timedelta(days=365.25)
CREDIBLE = 0.90
DEFAULT_IN_HOUSE_HOURS = 8.0


@dataclass(frozen=True)
class Prior:
    """A Gamma prior over incidents per asset-year, and where it comes from."""

    shape: float
    rate: float
    source: str


@dataclass(frozen=True)
class PriorTable:
    """Priors by (kind, category), the default for pairs not listed, in-house repair hours."""

    default: Prior
    pairs: Mapping[tuple[str, str], Prior]
    in_house_hours: Mapping[str, float]

    def prior(self, kind: str, category: str) -> Prior:
        """The prior for one pair, or the default."""
        return self.pairs.get((kind, category), self.default)

    def repair_hours(self, kind: str) -> float:
        """In-house repair hours for an asset kind."""
        return self.in_house_hours.get(
            kind, self.in_house_hours.get("default", DEFAULT_IN_HOUSE_HOURS)
        )


@dataclass(frozen=True)
class Event:
    """One real incident: the kind of the asset it struck, its category and when."""

    kind: str
    category: str
    at: datetime


@dataclass(frozen=True)
class Estimate:
    """The posterior of one (kind, category) rate, per asset-year, with its evidence."""

    kind: str
    category: str
    assets: int
    years: float
    events: int
    prior: Prior
    shape: float
    rate: float
    mean: float
    low: float
    high: float

    @property
    def exposure(self) -> float:
        """Asset-years observed."""
        return self.assets * self.years


def parse_priors(raw: Mapping[str, Any]) -> PriorTable:
    """Build the prior table from the shipped YAML shape, refusing non-positive parameters."""
    base = raw["default"]
    default = Prior(float(base["shape"]), float(base["rate"]), "default weak prior")
    pairs = {
        (str(p["kind"]), str(p["category"])): Prior(
            float(p["shape"]), float(p["rate"]), str(p["source"])
        )
        for p in raw["priors"]
    }
    for prior in [default, *pairs.values()]:
        if prior.shape <= 0 or prior.rate <= 0:
            raise ValueError(f"prior shape and rate must be positive: {prior}")
    hours = {str(k): float(v) for k, v in raw.get("in_house_repair_hours", {}).items()}
    return PriorTable(default, pairs, hours)


@cache
def shipped_priors() -> PriorTable:
    """The priors that ship with Coherence (risk/data/priors.yaml)."""
    text = resources.files("coherence.risk").joinpath("data/priors.yaml").read_text()
    return parse_priors(yaml.safe_load(text))


def posterior(prior: Prior, *, events: int, exposure: float) -> tuple[float, float]:
    """Gamma-Poisson update: (shape + events, rate + asset-years)."""
    return prior.shape + events, prior.rate + exposure


def estimate(
    prior: Prior, *, kind: str, category: str, assets: int, years: float, events: int
) -> Estimate:
    """The posterior mean and 90 % equal-tailed credible interval for one pair."""
    shape, rate = posterior(prior, events=events, exposure=assets * years)
    tail = (1.0 - CREDIBLE) / 2.0
    return Estimate(
        kind=kind,
        category=category,
        assets=assets,
        years=years,
        events=events,
        prior=prior,
        shape=shape,
        rate=rate,
        mean=shape / rate,
        low=gamma.quantile(tail, shape, rate),
        high=gamma.quantile(1.0 - tail, shape, rate),
    )


def estimate_all(
    table: PriorTable,
    *,
    assets_by_kind: Mapping[str, int],
    events: Iterable[Event],
    start: datetime,
    end: datetime,
) -> list[Estimate]:
    """Every pair with a prior listed or an incident seen, for kinds the facility has."""
    years = max(0.0, (end - start) / YEAR)
    counts: dict[tuple[str, str], int] = {}
    for event in events:
        if start <= event.at <= end and event.kind in assets_by_kind:
            counts[(event.kind, event.category)] = counts.get((event.kind, event.category), 0) + 1
    pairs = {p for p in table.pairs if assets_by_kind.get(p[0], 0) > 0} | counts.keys()
    return [
        estimate(
            table.prior(kind, category),
            kind=kind,
            category=category,
            assets=assets_by_kind[kind],
            years=years,
            events=counts.get((kind, category), 0),
        )
        for kind, category in sorted(pairs)
    ]


def per_kind(estimates: Iterable[Estimate]) -> dict[str, float]:
    """Incidents per asset-year of each kind, all categories together (posterior means)."""
    totals: dict[str, float] = {}
    for item in estimates:
        totals[item.kind] = totals.get(item.kind, 0.0) + item.mean
    return totals


def trend(
    table: PriorTable,
    *,
    assets_by_kind: Mapping[str, int],
    events: Sequence[Event],
    start: datetime,
    end: datetime,
    points: int,
) -> list[tuple[datetime, list[Estimate]]]:
    """The estimates as they stood at ``points`` evenly spaced moments from start to end."""
    if points < 2 or end <= start:
        return [
            (
                end,
                estimate_all(
                    table, assets_by_kind=assets_by_kind, events=events, start=start, end=end
                ),
            )
        ]
    step = (end - start) / (points - 1)
    moments = [start + step * i for i in range(points - 1)] + [end]
    return [
        (at, estimate_all(table, assets_by_kind=assets_by_kind, events=events, start=start, end=at))
        for at in moments
    ]
