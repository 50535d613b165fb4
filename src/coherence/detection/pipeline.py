"""The running detector: checks samples against the catalog, evaluates rules, opens incidents."""

from __future__ import annotations

import logging
import threading
from collections import defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.db import session_scope
from coherence.detection.domain import Change, Detector, FlapGuard, base_asset
from coherence.detection.rules import compile_rules, default_category
from coherence.detection.samples import AlertStatus, ExternalAlert, Rejection, Sample
from coherence.detection.service import Outcome, SignalEvent, apply_event
from coherence.errors import CoherenceError
from coherence.evidence.store import ContentStore
from coherence.incidents.domain import Kind
from coherence.ledger.domain import canonical_json
from coherence.playbooks import service as playbooks_service
from coherence.recovery import pausing as recovery_pausing
from coherence.recovery import supply_service as recovery_supply
from coherence.recovery import verification as recovery_verification
from coherence.settings import EVIDENCE_MAX_SAMPLES

log = logging.getLogger(__name__)
REFRESH_SECONDS = 5.0
# An unknown asset forces a reload of the catalog, but not more often than this.
FORCED_REFRESH_SECONDS = 1.0
SEVERITY_LEVELS = {
    "sev1": ("severe", "immediate"),
    "sev2": ("major", "high"),
    "sev3": ("minor", "medium"),
    "sev4": ("negligible", "low"),
}


class _Held:
    """One asset's newest samples for its evidence, and how many the count limit pushed out."""

    __slots__ = ("dropped", "samples")

    def __init__(self, limit: int) -> None:
        self.samples: deque[Sample] = deque(maxlen=limit)
        # Discarded by the limit since the asset last held its whole window: they are the
        # samples received just before the oldest one kept.
        self.dropped = 0


@dataclass(frozen=True)
class Evidence:
    """The telemetry kept for a new incident: canonical JSON lines, how many, how many cut."""

    content: bytes
    samples: int
    dropped: int


@dataclass
class IngestReport:
    """What one batch did: how many samples were taken, which were refused, what opened."""

    accepted: int = 0
    rejected: list[Rejection] = field(default_factory=list)
    opened: list[int] = field(default_factory=list)
    updated: list[int] = field(default_factory=list)


