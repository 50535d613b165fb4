"""Signals into incidents: one incident per key, updates, clearing, reopening, evidence."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection import service
from coherence.detection.service import SignalEvent
from coherence.incidents import service as incidents_service
from coherence.incidents import views
from coherence.incidents.domain import Status
from coherence.ledger.domain import EntryType
from tests.helpers import counts

pytestmark = pytest.mark.usefixtures("facility")


def event(clock: ManualClock, **overrides: object) -> SignalEvent:
    fields: dict[str, object] = {
        "key": "fridge-1:dilution-refrigerator-warm-up",
        "asset": "fridge-1",
        "source": "rule:dilution-refrigerator-warm-up/mxc-minor",
        "raised": True,
        "at": clock.now(),
        "impact": "minor",
        "urgency": "medium",
        "detail": "fridge-1: mxc_temperature_k = 0.03 > 0.025",
        "playbook": "dilution-refrigerator-warm-up",
    }
    fields.update(overrides)
    return SignalEvent(**fields)  # type: ignore[arg-type]


def apply(
    factory: sessionmaker[Session],
    clock: ManualClock,
    signal: SignalEvent,
    evidence: bytes | None = None,
) -> service.Outcome:
    with session_scope(factory) as session:
        return service.apply_event(
            session,
            clock=clock,
            event=signal,
            evidence=evidence,
            evidence_samples=2 if evidence else 0,
        )


def test_a_signal_opens_one_incident_and_later_ones_update_it(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    first = apply(factory, clock, event(clock))
    assert first.opened
    clock.advance(timedelta(minutes=1))
    second = apply(
        factory,
        clock,
        event(
            clock,
            impact="major",
            urgency="high",
            source="rule:dilution-refrigerator-warm-up/mxc-major",
        ),
    )
    assert not second.opened
    assert second.incident_id == first.incident_id
    with session_scope(factory) as session:
        incident = incidents_service.get_or_raise(session, first.incident_id or 0)
        types = [e.type for e in views.timeline(session, incident.id)]
        assert incident.severity == "sev2"
        assert incident.opened_by == "detector"
    assert types.count(EntryType.SIGNAL_RAISED) == 2
    assert EntryType.INCIDENT_RECLASSIFIED in types


def test_a_milder_signal_never_lowers_severity(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    first = apply(factory, clock, event(clock, impact="severe", urgency="immediate"))
    apply(factory, clock, event(clock, impact="minor", urgency="low"))
    with session_scope(factory) as session:
        assert incidents_service.get_or_raise(session, first.incident_id or 0).severity == "sev1"


def test_clearing_is_recorded_and_the_incident_stays_open(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    opened = apply(factory, clock, event(clock))
    cleared = apply(factory, clock, event(clock, raised=False, detail="back to normal"))
    assert cleared.incident_id == opened.incident_id
    with session_scope(factory) as session:
        incident = incidents_service.get_or_raise(session, opened.incident_id or 0)
        types = [e.type for e in views.timeline(session, incident.id)]
        assert incident.status == Status.DETECTED.value
    assert EntryType.SIGNAL_CLEARED in types


def test_a_key_whose_incident_was_resolved_opens_a_new_one(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    first = apply(factory, clock, event(clock))
    with session_scope(factory) as session:
        incidents_service.acknowledge(
            session, clock=clock, ref=first.incident_id or 0, actor="priya-raman", via="api"
        )
        incidents_service.transition(
            session,
            clock=clock,
            ref=first.incident_id or 0,
            target=Status.RESOLVED,
            actor="priya-raman",
        )
    again = apply(factory, clock, event(clock))
    assert again.opened
    assert again.incident_id != first.incident_id


def test_flapping_is_recorded_once_and_then_held_back(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    opened = apply(factory, clock, event(clock))
    for _ in range(5):
        apply(factory, clock, event(clock, flapping=True))
        apply(factory, clock, event(clock, raised=False, flapping=True))
    with session_scope(factory) as session:
        types = [e.type for e in views.timeline(session, opened.incident_id or 0)]
    assert types.count(EntryType.SIGNAL_FLAPPING) == 1
    assert types.count(EntryType.SIGNAL_RAISED) == 1
    assert EntryType.SIGNAL_CLEARED not in types


def test_evidence_is_kept_with_its_hash_in_the_ledger(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    content = b'{"metric":"mxc_temperature_k","value":0.03}\n{"metric":"x","value":1}\n'
    opened = apply(factory, clock, event(clock), evidence=content)
    with session_scope(factory) as session:
        snapshots = service.snapshots_for(session, opened.incident_id or 0)
        entries = [
            e
            for e in views.timeline(session, opened.incident_id or 0)
            if e.type == EntryType.EVIDENCE_CAPTURED
        ]
    assert snapshots[0].content == content
    assert entries[0].payload["sha256"] == hashlib.sha256(content).hexdigest()


def test_an_outside_alert_without_a_playbook_uses_its_category(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    opened = apply(
        factory,
        clock,
        event(
            clock,
            key="alertmanager:abc",
            playbook=None,
            category="cryogenic",
            source="alertmanager",
            impact="major",
            urgency="high",
        ),
    )
    with session_scope(factory) as session:
        incident = incidents_service.get_or_raise(session, opened.incident_id or 0)
        assert incident.category == "cryogenic"
        assert incident.playbook_key is None


def test_a_refused_signal_writes_nothing(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    before = counts(factory)
    with pytest.raises(Exception, match="asset"):
        apply(factory, clock, event(clock, asset="no-such-asset", key="no-such-asset:x"))
    assert counts(factory) == before


def test_a_signal_joins_an_incident_opened_by_hand(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    from coherence.incidents.schemas import IncidentCreate

    with session_scope(factory) as session:
        by_hand = incidents_service.open_incident(
            session,
            clock=clock,
            actor="priya-raman",
            request=IncidentCreate(asset="fridge-1", playbook="dilution-refrigerator-warm-up"),
        ).id
    outcome = apply(factory, clock, event(clock))
    assert not outcome.opened
    assert outcome.incident_id == by_hand
