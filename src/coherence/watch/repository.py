"""Every query of watchful access."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import case, delete, distinct, func, or_, select
from sqlalchemy.orm import Session

from coherence.db import UTCDateTime
from coherence.incidents.models import Incident
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.watch.domain import SENSITIVE, Activity, History
from coherence.watch.models import AccessEvent, AccessFinding

_RECORDS = func.count(distinct(AccessEvent.incident_id))
_SENSITIVE = func.count(
    distinct(case((AccessEvent.tlp.in_(sorted(SENSITIVE)), AccessEvent.incident_id)))
)


def activity_since(
    session: Session, *, since: datetime, burst_since: datetime
) -> dict[str, Activity]:
    """Each principal that read since ``since``: distinct records, distinct AMBER/RED records
    since ``burst_since``, and the hours of day it read at."""
    recent = AccessEvent.at >= since
    records: dict[str, int] = dict(
        session.execute(
            select(AccessEvent.person, _RECORDS).where(recent).group_by(AccessEvent.person)
        ).all()
    )
    burst: dict[str, int] = dict(
        session.execute(
            select(AccessEvent.person, _SENSITIVE)
            .where(AccessEvent.at >= burst_since)
            .group_by(AccessEvent.person)
        ).all()
    )
    hours: dict[str, set[int]] = defaultdict(set)
    for person, hour in session.execute(
        select(AccessEvent.person, AccessEvent.hour).where(recent).distinct()
    ):
        hours[person].add(hour % 24)
    return {
        person: Activity(person, count, burst.get(person, 0), frozenset(hours[person]))
        for person, count in records.items()
    }


def history_of(session: Session, *, person: str, since: datetime, before: datetime) -> History:
    """A principal's distinct records per hour bucket between ``since`` and ``before``."""
    rows = session.execute(
        select(AccessEvent.hour, _RECORDS, _SENSITIVE)
        .where(AccessEvent.person == person, AccessEvent.at >= since, AccessEvent.at < before)
        .group_by(AccessEvent.hour)
    )
    hourly: dict[int, int] = {}
    sensitive: dict[int, int] = {}
    for hour, count, amber in rows:
        hourly[hour] = count
        if amber:
            sensitive[hour] = amber
    first = session.scalar(
        select(func.min(AccessEvent.at, type_=UTCDateTime())).where(AccessEvent.person == person)
    )
    return History(hourly, sensitive, first)


def most_read_incident(session: Session, *, person: str, since: datetime) -> int | None:
    """The incident a principal read most often since ``since``."""
    query = (
        select(AccessEvent.incident_id)
        .where(
            AccessEvent.person == person,
            AccessEvent.at >= since,
            AccessEvent.incident_id.is_not(None),
        )
        .group_by(AccessEvent.incident_id)
        .order_by(func.count().desc(), AccessEvent.incident_id)
        .limit(1)
    )
    return session.scalar(query)


def raised_since(session: Session, *, person: str, rule: str, since: datetime) -> bool:
    """Whether a finding of ``rule`` about ``person`` was raised since ``since``."""
    query = select(AccessFinding.id).where(
        AccessFinding.person == person,
        AccessFinding.rule == rule,
        AccessFinding.raised_at >= since,
    )
    return session.scalar(query.limit(1)) is not None


def reads_of(
    session: Session, *, incident_id: int, tlp: str | None, limit: int
) -> Sequence[AccessEvent]:
    """Recorded reads of one incident's data, newest first."""
    query = select(AccessEvent).where(AccessEvent.incident_id == incident_id)
    if tlp is not None:
        query = query.where(AccessEvent.tlp == tlp)
    return session.scalars(
        query.order_by(AccessEvent.at.desc(), AccessEvent.id.desc()).limit(limit)
    ).all()


def findings(session: Session, *, limit: int) -> Sequence[AccessFinding]:
    """Findings, newest first."""
    query = select(AccessFinding).order_by(AccessFinding.raised_at.desc(), AccessFinding.id.desc())
    return session.scalars(query.limit(limit)).all()


def redactions_of(session: Session, *, incident_id: int, limit: int) -> Sequence[LedgerEntry]:
    """The ledger's entries of reads of one incident that withheld fields, newest first."""
    query = select(LedgerEntry).where(
        LedgerEntry.incident_id == incident_id,
        LedgerEntry.entry_type == EntryType.FIELDS_REDACTED.value,
    )
    return session.scalars(query.order_by(LedgerEntry.seq.desc()).limit(limit)).all()


def delete_reads_before(session: Session, *, before: datetime, closed_statuses: list[str]) -> int:
    """Delete reads older than ``before`` of no incident or of one closed before it."""
    closed = select(Incident.id).where(
        Incident.status.in_(closed_statuses), Incident.closed_at < before
    )
    result = session.execute(
        delete(AccessEvent)
        .where(
            AccessEvent.at < before,
            or_(AccessEvent.incident_id.is_(None), AccessEvent.incident_id.in_(closed)),
        )
        .execution_options(synchronize_session=False)
    )
    return int(getattr(result, "rowcount", 0) or 0)
