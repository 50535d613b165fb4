"""Watchful access: every read of incident data is recorded, unusual reading is raised as a
security signal that opens a data-exfiltration incident, and each record's reads are listed."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session, sessionmaker

from coherence.access.domain import AccessRole, Tlp
from coherence.catalog import service as catalog_service
from coherence.catalog.domain import AssetKind
from coherence.catalog.models import Asset, Person
from coherence.clock import Clock
from coherence.db import schema_lock_key, session_scope
from coherence.detection import service as detection_service
from coherence.errors import CoherenceError
from coherence.incidents import records as incident_records
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Status as IncidentStatus
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.watch import domain as watch
from coherence.watch import repository as watch_repository
from coherence.watch.models import AccessEvent, AccessFinding

ACTOR = "access-watch"
PLAYBOOK = "data-exfiltration"
THRESHOLDS = watch.Thresholds()
SWEEP_INTERVAL = timedelta(minutes=1)
# First half of the PostgreSQL advisory lock key the sweep takes ("CH" 2); the second half is
# the schema's key, so deployments in different schemas of one database sweep independently.
# Documented in docs/deploy.md.
SWEEP_LOCK = 0x4348_0002
# Where an exfiltration incident is opened: the reader's most-read site's IT first.
WATCHED_KINDS = (AssetKind.CONTROL_SERVER.value, AssetKind.NETWORK_SEGMENT.value)
URGENCY = {
    watch.Rule.VOLUME: "high",
    watch.Rule.SENSITIVE_BURST: "high",
    watch.Rule.UNUSUAL_HOUR: "medium",
}
log = logging.getLogger(__name__)


def record_read(
    session: Session,
    *,
    person: Person,
    incident: Incident,
    tlp: Tlp | None,
    path: str,
    at: datetime,
) -> None:
    """Add one read of an incident's data to the caller's transaction: one row, written when
    the request's transaction is, and nothing read back."""
    label = Tlp(incident.tlp)
    if tlp is not None and tlp.rank > label.rank:
        label = tlp
    session.add(
        AccessEvent(
            at=at,
            hour=watch.hour_bucket(at),
            person=person.key,
            organisation=person.organisation.key,
            incident_id=incident.id,
            tlp=label.value,
            path=path[:200],
        )
    )


def sweep(
    session: Session, *, clock: Clock, thresholds: watch.Thresholds = THRESHOLDS
) -> list[AccessFinding] | None:
    """Compare each principal's recent reading with its own history; raise what is unusual,
    at most once per principal and rule in each cool-down.

    None, with nothing checked, when another process is sweeping the same database right now.
    """
    if not _sweep_lock(session):
        log.info("unusual-access sweep skipped: another process is sweeping")
        return None
    now = clock.now()
    start = now - thresholds.window
    recent = watch_repository.activity_since(
        session, since=start, burst_since=now - thresholds.burst_window
    )
    least = min(thresholds.volume_floor, thresholds.hour_floor)
    raised: list[AccessFinding] = []
    for activity in recent.values():
        if activity.records < least and activity.sensitive < thresholds.sensitive_floor:
            continue
        history = watch_repository.history_of(
            session, person=activity.person, since=start - thresholds.history, before=start
        )
        for finding in watch.assess(activity, history, thresholds, now=now):
            if watch_repository.raised_since(
                session,
                person=activity.person,
                rule=finding.rule.value,
                since=now - thresholds.cooldown,
            ):
                continue
            raised.append(_raise(session, clock, activity, finding, since=start))
    session.flush()
    return raised


def _sweep_lock(session: Session) -> bool:
    """Take the sweep's lock for this transaction, unless another process holds it.

    SQLite needs none: every transaction there begins with BEGIN IMMEDIATE, so a second sweep
    waits for the first to commit and then sees its findings.
    """
    if session.get_bind().dialect.name != "postgresql":
        return True
    schema_key = schema_lock_key(str(session.scalar(text("select current_schema()"))))
    return bool(session.scalar(select(func.pg_try_advisory_xact_lock(SWEEP_LOCK, schema_key))))


def _asset_for(session: Session, person: str, since: datetime) -> Asset | None:
    """A control server or network segment at the site the reader read most, else anywhere."""
    read = watch_repository.most_read_incident(session, person=person, since=since)
    incident = incidents_service.get(session, read) if read is not None else None
    candidates = [a for a in catalog_service.list_assets(session) if a.kind in WATCHED_KINDS]
    candidates.sort(key=lambda a: (WATCHED_KINDS.index(a.kind), a.key))
    local = [a for a in candidates if incident is not None and a.site_id == incident.site_id]
    found = local or candidates
    return found[0] if found else None


