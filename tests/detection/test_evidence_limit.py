"""The detector holds at most COHERENCE_EVIDENCE_MAX_SAMPLES per asset for evidence: the
newest ones, and a snapshot cut short by the limit says how many it is missing."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection import service as detection_service
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Sample
from coherence.evidence import service as evidence_service
from coherence.evidence.store import LocalStore
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.settings import EVIDENCE_MAX_SAMPLES, Settings
from tests.conftest import START

pytestmark = pytest.mark.usefixtures("facility")
T0 = START.timestamp()
LIMIT = 5


def mxc(at: float, value: float) -> Sample:
    return Sample("sc-lab", "fridge-1", "mxc_temperature_k", value, "K", at)


def feed_until_open(pipeline: Pipeline, samples: list[Sample]) -> int:
    """Ingest one sample at a time, never holding more than LIMIT; return how many went in."""
    for count, sample in enumerate(samples, start=1):
        report = pipeline.ingest([sample])
        # White-box: the bound is the point of the limit, so look at the buffer itself.
        assert len(pipeline._recent["fridge-1"].samples) <= LIMIT
        if report.opened:
            return count
    raise AssertionError("no incident opened")


def captured(factory: sessionmaker[Session]) -> tuple[bytes, dict[str, object], str]:
    """The snapshot's content, its evidence:captured payload and its evidence description."""
    with session_scope(factory) as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == EntryType.EVIDENCE_CAPTURED.value)
        ).one()
        assert entry.incident_id is not None
        snapshot = detection_service.snapshots_for(session, entry.incident_id)[0]
        items = evidence_service.list_items(session)
        return snapshot.content, ledger_service.payload_of(entry), items[0].description


def warming(after: float) -> list[Sample]:
    """Mixing chamber above 50 mK, 10 s apart: past the 120 s hold on the 13th."""
    return [mxc(after + 10 * n, 0.08) for n in range(20)]


def test_a_fast_asset_keeps_its_newest_samples_and_its_snapshot_says_it_was_cut(
    factory: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    pipeline = Pipeline(
        factory, clock=clock, store=LocalStore(tmp_path), evidence_max_samples=LIMIT
    )
    fed = [mxc(T0 + n, 0.010) for n in range(30)] + warming(T0 + 30)
    count = feed_until_open(pipeline, fed)
    content, payload, description = captured(factory)
    kept = [float(line.split(b'"timestamp":')[1].split(b",")[0]) for line in content.splitlines()]
    assert kept == [s.timestamp for s in fed[count - LIMIT : count]]
    assert payload["samples"] == LIMIT
    assert payload["truncated"] is True
    assert payload["dropped"] == count - LIMIT
    assert f"The {count - LIMIT} samples received just before them were not kept" in description


def test_samples_that_aged_out_of_the_window_are_not_counted_as_cut(
    factory: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    pipeline = Pipeline(
        factory, clock=clock, store=LocalStore(tmp_path), evidence_max_samples=LIMIT
    )
    # A burst the limit cuts, then, more than 10 minutes later, a fault: five readings 30 s
    # apart pass the 120 s hold and fill the limit exactly.
    pipeline.ingest([mxc(T0 + n, 0.010) for n in range(30)])
    fault = [mxc(T0 + 1000 + 30 * n, 0.08) for n in range(LIMIT)]
    assert feed_until_open(pipeline, fault) == LIMIT
    content, payload, description = captured(factory)
    assert len(content.splitlines()) == LIMIT
    assert "truncated" not in payload
    assert "dropped" not in payload
    assert "not kept" not in description


def test_the_limit_is_a_setting_with_a_bounded_default() -> None:
    assert Settings().evidence_max_samples == EVIDENCE_MAX_SAMPLES
    with pytest.raises(ValueError, match="evidence_max_samples"):
        Settings(evidence_max_samples=0)
