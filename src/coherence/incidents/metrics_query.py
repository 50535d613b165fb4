"""Read incidents for the response metrics: labels and raw timestamps, nothing else."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from coherence.errors import ValidationFailed
from coherence.incidents.domain import Kind
from coherence.incidents.metrics import (
    RESPONSE_METRICS,
    Dimension,
    IncidentTimes,
    Period,
    Row,
    breakdown,
)
from coherence.incidents.models import Incident
from coherence.incidents.views import stamps_of


def incident_times(
    session: Session,
    *,
    kinds: tuple[Kind, ...] = tuple(Kind),
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[IncidentTimes]:
    """Return every incident of ``kinds`` detected in [since, until) as the metrics see it."""
    if since is not None and until is not None and since >= until:
        raise ValidationFailed("since must be before until", field="since")
    query = (
        select(Incident)
        .options(joinedload(Incident.site))
        .where(Incident.kind.in_([k.value for k in kinds]))
    )
    if since is not None:
        query = query.where(Incident.detected_at >= since)
    if until is not None:
        query = query.where(Incident.detected_at < until)
    return [
        IncidentTimes(i.kind, i.category, i.site.key, i.severity, i.status, stamps_of(i))
        for i in session.scalars(query.order_by(Incident.id))
    ]


def response_rows(
    session: Session,
    *,
    kind: Kind,
    by: Dimension | None,
    period: Period | None,
    since: datetime | None = None,
    until: datetime | None = None,
    metrics: tuple[str, ...] = tuple(RESPONSE_METRICS),
) -> list[Row]:
    """Return MTTD/MTTA/MTTC/MTTR figures over incidents of one kind, grouped as asked."""
    unknown = [m for m in metrics if m not in RESPONSE_METRICS]
    if unknown:
        raise ValidationFailed(
            f"unknown metric {unknown[0]!r}; use {', '.join(RESPONSE_METRICS)}", field="metric"
        )
    found = incident_times(session, kinds=(kind,), since=since, until=until)
    return breakdown(found, by=by, period=period, metrics=metrics)
