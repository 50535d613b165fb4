"""An exercise's detector opens exercise incidents and never mixes them with real ones."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Sample
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Kind
from coherence.incidents.schemas import IncidentCreate
from coherence.recovery import supply_service

pytestmark = pytest.mark.usefixtures("facility")


def hot(clock: ManualClock, value: float = 31.0, count: int = 6) -> list[Sample]:
    now = clock.now().timestamp()
    return [
        Sample("sc-lab", "compressor-1", "cooling_water_in_temperature_c", value, "degC", t)
        for t in (now - 30 * (count - 1 - i) for i in range(count))
    ]


def test_an_exercise_pipeline_opens_its_own_incident_beside_a_real_one(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with session_scope(factory) as session:
        real = incidents_service.open_incident(
            session,
            clock=clock,
            actor="priya-raman",
            request=IncidentCreate(asset="compressor-1", playbook="pulse-tube-compressor-fault"),
        ).id
    drill = Pipeline(factory, clock=clock, kind=Kind.EXERCISE, scope="exercise-7/")
    report = drill.ingest(hot(clock))
    assert len(report.opened) == 1
    assert report.opened[0] != real
    with session_scope(factory) as session:
        opened = incidents_service.get_or_raise(session, report.opened[0])
        assert opened.kind == Kind.EXERCISE.value
        assert incidents_service.get_or_raise(session, real).kind == Kind.REAL.value
    clock.advance(timedelta(minutes=5))
    live = Pipeline(factory, clock=clock).ingest(hot(clock))
    assert report.opened[0] not in live.opened + live.updated
    # The real signal joins the incident opened by hand, past the newer drill on the same asset.
    assert live.opened == []
    assert live.updated == [real]
    with session_scope(factory) as session:
        for incident_id in live.opened + live.updated:
            assert incidents_service.get_or_raise(session, incident_id).kind == Kind.REAL.value


def test_priming_rebuilds_the_detector_so_a_later_inject_clears(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    first = Pipeline(factory, clock=clock, kind=Kind.EXERCISE, scope="exercise-8/")
    earlier = hot(clock)
    assert first.ingest(earlier).opened
    clock.advance(timedelta(minutes=10))
    again = Pipeline(factory, clock=clock, kind=Kind.EXERCISE, scope="exercise-8/")
    again.prime(earlier)
    cleared = again.ingest(hot(clock, value=21.0, count=12))
    assert cleared.opened == []
    assert len(cleared.updated) == 1
    with session_scope(factory) as session:
        assert supply_service.readings_for(session, "compressor-1", since=clock.now()) == {}
