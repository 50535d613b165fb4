"""Response metrics across incidents: MTTD, MTTA, MTTC and MTTR by group and period, pure.

Every figure is grouped by incident kind first, so exercise and test incidents never mix
into real ones. The Prometheus text exposition of the same figures lives here too.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from coherence.incidents.domain import Stamps, incident_metrics

# Short name -> (per-incident metric it averages, what it measures).
RESPONSE_METRICS: Mapping[str, tuple[str, str]] = {
    "mttd": ("time_to_detect", "onset (occurred) to detected"),
    "mtta": ("time_to_acknowledge", "detected to acknowledged"),
    "mttc": ("time_to_contain", "detected to contained"),
    "mttr": ("time_to_recover", "detected to resolved (service restored and verified)"),
}


class Dimension(StrEnum):
    """What figures can be broken down by, besides kind."""

    CATEGORY = "category"
    SITE = "site"
    SEVERITY = "severity"


class Period(StrEnum):
    """Time buckets, by when the incident was detected (UTC)."""

    MONTH = "month"
    WEEK = "week"


@dataclass(frozen=True)
class IncidentTimes:
    """One incident as the metrics see it: its labels and raw timestamps."""

    kind: str
    category: str
    site: str
    severity: str
    status: str
    stamps: Stamps

    def label(self, dimension: Dimension) -> str:
        """Return the incident's value for ``dimension``."""
        return str(getattr(self, dimension.value))


@dataclass(frozen=True)
class Stat:
    """Count, mean, median and 90th percentile of durations in seconds."""

    count: int
    mean: float | None
    median: float | None
    p90: float | None
    total: float


@dataclass(frozen=True)
class Row:
    """One metric's figures for one kind, group and period."""

    kind: str
    group: str | None
    period: str | None
    metric: str
    stat: Stat


def summarise(values: Iterable[float]) -> Stat:
    """Return count, mean, median and p90 (nearest rank) of ``values``."""
    samples = sorted(values)
    if not samples:
        return Stat(0, None, None, None, 0.0)
    n = len(samples)
    return Stat(
        n,
        statistics.fmean(samples),
        statistics.median(samples),
        samples[min(n - 1, int(0.9 * n))],
        float(sum(samples)),
    )


def bucket(at: datetime, period: Period) -> str:
    """Return the period ``at`` falls in: ``2026-01`` or ISO week ``2026-W02``."""
    if period is Period.MONTH:
        return f"{at.year:04d}-{at.month:02d}"
    year, week, _day = at.isocalendar()
    return f"{year:04d}-W{week:02d}"


def breakdown(
    incidents: Iterable[IncidentTimes],
    *,
    by: Dimension | None = None,
    period: Period | None = None,
    metrics: Sequence[str] = tuple(RESPONSE_METRICS),
) -> list[Row]:
    """Return the figures per kind, optional group and optional period, in a stable order."""
    samples: dict[tuple[str, str | None, str | None, str], list[float]] = {}
    for incident in incidents:
        measured = incident_metrics(incident.stamps)
        group = incident.label(by) if by is not None else None
        when = bucket(incident.stamps.detected_at, period) if period is not None else None
        for name in metrics:
            key = (incident.kind, group, when, name)
            values = samples.setdefault(key, [])
            value = measured[RESPONSE_METRICS[name][0]]
            if value is not None:
                values.append(value)
    order = {name: i for i, name in enumerate(metrics)}
    keys = sorted(samples, key=lambda k: (k[0], k[1] or "", k[2] or "", order[k[3]]))
    return [Row(k[0], k[1], k[2], k[3], summarise(samples[k])) for k in keys]


def escape_label(value: str) -> str:
    """Escape a label value for the Prometheus text format: backslash, quote, newline."""
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def escape_help(text: str) -> str:
    """Escape HELP text for the Prometheus text format: backslash and newline."""
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _labels(pairs: Sequence[tuple[str, str]]) -> str:
    return "{" + ",".join(f'{name}="{escape_label(value)}"' for name, value in pairs) + "}"


def _number(value: float) -> str:
    if value != value:  # NaN
        return "NaN"
    return repr(float(value))


def exposition(incidents: Sequence[IncidentTimes]) -> str:
    """Render incident counts and MTTx summaries in the Prometheus text format 0.0.4."""
    lines: list[str] = []
    opened: dict[tuple[str, str, str], int] = {}
    current: dict[tuple[str, str, str, str], int] = {}
    for i in incidents:
        opened[(i.kind, i.category, i.severity)] = (
            opened.get((i.kind, i.category, i.severity), 0) + 1
        )
        key = (i.kind, i.category, i.severity, i.status)
        current[key] = current.get(key, 0) + 1
    lines += [
        "# HELP coherence_incidents_opened_total Incidents opened, by kind, category and severity.",
        "# TYPE coherence_incidents_opened_total counter",
    ]
    for (kind, category, severity), count in sorted(opened.items()):
        labels = _labels([("kind", kind), ("category", category), ("severity", severity)])
        lines.append(f"coherence_incidents_opened_total{labels} {count}")
    lines += [
        "# HELP coherence_incidents Incidents by kind, category, severity and current phase.",
        "# TYPE coherence_incidents gauge",
    ]
    for (kind, category, severity, status), count in sorted(current.items()):
        labels = _labels(
            [("kind", kind), ("category", category), ("severity", severity), ("status", status)]
        )
        lines.append(f"coherence_incidents{labels} {count}")
    lines += _summaries(incidents)
    return "\n".join(lines) + "\n"


def _summaries(incidents: Sequence[IncidentTimes]) -> list[str]:
    lines: list[str] = []
    groups: dict[tuple[str, str, str, str], list[IncidentTimes]] = {}
    for i in incidents:
        groups.setdefault((i.kind, i.category, i.site, i.severity), []).append(i)
    for name, (per_incident, measures) in RESPONSE_METRICS.items():
        family = f"coherence_{per_incident}_seconds"
        lines.append(f"# HELP {family} {escape_help(f'{name.upper()}: {measures}, seconds.')}")
        lines.append(f"# TYPE {family} summary")
        for (kind, category, site, severity), members in sorted(groups.items()):
            values = [incident_metrics(m.stamps)[per_incident] for m in members]
            stat = summarise(v for v in values if v is not None)
            base = [("kind", kind), ("category", category), ("site", site), ("severity", severity)]
            for quantile, value in (("0.5", stat.median), ("0.9", stat.p90)):
                shown = _number(value) if value is not None else "NaN"
                lines.append(f"{family}{_labels([*base, ('quantile', quantile)])} {shown}")
            lines.append(f"{family}_sum{_labels(base)} {_number(stat.total)}")
            lines.append(f"{family}_count{_labels(base)} {stat.count}")
    return lines