class Pipeline:
    """One per process: the detector's state lives here between batches."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Clock,
        evidence_seconds: float = 600,
        evidence_max_samples: int = EVIDENCE_MAX_SAMPLES,
        store: ContentStore | None = None,
        kind: Kind = Kind.REAL,
        scope: str = "",
    ) -> None:
        """``store`` registers the telemetry kept when an incident opens as evidence: each
        asset's last ``evidence_seconds``, at most its newest ``evidence_max_samples``.

        An exercise's pipeline opens incidents of ``kind`` exercise, on signal keys prefixed
        with ``scope`` so they never join a real incident, and keeps no recovery readings.
        """
        self._kind = kind
        self._scope = scope
        self._factory = factory
        self._clock = clock
        self._store = store
        self._evidence_seconds = evidence_seconds
        self._lock = threading.Lock()
        self._detector = Detector([])
        self._rules_version: tuple[tuple[str, int], ...] = ()
        self._assets: dict[str, tuple[str, str]] = {}
        self._refreshed_at = -1e18
        self._recent: dict[str, _Held] = defaultdict(lambda: _Held(evidence_max_samples))
        self._evidence_max_samples = evidence_max_samples
        self._flaps = FlapGuard()
        # Series a recovery step under way is waiting on: their readings judge its gates.
        self._watched: frozenset[tuple[str, str]] = frozenset()
        # Signal changes the database refused (an outage), applied first with the next batch.
        self._unapplied: list[SignalEvent] = []

    def ingest(
        self,
        samples: Sequence[Sample],
        rejected: Sequence[Rejection] = (),
        positions: Sequence[int] | None = None,
    ) -> IngestReport:
        """Evaluate a parsed batch; ``rejected`` are the parser's refusals, reported alongside.

        ``positions`` gives each sample's place in the original batch, for naming refusals.
        """
        report = IngestReport(rejected=list(rejected))
        owner_of = {name: base_asset(name) for name in {s.asset for s in samples}}
        self._refresh_if_due(force=not self._assets.keys() >= set(owner_of.values()))
        changes: list[Change] = []
        horizon, limit = self._evidence_seconds, self._evidence_max_samples
        with self._lock:
            assets, observe, recents = self._assets, self._detector.observe, self._recent
            for index, sample in enumerate(samples):
                owner = owner_of[sample.asset]
                known = assets.get(owner)
                if known is None or sample.site != known[1]:
                    where = positions[index] if positions is not None else index
                    report.rejected.append(Rejection(where, *self._problem(sample, owner, known)))
                    continue
                found = observe(sample, known[0])
                if found:
                    changes.extend(found)
                held = recents[owner]
                recent = held.samples
                if recent and sample.timestamp - recent[0].timestamp > horizon:
                    _forget_before(recent, sample.timestamp - horizon)
                    held.dropped = 0
                if len(recent) == limit:
                    held.dropped += 1  # The deque's maxlen pushes the oldest out on append.
                recent.append(sample)
                report.accepted += 1
            watched = self._watched
        if watched and self._kind is Kind.REAL:
            self._feed_recovery([s for s in samples if (s.asset, s.metric) in watched])
        self._apply(changes, report)
        report.rejected.sort(key=lambda r: r.index)
        return report

    def _feed_recovery(self, samples: Sequence[Sample]) -> None:
        """Keep the latest reading of each watched series for recovery's verification gates."""
        if not samples:
            return
        try:
            with session_scope(self._factory) as session:
                recovery_supply.record_readings(session, clock=self._clock, samples=samples)
                recovery_verification.judge_verifying(
                    session, clock=self._clock, assets={s.asset for s in samples}
                )
        except CoherenceError:
            # Accepted telemetry must never be refused because a recovery reading was not kept.
            log.warning("recovery readings not kept", exc_info=True)

    def ingest_alerts(self, alerts: Sequence[ExternalAlert]) -> IngestReport:
        """Turn alerts from other systems into signals on the same de-duplication keys."""
        report = IngestReport()
        self._refresh_if_due(force=True)
        for index, alert in enumerate(alerts):
            if base_asset(alert.asset) not in self._assets:
                report.rejected.append(
                    Rejection(index, "asset", f"alert {alert.dedup_key}: no asset {alert.asset!r}")
                )
                continue
            impact, urgency = SEVERITY_LEVELS.get(alert.severity, SEVERITY_LEVELS["sev3"])
            labels = dict(alert.labels)
            event = SignalEvent(
                key=self._scope + alert.dedup_key,
                asset=base_asset(alert.asset),
                source=alert.source,
                raised=alert.status is AlertStatus.FIRING,
                at=datetime.fromtimestamp(alert.starts_at, UTC),
                impact=impact,
                urgency=urgency,
                detail=alert.summary or alert.dedup_key,
                playbook=labels.get("playbook"),
                category=labels.get("category")
                or default_category(self._assets[base_asset(alert.asset)][0]),
                kind=self._kind,
            )
            report.accepted += 1
            self._record(self._run(event), report)
        return report

    def prime(self, samples: Sequence[Sample]) -> None:
        """Replay earlier samples into the detector's state, raising and clearing nothing."""
        self._refresh_if_due(force=True)
        with self._lock:
            for sample in samples:
                known = self._assets.get(base_asset(sample.asset))
                if known is not None:
                    self._detector.observe(sample, known[0])

    def sweep(self) -> IngestReport:
        """Raise silence rules for series that stopped reporting."""
        report = IngestReport()
        with self._lock:
            changes = self._detector.sweep(self._clock.now().timestamp())
        self._apply(changes, report)
        return report

    @property
    def tracked_series(self) -> int:
        """How many (series, rule) pairs the detector holds state for."""
        return self._detector.tracked_series

    @staticmethod
    def _problem(sample: Sample, owner: str, known: tuple[str, str] | None) -> tuple[str, str]:
        # Metric and unit were checked by the parser that made the sample (formats, replay).
        if known is None:
            return "asset", f"no asset {owner!r} in the catalog"
        return "site", f"{sample.asset} is at {known[1]}, not {sample.site}"

    def _apply(self, changes: Sequence[Change], report: IngestReport) -> None:
        events = [self._event(change) for change in changes]
        with self._lock:
            events, self._unapplied = self._unapplied + events, []
        for index, event in enumerate(events):
            try:
                outcome = self._run(event)
            except OperationalError:
                # The detector's state already holds these raises and clears, so the samples
                # that caused them will not cause them again: keep them for the next batch.
                with self._lock:
                    self._unapplied = events[index:] + self._unapplied
                raise
            self._record(outcome, report)

    def _event(self, change: Change) -> SignalEvent:
        flapping = self._flaps.flapping(change.key, change.at)
        return SignalEvent(
            key=self._scope + change.key,
            asset=base_asset(change.asset),
            source=f"rule:{change.rule.playbook}/{change.rule.trigger}",
            raised=change.raised,
            at=datetime.fromtimestamp(change.began, UTC),
            impact=change.rule.impact,
            urgency=change.rule.urgency,
            detail=f"{change.asset}: {change.detail}",
            playbook=change.rule.playbook,
            flapping=flapping,
            kind=self._kind,
        )

    def _run(self, event: SignalEvent) -> Outcome:
        evidence = self._evidence(event.asset) if event.raised else None
        with session_scope(self._factory) as session:
            outcome = apply_event(
                session,
                clock=self._clock,
                event=event,
                evidence=evidence.content if evidence else None,
                evidence_samples=evidence.samples if evidence else 0,
                evidence_dropped=evidence.dropped if evidence else 0,
                evidence_store=self._store,
            )
            if event.raised and self._kind is Kind.REAL:
                self._pause_recovery(session, event)
            return outcome

    def _pause_recovery(self, session: Session, event: SignalEvent) -> None:
        """Pause any restoration branch the new signal's asset is in, as the signal arrives."""
        try:
            # A savepoint: a recovery problem must never lose the signal itself.
            with session.begin_nested():
                recovery_pausing.pause_for_signal(
                    session, clock=self._clock, asset=event.asset, signal=event.key
                )
        except CoherenceError:
            log.warning("recovery not paused for %s", event.key, exc_info=True)

    def _evidence(self, asset: str) -> Evidence | None:
        with self._lock:
            held = self._recent.get(asset)
            recent = list(held.samples) if held is not None else []
            dropped = held.dropped if held is not None else 0
        if not recent:
            return None
        lines = [
            canonical_json(
                {
                    "site": s.site,
                    "asset": s.asset,
                    "metric": s.metric,
                    "value": s.value,
                    "unit": s.unit,
                    "timestamp": s.timestamp,
                    "quality": s.quality.value,
                }
            )
            for s in recent
        ]
        return Evidence(b"\n".join(lines) + b"\n", len(lines), dropped)

    @staticmethod
    def _record(outcome: Outcome, report: IngestReport) -> None:
        if outcome.incident_id is None:
            return
        target = report.opened if outcome.opened else report.updated
        if outcome.incident_id not in report.opened and outcome.incident_id not in target:
            target.append(outcome.incident_id)

    def _refresh_if_due(self, *, force: bool = False) -> None:
        now = self._clock.now().timestamp()
        interval = FORCED_REFRESH_SECONDS if force else REFRESH_SECONDS
        if now - self._refreshed_at < interval:
            return
        with session_scope(self._factory) as session:
            assets = {a.key: (a.kind, a.site.key) for a in catalog_service.list_assets(session)}
            watched = recovery_supply.watched_series(session)
            latest = playbooks_service.list_latest(session)
            version = tuple((row.key, row.version) for row in latest)
            documents = (
                [playbooks_service.document_of(row) for row in latest]
                if version != self._rules_version
                else None
            )
        with self._lock:
            self._assets = assets
            self._watched = watched
            self._refreshed_at = now
            if documents is not None:
                self._detector = self._detector.with_rules(compile_rules(documents))
                self._rules_version = version


def _forget_before(recent: deque[Sample], cutoff: float) -> None:
    """Drop remembered samples older than ``cutoff`` from the front of an asset's evidence."""
    while recent and recent[0].timestamp < cutoff:
        recent.popleft()
