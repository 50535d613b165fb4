"""Telemetry snapshots kept when an incident opens are evidence items in the register."""

from __future__ import annotations

import errno
import hashlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access.domain import DataCategory, Tlp
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection import service as detection_service
from coherence.detection.models import TelemetrySnapshot
from coherence.detection.pipeline import Pipeline
from coherence.detection.service import DETECTOR_ACTOR, SignalEvent, apply_event
from coherence.detection.simulation import SimulationRunner
from coherence.evidence import service as evidence_service
from coherence.evidence.models import EvidenceItem
from coherence.evidence.store import LocalStore
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry

pytestmark = pytest.mark.usefixtures("facility")


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "evidence")


def simulate_fault(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> EvidenceItem:
    """Stream the sample facility with a cooling outage on fridge-1 until an incident opens."""
    pipeline = Pipeline(factory, clock=clock, store=store)
    runner = SimulationRunner(
        factory, pipeline, clock=clock, faults=(("cooling-outage", "fridge-1"),), fault_after=60
    )
    for _ in range(400):
        runner.tick()
        clock.advance(timedelta(seconds=5))
        with session_scope(factory) as session:
            items = evidence_service.list_items(session)
            if items:
                session.expunge_all()
                return items[0]
    raise AssertionError("the simulated fault opened no incident")


def test_a_snapshot_from_a_simulated_fault_is_evidence_that_verifies(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item = simulate_fault(factory, clock, store)
    assert item.collected_by == DETECTOR_ACTOR
    assert item.custodian == DETECTOR_ACTOR
    assert item.asset == "fridge-1"
    assert item.incident_id is not None
    assert item.tlp == Tlp.AMBER.value
    assert item.category == DataCategory.OPERATIONAL.value
    with session_scope(factory) as session:
        snapshot = detection_service.snapshots_for(session, item.incident_id)[0]
        captured = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == EntryType.EVIDENCE_CAPTURED.value)
        ).one()
        collected = evidence_service.custody_trail(session, item.id)
        assert evidence_service.verify(session, store) == []
        content = snapshot.content
    assert item.sha256 == snapshot.sha256 == hashlib.sha256(content).hexdigest()
    with store.open(item.sha256) as stored:
        assert stored.read() == content
    # One canonical JSON object a line, sorted keys: the same bytes every time.
    for line in content.splitlines():
        assert line == orjson.dumps(orjson.loads(line), option=orjson.OPT_SORT_KEYS)
    assert ledger_service.payload_of(captured)["item"] == item.id
    assert [e.entry_type for e in collected] == [EntryType.EVIDENCE_COLLECTED.value]
    assert collected[0].incident_id == item.incident_id
    assert collected[0].seq < captured.seq


def test_evidence_verify_catches_an_altered_snapshot(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item = simulate_fault(factory, clock, store)
    path = store.root / item.sha256[:2] / item.sha256[2:4] / item.sha256
    path.chmod(0o600)
    path.write_bytes(b'{"metric":"mxc_temperature_k","value":0.01}\n')
    with session_scope(factory) as session:
        problems = evidence_service.verify(session, store)
    assert [(p.item_id, "altered" in p.problem) for p in problems] == [(item.id, True)]


def event(clock: ManualClock, asset: str = "fridge-1") -> SignalEvent:
    return SignalEvent(
        key=f"rule:{asset}:test",
        asset=asset,
        source="rule:test",
        raised=True,
        at=clock.now(),
        impact="minor",
        urgency="medium",
        detail=f"{asset}: something",
        playbook="dilution-refrigerator-warm-up",
    )


def lines(*samples: dict[str, object]) -> bytes:
    return b"".join(orjson.dumps(s, option=orjson.OPT_SORT_KEYS) + b"\n" for s in samples)


@pytest.mark.parametrize(
    ("content", "category"),
    [
        (lines({"metric": "t1_us", "value": 80}, {"metric": "t2_us"}), DataCategory.CALIBRATION),
        (lines({"metric": "readout_error_ratio_to_median"}), DataCategory.CALIBRATION),
        (lines({"metric": "t1_us"}, {"metric": "mxc_temperature_k"}), DataCategory.OPERATIONAL),
        (lines({"metric": "mxc_temperature_k"}), DataCategory.OPERATIONAL),
        (b"not json\n", DataCategory.OPERATIONAL),
        (b"", DataCategory.OPERATIONAL),
    ],
)
def test_qubit_metrics_are_calibration_data(content: bytes, category: DataCategory) -> None:
    assert detection_service.snapshot_category(content) is category


def test_every_calibration_metric_is_in_the_dictionary() -> None:
    from coherence.detection.metrics import dictionary

    assert not detection_service.CALIBRATION_METRICS - set(dictionary())


def test_a_qubit_snapshot_is_registered_as_calibration(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    content = lines({"asset": "fridge-1", "metric": "t1_us", "value": 12.0})
    with session_scope(factory) as session:
        outcome = apply_event(
            session,
            clock=clock,
            event=event(clock),
            evidence=content,
            evidence_samples=1,
            evidence_store=store,
        )
    with session_scope(factory) as session:
        (item,) = evidence_service.list_items(session, incident_id=outcome.incident_id)
        assert item.category == DataCategory.CALIBRATION.value


class FullDisk:
    """A store whose disk is full."""

    def put(self, stream: BinaryIO, *, max_bytes: int) -> tuple[str, int]:
        raise OSError(errno.ENOSPC, "No space left on device")

    def open(self, digest: str) -> BinaryIO:
        raise AssertionError("nothing was stored")

    def exists(self, digest: str) -> bool:
        return False

    def delete(self, digest: str) -> None:
        raise AssertionError("nothing was stored")


def test_a_full_disk_loses_the_evidence_item_not_the_incident(
    factory: sessionmaker[Session], clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    content = lines({"asset": "fridge-1", "metric": "mxc_temperature_k", "value": 0.03})
    with caplog.at_level(logging.WARNING), session_scope(factory) as session:
        outcome = apply_event(
            session,
            clock=clock,
            event=event(clock),
            evidence=content,
            evidence_samples=1,
            evidence_store=FullDisk(),
        )
    assert outcome.opened
    assert "No space left on device" in caplog.text
    with session_scope(factory) as session:
        assert evidence_service.list_items(session) == []
        snapshot = session.scalars(select(TelemetrySnapshot)).one()
        assert snapshot.content == content
        captured = ledger_service.list_entries(
            session, incident_id=outcome.incident_id, entry_types=[EntryType.EVIDENCE_CAPTURED]
        )
        payload = ledger_service.payload_of(captured[0])
    assert payload["item"] is None
    assert payload["not_registered"] == "No space left on device"
    assert payload["sha256"] == hashlib.sha256(content).hexdigest()
