"""Signals become incidents: one open incident per key, later signals update it."""

from __future__ import annotations

import hashlib
import io
import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime

import orjson
from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory, Tlp
from coherence.clock import Clock
from coherence.detection.models import SignalKey, TelemetrySnapshot
from coherence.errors import CoherenceError
from coherence.evidence import service as evidence_service
from coherence.evidence.store import ContentStore
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Kind, reference
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks.domain import standard_scheme

DETECTOR_ACTOR = "detector"
# The qubit-processor metrics of detection/data/metrics.yaml ("Qubits"): a snapshot holding
# only these is the device's calibration, which retention keeps for its own period.
CALIBRATION_METRICS = frozenset(
    {
        "t1_us",
        "t2_us",
        "readout_error_ratio",
        "two_qubit_gate_error_ratio",
        "t1_ratio_to_median",
        "t2_ratio_to_median",
        "readout_error_ratio_to_median",
    }
)
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class SignalEvent:
    """A rule or an outside system says something about an asset, raised or cleared."""

    key: str
    asset: str
    source: str
    raised: bool
    at: datetime
    impact: str
    urgency: str
    detail: str
    playbook: str | None = None
    category: str | None = None
    flapping: bool = False
    kind: Kind = Kind.REAL


@dataclass(frozen=True)
class Outcome:
    """What one event did."""

    key: str
    incident_id: int | None
    opened: bool


def apply_event(
    session: Session,
    *,
    clock: Clock,
    event: SignalEvent,
    evidence: bytes | None = None,
    evidence_samples: int = 0,
    evidence_dropped: int = 0,
    evidence_store: ContentStore | None = None,
) -> Outcome:
    """Open, update or clear the incident behind ``event.key`` inside the caller's transaction.

    With ``evidence_store``, the telemetry kept when an incident opens is also registered as
    an evidence item; if the store fails, the incident still opens and the ledger says why.
    ``evidence_dropped`` counts samples received just before the kept ones but not kept.
    """
    now = clock.now()
    row = _claim(session, event, now)
    incident_id = row.incident_id
    if incident_id is not None and not incidents_service.is_open(session, incident_id):
        incident_id = None
    if incident_id is None and event.playbook is not None:
        # Someone may have opened this incident by hand before the rule fired: join it. Only
        # one of the same kind: a drill never joins a real incident, nor a real signal a drill.
        incident_id = incidents_service.find_open(
            session, asset=event.asset, playbook=event.playbook, kind=event.kind.value
        )
        row.incident_id = incident_id
    if not event.raised:
        row.firing = False
        row.last_seen = now
        if incident_id is not None and not event.flapping:
            _record(session, clock, EntryType.SIGNAL_CLEARED, event, incident_id)
        return Outcome(event.key, incident_id, opened=False)

    row.firing, row.last_seen, row.last_detail = True, now, event.detail[:2000]
    row.severity = standard_scheme().severity_for(impact=event.impact, urgency=event.urgency).key
    row.occurrences += 1
    if incident_id is not None:
        if event.flapping and not row.flapping:
            row.flapping = True
            _record(session, clock, EntryType.SIGNAL_FLAPPING, event, incident_id)
        if not event.flapping:
            _record(session, clock, EntryType.SIGNAL_RAISED, event, incident_id)
            incidents_service.raise_severity(
                session,
                clock=clock,
                ref=incident_id,
                impact=event.impact,
                urgency=event.urgency,
                reason=event.detail,
                actor=DETECTOR_ACTOR,
            )
        return Outcome(event.key, incident_id, opened=False)

    incident = incidents_service.open_incident(
        session,
        clock=clock,
        actor=DETECTOR_ACTOR,
        request=IncidentCreate(
            asset=event.asset,
            playbook=event.playbook,
            category=None if event.playbook else event.category,
            impact=event.impact,
            urgency=event.urgency,
            summary=f"Detected: {event.detail}",
            occurred_at=min(event.at, now),
            kind=event.kind,
        ),
    )
    row.incident_id, row.flapping, row.occurrences = incident.id, False, 1
    row.first_seen = now
    _record(session, clock, EntryType.SIGNAL_RAISED, event, incident.id)
    if evidence is not None:
        _keep_evidence(
            session,
            clock,
            incident.id,
            event.asset,
            evidence,
            evidence_samples,
            evidence_dropped,
            evidence_store,
        )
    return Outcome(event.key, incident.id, opened=True)