def _raise(
    session: Session,
    clock: Clock,
    activity: watch.Activity,
    finding: watch.Finding,
    *,
    since: datetime,
) -> AccessFinding:
    now = clock.now()
    person = catalog_service.get_person(session, activity.person)
    organisation = person.organisation.key if person is not None else ""
    detail = f"{activity.person} ({organisation or 'unknown organisation'}) {finding.detail}"
    row = AccessFinding(
        person=activity.person,
        organisation=organisation,
        rule=finding.rule.value,
        detail=detail,
        records=activity.records,
        sensitive=activity.sensitive,
        raised_at=now,
    )
    session.add(row)
    row.incident_id = _open_incident(session, clock, activity.person, finding, detail, since)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.ACCESS_FLAGGED,
        actor=ACTOR,
        subject=f"person:{activity.person}",
        incident_id=row.incident_id,
        payload={
            "person": activity.person,
            "organisation": organisation,
            "rule": finding.rule.value,
            "detail": finding.detail,
            "records": activity.records,
            "sensitive": activity.sensitive,
            "baseline": finding.baseline,
            "incident": row.incident_id,
        },
    )
    return row


def _open_incident(
    session: Session,
    clock: Clock,
    person: str,
    finding: watch.Finding,
    detail: str,
    since: datetime,
) -> int | None:
    """Raise the signal; a new incident is labelled TLP:RED for its role holders and the
    facility's administrators and auditors, never for the principal it is about."""
    asset = _asset_for(session, person, since)
    if asset is None:
        log.warning("unusual access by %s not raised: no control server or network segment", person)
        return None
    event = detection_service.SignalEvent(
        key=f"access:{person}",
        asset=asset.key,
        source=ACTOR,
        raised=True,
        at=clock.now(),
        impact="major",
        urgency=URGENCY[finding.rule],
        detail=detail,
        playbook=PLAYBOOK,
    )
    try:
        # A savepoint: without the playbook (or with a catalog problem) the finding still stands.
        with session.begin_nested():
            outcome = detection_service.apply_event(session, clock=clock, event=event)
            if outcome.opened and outcome.incident_id is not None:
                incident_records.label(
                    session,
                    clock=clock,
                    ref=outcome.incident_id,
                    tlp=Tlp.RED,
                    recipients=_investigators(session, suspect=person),
                    actor=ACTOR,
                )
    except CoherenceError as problem:
        log.warning("unusual access by %s not raised as an incident: %s", person, problem.message)
        return None
    return outcome.incident_id


def _investigators(session: Session, *, suspect: str) -> list[str]:
    auditing = (AccessRole.ADMINISTRATOR.value, AccessRole.AUDITOR.value)
    return [
        p.key
        for p in catalog_service.list_people(session)
        if p.access_role in auditing and p.key != suspect
    ]


@dataclass(frozen=True)
class History:
    """Who read one incident's data, and what was withheld from whom."""

    reads: Sequence[AccessEvent]
    redactions: Sequence[LedgerEntry]


def history(
    session: Session, *, ref: str, tlp: Tlp | None = None, limit: int = 200
) -> tuple[Incident, History]:
    """An incident's recorded reads (optionally under one label) and redactions, newest first."""
    incident = incidents_service.get_or_raise(session, ref)
    reads = watch_repository.reads_of(
        session, incident_id=incident.id, tlp=tlp.value if tlp else None, limit=limit
    )
    redactions = watch_repository.redactions_of(session, incident_id=incident.id, limit=limit)
    return incident, History(reads, redactions)


def forget_reads(session: Session, *, clock: Clock, days: int, actor: str) -> int:
    """Delete recorded reads older than ``days`` (those of open incidents stay, as retention
    keeps everything about an open incident) and ledger how many went."""
    before = clock.now() - timedelta(days=days)
    deleted = watch_repository.delete_reads_before(
        session, before=before, closed_statuses=[IncidentStatus.CLOSED.value]
    )
    if deleted:
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.ACCESS_EVENTS_PURGED,
            actor=actor,
            subject="retention:access_events",
            payload={"events": deleted, "before": before.isoformat(), "policy_days": days},
        )
    return deleted


def list_findings(session: Session, *, limit: int = 100) -> Sequence[AccessFinding]:
    """Unusual reading found, newest first."""
    return watch_repository.findings(session, limit=limit)


@dataclass
class WatchJob:
    """The sweep for the background workers: at most once per ``interval``."""

    thresholds: watch.Thresholds = THRESHOLDS
    interval: timedelta = SWEEP_INTERVAL
    last_run: datetime | None = field(default=None, init=False)

    def run_if_due(self, factory: sessionmaker[Session], *, clock: Clock) -> int | None:
        """Sweep unless a sweep ran less than ``interval`` ago (here, or in another process
        sweeping right now); return how many were raised."""
        now = clock.now()
        if self.last_run is not None and now - self.last_run < self.interval:
            return None
        # Set first: a sweep that fails waits for the next interval instead of every tick.
        self.last_run = now
        with session_scope(factory) as session:
            raised = sweep(session, clock=clock, thresholds=self.thresholds)
        return None if raised is None else len(raised)
