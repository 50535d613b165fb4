"""A raise the database refused is retried with the next batch, never lost with the outage."""

from __future__ import annotations

import sqlite3
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection.models import SignalKey
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Sample
from coherence.incidents.models import Incident

pytestmark = pytest.mark.usefixtures("facility")


def warm(clock: ManualClock, start: int, count: int) -> list[Sample]:
    """Mixing-chamber readings above 50 mK, 30 s apart, numbered from ``start``."""
    at = clock.now().timestamp()
    return [
        Sample("sc-lab", "fridge-1", "mxc_temperature_k", 0.08, "K", at + 30 * n)
        for n in range(start, start + count)
    ]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_raise_lost_to_a_database_outage_is_applied_by_the_next_batch(
    engine: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    pipeline = Pipeline(factory, clock=clock)
    pipeline.ingest(warm(clock, 0, 1))
    reachable = True

    def connect(_connection: Any, _record: Any) -> None:
        if not reachable:
            raise sqlite3.OperationalError("unable to open database file")

    event.listen(engine, "connect", connect)
    engine.dispose()
    reachable = False
    with pytest.raises(OperationalError):
        pipeline.ingest(warm(clock, 1, 10))
    reachable = True
    # The sender resends the refused batch: its samples are not new, but the raise is applied.
    report = pipeline.ingest(warm(clock, 1, 10))
    assert len(report.opened) == 1
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == 1
        assert session.scalar(select(SignalKey.firing)) is True
