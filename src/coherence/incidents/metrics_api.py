"""Response metrics over HTTP: MTTD, MTTA, MTTC and MTTR by group and period, as JSON."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query
from pydantic import BaseModel, Field

from coherence.access.api import ReadsFacility
from coherence.http import ERROR_RESPONSES
from coherence.incidents import metrics_query
from coherence.incidents.domain import Kind
from coherence.incidents.metrics import RESPONSE_METRICS, Dimension, Period, Row

# Included by the incidents router, under /api/v1.
router = APIRouter(tags=["incidents"], responses=ERROR_RESPONSES)


class MetricRow(BaseModel):
    """One metric's figures for one kind, group and period, in seconds."""

    kind: str
    group: str | None = Field(description="The category, site or severity; null if not grouped.")
    period: str | None = Field(description="2026-01 or 2026-W02; null if not bucketed.")
    metric: str
    count: int
    mean: float | None
    median: float | None
    p90: float | None


class ResponseMetrics(BaseModel):
    """MTTD, MTTA, MTTC and MTTR over incidents of one kind."""

    kind: Kind
    by: Dimension | None
    period: Period | None
    descriptions: dict[str, str]
    rows: list[MetricRow]


def metric_row(row: Row) -> MetricRow:
    """One computed row as the API shows it."""
    return MetricRow(
        kind=row.kind,
        group=row.group,
        period=row.period,
        metric=row.metric,
        count=row.stat.count,
        mean=row.stat.mean,
        median=row.stat.median,
        p90=row.stat.p90,
    )


@router.get(
    "/metrics/response", response_model=ResponseMetrics, summary="MTTD, MTTA, MTTC and MTTR"
)
def response_metrics(
    caller: ReadsFacility,
    kind: Kind = Query(Kind.REAL, description="real (default), exercise or test; never mixed."),
    by: Dimension | None = Query(None, description="Break down by category, site or severity."),
    period: Period | None = Query(None, description="Bucket by month or week of detection."),
    since: datetime | None = Query(None, description="Only incidents detected at or after."),
    until: datetime | None = Query(None, description="Only incidents detected before."),
) -> ResponseMetrics:
    """Count, mean, median and p90 of each response time, in seconds."""
    rows = metrics_query.response_rows(
        caller.session, kind=kind, by=by, period=period, since=since, until=until
    )
    return ResponseMetrics(
        kind=kind,
        by=by,
        period=period,
        descriptions={name: text for name, (_m, text) in RESPONSE_METRICS.items()},
        rows=[metric_row(r) for r in rows],
    )
