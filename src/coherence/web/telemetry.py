"""Sparklines of the telemetry kept with an incident: the minutes before it opened, per metric.

Pure: bytes of the kept snapshot (one JSON sample a line) in, points scaled for a small SVG out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import orjson

WIDTH = 180
HEIGHT = 36
PAD = 3
MAX_SERIES = 24


@dataclass(frozen=True)
class Sparkline:
    """One metric of one asset: its points as an SVG polyline and the figures beside it."""

    asset: str
    metric: str
    unit: str
    points: str
    first: float
    last: float
    low: float
    high: float
    count: int

    @property
    def trend(self) -> str:
        """Say which way the metric went over the kept minutes, in words."""
        if math.isclose(self.first, self.last, rel_tol=1e-3, abs_tol=1e-9):
            return "steady"
        return "rising" if self.last > self.first else "falling"


def sparklines(content: bytes) -> list[Sparkline]:
    """Return a sparkline per numeric metric in a kept snapshot, in metric order.

    Text values, non-finite numbers and lines that are not samples are left out: a snapshot is
    evidence kept exactly as received, and the drawing must not fail on what it cannot plot.
    """
    series: dict[tuple[str, str], list[tuple[float, float]]] = {}
    units: dict[tuple[str, str], str] = {}
    for line in content.splitlines():
        try:
            sample = orjson.loads(line)
            key = (str(sample["asset"]), str(sample["metric"]))
            at, value = float(sample["timestamp"]), sample["value"]
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            continue
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if not (math.isfinite(at) and math.isfinite(value)):
            continue
        series.setdefault(key, []).append((at, float(value)))
        units.setdefault(key, str(sample.get("unit", "")))
    drawn = []
    for key in sorted(series)[:MAX_SERIES]:
        points = sorted(series[key])
        drawn.append(_draw(key, units[key], points))
    return drawn


def _draw(key: tuple[str, str], unit: str, points: list[tuple[float, float]]) -> Sparkline:
    times = [t for t, _ in points]
    values = [v for _, v in points]
    low, high = min(values), max(values)
    start, span = times[0], (times[-1] - times[0]) or 1.0
    spread = (high - low) or 1.0
    inner_w, inner_h = WIDTH - 2 * PAD, HEIGHT - 2 * PAD
    coords = " ".join(
        f"{PAD + (t - start) / span * inner_w:.1f},{PAD + (high - v) / spread * inner_h:.1f}"
        for t, v in points
    )
    if len(points) == 1:
        coords = f"{PAD},{HEIGHT / 2:.1f} {WIDTH - PAD},{HEIGHT / 2:.1f}"
    return Sparkline(
        asset=key[0],
        metric=key[1],
        unit=unit,
        points=coords,
        first=values[0],
        last=values[-1],
        low=low,
        high=high,
        count=len(points),
    )
