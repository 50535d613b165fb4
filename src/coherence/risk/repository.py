"""Every risk query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from coherence.catalog.models import Asset
from coherence.db import UTCDateTime
from coherence.incidents.domain import Kind
from coherence.incidents.models import Incident
from coherence.risk.models import AdvisoryRecord, RiskEntry
from coherence.risk.rates import Event


def risk_by_key(session: Session, key: str, *, for_update: bool = False) -> RiskEntry | None:
    """The register entry with ``key``, or None."""
    query = select(RiskEntry).where(RiskEntry.key == key)
    if for_update:
        query = query.with_for_update()
    return session.scalars(query).one_or_none()


def risks(session: Session, *, status: str | None = None) -> Sequence[RiskEntry]:
    """Register entries by key, optionally of one status."""
    query = select(RiskEntry)
    if status is not None:
        query = query.where(RiskEntry.status == status)
    return session.scalars(query.order_by(RiskEntry.key)).all()


def advisory_by_key(session: Session, key: str) -> AdvisoryRecord | None:
    """The advisory with ``key``, or None."""
    return session.scalars(select(AdvisoryRecord).where(AdvisoryRecord.key == key)).one_or_none()


def advisories(session: Session) -> Sequence[AdvisoryRecord]:
    """Every advisory, newest first."""
    return session.scalars(
        select(AdvisoryRecord).order_by(AdvisoryRecord.recorded_at.desc(), AdvisoryRecord.id)
    ).all()


def _when() -> ColumnElement[datetime]:
    return func.coalesce(Incident.occurred_at, Incident.detected_at, type_=UTCDateTime())


def real_incident_events(session: Session) -> list[Event]:
    """Each real incident as (asset kind, category, when it occurred or was detected).

    Exercises and tests are left out: they are not evidence of how often things fail.
    """
    rows = session.execute(
        select(Asset.kind, Incident.category, _when())
        .join(Asset, Asset.id == Incident.asset_id)
        .where(Incident.kind == Kind.REAL.value)
    ).all()
    return [Event(kind, category, at) for kind, category, at in rows]


def first_real_incident(session: Session) -> datetime | None:
    """When the earliest real incident occurred (or was detected), if any."""
    return session.scalar(
        select(func.min(_when(), type_=UTCDateTime())).where(Incident.kind == Kind.REAL.value)
    )
