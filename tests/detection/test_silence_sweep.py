"""A sensor that goes silent raises its absence rule in every process that holds telemetry:
`serve --no-workers` fed over HTTP, and `worker detect` fed from NATS, outage or not."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
import uuid
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import nats
import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.detection.models import SignalKey
from coherence.detection.nats_intake import NatsStats, Topology, ensure_stream, run_nats_detector
from coherence.detection.pipeline import Pipeline
from coherence.incidents.models import Incident
from tests.conftest import START

T0 = START.timestamp()
SILENT_KEY = "fridge-1:dilution-refrigerator-warm-up"
# Sweeps run once a second of real time; this bounds how long a test waits for one.
WAIT_SECONDS = 20.0


def readings(count: int = 10) -> list[dict[str, Any]]:
    """Normal mixing-chamber readings of fridge-1, 5 s apart from the test's start."""
    return [
        {
            "site": "sc-lab",
            "asset": "fridge-1",
            "metric": "mxc_temperature_k",
            "value": 0.010,
            "unit": "K",
            "timestamp": T0 + 5 * n,
        }
        for n in range(count)
    ]


def incidents(factory: sessionmaker[Session]) -> list[tuple[str, str]]:
    with session_scope(factory) as session:
        return [(i.asset.key, i.playbook_key or "") for i in session.scalars(select(Incident))]


def silence_signal(factory: sessionmaker[Session]) -> str | None:
    with session_scope(factory) as session:
        row = session.scalars(select(SignalKey).where(SignalKey.dedup_key == SILENT_KEY)).first()
        return row.last_detail if row is not None else None


def wait_until(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        assert time.monotonic() < deadline, "no sweep raised the silent sensor in time"
        time.sleep(0.05)


async def wait_async(condition: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not await asyncio.to_thread(condition):
        assert time.monotonic() < deadline, "the detector did not get there in time"
        await asyncio.sleep(0.05)


def test_serve_without_workers_raises_a_silent_sensor(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    # The `client` app is built with run_workers=False, as `serve --no-workers` is.
    sent = client.post("/api/v1/telemetry", json=readings())
    assert sent.json()["accepted"] == 10, sent.text
    clock.advance(timedelta(minutes=6))
    wait_until(lambda: bool(incidents(factory)))
    assert incidents(factory) == [("fridge-1", "dilution-refrigerator-warm-up")]
    assert "no mxc_temperature_k" in (silence_signal(factory) or "")


async def _silent_site(
    url: str,
    factory: sessionmaker[Session],
    clock: ManualClock,
    detector_factory: sessionmaker[Session] | None = None,
    outage: Callable[[], None] | None = None,
) -> None:
    """Feed fridge-1 through an in-process `worker detect`, then fall silent until it raises.

    The detector uses ``detector_factory`` when given; ``outage`` runs once the readings are
    taken and before the clock moves on.
    """
    topology = Topology(
        stream=f"TEST_{uuid.uuid4().hex[:8]}", prefix=f"test{uuid.uuid4().hex[:8]}.telemetry"
    )
    connection = await nats.connect(url)
    js = connection.jetstream()
    await ensure_stream(js, topology)
    await js.publish(topology.subject("sc-lab"), orjson.dumps(readings()))
    stats, stop = NatsStats(), asyncio.Event()
    detector = asyncio.create_task(
        run_nats_detector(
            url,
            ["sc-lab"],
            Pipeline(detector_factory or factory, clock=clock),
            stats,
            topology=topology,
            stop=stop,
        )
    )
    try:
        await wait_async(lambda: stats.samples == 10)
        if outage is not None:
            outage()
        clock.advance(timedelta(minutes=6))
        await wait_async(lambda: bool(incidents(factory)) or detector.done())
    finally:
        stop.set()
        # A detector that died raises here: it must run until told to stop.
        await asyncio.wait_for(detector, timeout=WAIT_SECONDS)
        await js.delete_stream(topology.stream)
        await connection.close()


@pytest.mark.usefixtures("facility")
def test_worker_detect_raises_a_silent_sensor(
    nats_url: str,
    factory: sessionmaker[Session],
    clock: ManualClock,
) -> None:
    asyncio.run(_silent_site(nats_url, factory, clock))
    assert incidents(factory) == [("fridge-1", "dilution-refrigerator-warm-up")]
    assert "no mxc_temperature_k" in (silence_signal(factory) or "")


@pytest.mark.usefixtures("facility")
@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_worker_detect_sweeps_through_a_database_outage(
    nats_url: str,
    engine: Engine,
    factory: sessionmaker[Session],
    clock: ManualClock,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The detector's own engine on the same file goes out of reach; the test's stays.
    detector_engine = make_engine(engine.url.render_as_string(hide_password=False))
    refused = 0
    reachable = True

    def connect(_connection: Any, _record: Any) -> None:
        nonlocal refused
        if not reachable:
            refused += 1
            raise sqlite3.OperationalError("unable to open database file")

    def outage() -> None:
        nonlocal reachable
        event.listen(detector_engine, "connect", connect)
        detector_engine.dispose()
        reachable = False

    async def scenario() -> None:
        async def restore_after_three_sweeps() -> None:
            nonlocal reachable
            await wait_async(lambda: refused >= 3)
            reachable = True

        restorer = asyncio.create_task(restore_after_three_sweeps())
        await _silent_site(nats_url, factory, clock, make_session_factory(detector_engine), outage)
        await restorer

    caplog.set_level(logging.WARNING, logger="coherence.detection.sweeper")
    try:
        asyncio.run(scenario())
    finally:
        detector_engine.dispose()
    assert incidents(factory) == [("fridge-1", "dilution-refrigerator-warm-up")]
    lines = [r for r in caplog.records if r.name == "coherence.detection.sweeper"]
    # Several refused sweeps, one line, no traceback.
    assert len(lines) == 1, [r.getMessage() for r in lines]
    assert "waiting for the database" in lines[0].getMessage()
    assert lines[0].exc_info is None