def _claim(session: Session, event: SignalEvent, now: datetime) -> SignalKey:
    """Return the key's row, locked; create it first if it is new.

    The insert does nothing when another worker created the key meanwhile, so two
    detectors that see the same fault at once end up updating one incident.
    """
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(SignalKey)
        .values(
            dedup_key=event.key,
            asset=event.asset,
            playbook=event.playbook,
            source=event.source,
            firing=event.raised,
            flapping=False,
            severity="",
            occurrences=0,
            first_seen=now,
            last_seen=now,
            last_detail="",
        )
        .on_conflict_do_nothing(index_elements=["dedup_key"])
    )
    row = session.scalars(
        select(SignalKey).where(SignalKey.dedup_key == event.key).with_for_update()
    ).one()
    session.refresh(row)
    return row


def _record(
    session: Session, clock: Clock, entry_type: EntryType, event: SignalEvent, incident_id: int
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=DETECTOR_ACTOR,
        subject=f"signal:{event.key}",
        incident_id=incident_id,
        payload={"key": event.key, "source": event.source, "detail": event.detail, "at": event.at},
    )


def _keep_evidence(
    session: Session,
    clock: Clock,
    incident_id: int,
    asset: str,
    content: bytes,
    samples: int,
    dropped: int,
    store: ContentStore | None,
) -> None:
    digest = hashlib.sha256(content).hexdigest()
    payload: dict[str, object] = {
        "asset": asset,
        "samples": samples,
        "sha256": digest,
        "bytes": len(content),
    }
    if dropped:
        payload |= {"truncated": True, "dropped": dropped}
    if store is not None:
        payload |= _register(session, clock, incident_id, asset, content, samples, dropped, store)
    snapshot = TelemetrySnapshot(
        incident_id=incident_id,
        asset=asset,
        samples=samples,
        sha256=digest,
        content=content,
        captured_at=clock.now(),
    )
    session.add(snapshot)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.EVIDENCE_CAPTURED,
        actor=DETECTOR_ACTOR,
        subject=f"snapshot:{snapshot.id}",
        incident_id=incident_id,
        payload=payload,
    )


def _register(
    session: Session,
    clock: Clock,
    incident_id: int,
    asset: str,
    content: bytes,
    samples: int,
    dropped: int,
    store: ContentStore,
) -> dict[str, object]:
    """Put a snapshot in the evidence register; on failure say why instead of raising."""
    cut = (
        f" The {dropped} samples received just before them were not kept: the detector keeps "
        "at most COHERENCE_EVIDENCE_MAX_SAMPLES per asset."
        if dropped
        else ""
    )
    try:
        item = evidence_service.collect(
            session,
            clock=clock,
            store=store,
            content=io.BytesIO(content),
            name=f"Telemetry of {asset} before {reference(incident_id)}",
            actor=DETECTOR_ACTOR,
            tlp=Tlp.AMBER,
            category=snapshot_category(content),
            incident=reference(incident_id),
            asset=asset,
            description=f"{samples} samples the detector held when the incident opened, "
            "one canonical JSON object a line." + cut,
            max_bytes=max(len(content), 1),
        )
    except (OSError, CoherenceError) as exc:
        # Nothing is written before the store accepts the bytes, so the incident can go on;
        # the snapshot row still holds the content.
        problem = exc.message if isinstance(exc, CoherenceError) else f"{exc.strerror or exc}"
        log.warning("snapshot for %s not registered as evidence: %s", asset, problem)
        return {"item": None, "not_registered": problem}
    return {"item": item.id}


def snapshot_category(content: bytes) -> DataCategory:
    """Calibration when every sample is a qubit-processor metric, else operational."""
    metrics = set()
    for line in content.splitlines():
        try:
            sample = orjson.loads(line) if line.strip() else {}
        except orjson.JSONDecodeError:
            return DataCategory.OPERATIONAL
        if sample:
            metrics.add(sample.get("metric") if isinstance(sample, dict) else None)
    if metrics and metrics <= CALIBRATION_METRICS:
        return DataCategory.CALIBRATION
    return DataCategory.OPERATIONAL


def forget_snapshots(session: Session, *, digests: Collection[str]) -> None:
    """Drop the kept copy of snapshots whose evidence retention purged; hashes stay."""
    if digests:
        session.execute(
            update(TelemetrySnapshot)
            .where(TelemetrySnapshot.sha256.in_(list(digests)))
            .values(content=b"")
        )


def snapshots_for(session: Session, incident_id: int) -> list[TelemetrySnapshot]:
    """Return the telemetry kept for an incident."""
    query = select(TelemetrySnapshot).where(TelemetrySnapshot.incident_id == incident_id)
    return list(session.scalars(query.order_by(TelemetrySnapshot.id)).all())


def open_keys(session: Session) -> list[SignalKey]:
    """Return every key whose signal is firing now."""
    query = select(SignalKey).where(SignalKey.firing.is_(True)).order_by(SignalKey.dedup_key)
    return list(session.scalars(query).all())
