"""One MQTT intake at a time: the PostgreSQL advisory lock, takeover, and two apps on one broker."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import time
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text

from coherence.app import create_app
from coherence.clock import ManualClock
from coherence.db import make_engine, make_session_factory
from coherence.detection.leadership import (
    MQTT_INTAKE_LOCK,
    AdvisoryLock,
    Unshared,
    lead,
    leadership_for,
)
from coherence.detection.mqtt import MqttStats, parse_broker_url, run_mqtt_intake
from coherence.detection.pipeline import Pipeline
from coherence.settings import Settings
from tests.conftest import POSTGRES_URL, START
from tests.detection import mosquitto
from tests.detection.mosquitto import Mosquitto

JOB = 4242
TOPIC = "coherence/sc-lab/fridge-1/mxc_temperature_k"


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Mosquitto]:
    yield from mosquitto.start(tmp_path_factory.mktemp("mosquitto"))


@pytest.fixture
def pg(postgres_schema: str) -> Iterator[Engine]:
    """An engine on the test schema of PostgreSQL."""
    engine = make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={postgres_schema}"})
    yield engine
    engine.dispose()


def _kill_holder(engine: Engine, job: int) -> None:
    """Terminate the server session that holds ``job``'s lock for this schema."""
    with engine.begin() as connection:
        schema = connection.execute(text("select current_schema()")).scalar_one()
        key = zlib.crc32(schema.encode()) & 0x7FFFFFFF
        killed = connection.execute(
            text(
                "select pg_terminate_backend(pid) from pg_locks where locktype = 'advisory' "
                "and granted and classid = cast(:job as oid) and objid = cast(:key as oid)"
            ),
            {"job": job, "key": key},
        ).all()
    assert killed == [(True,)]


async def _eventually(predicate: Callable[[], object], seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        await asyncio.sleep(0.05)


def test_on_sqlite_the_job_needs_no_lock(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'one.db'}")
    lock = leadership_for(engine, name="mqtt-intake", job=MQTT_INTAKE_LOCK)
    assert isinstance(lock, Unshared)
    assert asyncio.run(lock.acquire())
    assert lock.fence is None
    engine.dispose()


def test_one_holder_at_a_time_and_a_killed_holder_is_replaced(pg: Engine) -> None:
    async def scenario() -> None:
        first = AdvisoryLock(pg, name="job", job=JOB, timeout_seconds=2)
        second = AdvisoryLock(pg, name="job", job=JOB, timeout_seconds=2)
        try:
            assert await first.acquire()
            assert not await second.acquire()
            assert await first.confirm()
            assert not await second.confirm()
            assert first.fence == second.fence
            await asyncio.to_thread(_kill_holder, pg, JOB)
            assert not await first.confirm()
            assert await second.acquire()
            assert not await first.acquire()
        finally:
            await first.release()
            await second.release()
        other_job = AdvisoryLock(pg, name="other", job=JOB + 1, timeout_seconds=2)
        assert await other_job.acquire()
        await other_job.release()

    asyncio.run(scenario())


def test_the_job_moves_to_the_survivor_when_the_holder_loses_its_connection(pg: Engine) -> None:
    running: dict[str, bool] = {"a": False, "b": False}
    holding: dict[str, bool] = {"a": False, "b": False}

    def job(name: str) -> Callable[[], Awaitable[None]]:
        async def run() -> None:
            running[name] = True
            try:
                await asyncio.Event().wait()
            finally:
                running[name] = False

        return run

    def holds(name: str) -> Callable[[bool], None]:
        return lambda held: holding.__setitem__(name, held)

    async def scenario() -> None:
        first = AdvisoryLock(pg, name="job", job=JOB, timeout_seconds=2)
        second = AdvisoryLock(pg, name="job", job=JOB, timeout_seconds=2)
        a = asyncio.create_task(
            lead(first, job("a"), on_change=holds("a"), retry_seconds=60, confirm_seconds=0.1)
        )
        await _eventually(lambda: running["a"])
        b = asyncio.create_task(
            lead(second, job("b"), on_change=holds("b"), retry_seconds=0.2, confirm_seconds=0.1)
        )
        await asyncio.sleep(0.5)
        assert (running, holding) == ({"a": True, "b": False}, {"a": True, "b": False})
        await asyncio.to_thread(_kill_holder, pg, JOB)
        await _eventually(lambda: running["b"] and not running["a"])
        assert holding == {"a": False, "b": True}
        for task in (a, b):
            task.cancel()
        await asyncio.gather(a, b, return_exceptions=True)
        assert running == {"a": False, "b": False}

    asyncio.run(scenario())


def test_the_broker_shuts_out_a_holder_that_has_not_noticed_its_loss(
    pg: Engine, broker: Mosquitto, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="coherence.detection")
    factory = make_session_factory(pg)
    target = parse_broker_url(broker.url())
    stats = {"old": MqttStats(), "new": MqttStats()}

    def subscriptions() -> int:
        return sum("subscribed" in record.getMessage() for record in caplog.records)

    def intake(name: str, *, retry_seconds: float) -> asyncio.Task[None]:
        lock = AdvisoryLock(pg, name="fenced-intake", job=JOB, timeout_seconds=2)
        return asyncio.create_task(
            run_mqtt_intake(
                target,
                Pipeline(factory, clock=clock),
                stats[name],
                clock,
                lock,
                retry_seconds=retry_seconds,
                # The old holder never checks its lock by itself during this test.
                confirm_seconds=600,
            )
        )

    async def scenario() -> None:
        old = intake("old", retry_seconds=600)
        await _eventually(lambda: subscriptions() == 1)
        new = intake("new", retry_seconds=0.2)
        await asyncio.to_thread(_kill_holder, pg, JOB)
        # The new holder connects under the same client identifier, so the broker drops the
        # old one, which then finds its lock gone instead of reconnecting.
        await _eventually(lambda: subscriptions() == 2 and not stats["old"].active)
        assert stats["new"].active
        assert "already connected, closing old connection" in broker.log_file.read_text()
        await broker.publish(_samples(5))
        await _eventually(lambda: stats["new"].received == 5)
        await asyncio.sleep(0.5)
        assert stats["old"].received == 0
        for task in (old, new):
            task.cancel()
        await asyncio.gather(old, new, return_exceptions=True)

    asyncio.run(scenario())


def _samples(count: int) -> list[tuple[str, bytes]]:
    t0 = START.timestamp()
    return [
        (TOPIC, orjson.dumps({"value": 0.012, "unit": "K", "timestamp": t0 + 10 * i}))
        for i in range(count)
    ]


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_two_apps_on_one_database_evaluate_each_message_once(
    engine: Engine,
    pg: Engine,
    broker: Mosquitto,
    clock: ManualClock,
    facility: None,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="coherence.detection")
    timestamps = itertools.count(START.timestamp(), 10)

    def start(name: str, on: Engine) -> tuple[TestClient, MqttStats]:
        settings = Settings(data_dir=tmp_path / name, mqtt_url=broker.url())
        app = create_app(settings, engine=on, clock=clock, run_workers=False)
        client = stack.enter_context(TestClient(app))
        return client, app.state.mqtt_stats

    def subscriptions() -> int:
        return sum("subscribed" in record.getMessage() for record in caplog.records)

    def publish(count: int) -> None:
        samples = [
            (TOPIC, orjson.dumps({"value": 0.012, "unit": "K", "timestamp": next(timestamps)}))
            for _ in range(count)
        ]
        asyncio.run(broker.publish(samples))

    def wait(predicate: Callable[[], object], seconds: float = 30.0) -> None:
        asyncio.run(_eventually(predicate, seconds))

    with contextlib.ExitStack() as stack:
        _first, first_stats = start("first", engine)
        wait(lambda: first_stats.active and subscriptions() == 1)
        second, second_stats = start("second", pg)
        time.sleep(0.5)
        assert (first_stats.active, second_stats.active) == (True, False)
        publish(10)
        wait(lambda: first_stats.accepted == 10)

        # The holder's lock connection dies: the other process takes the intake over.
        _kill_holder(engine, MQTT_INTAKE_LOCK)
        wait(lambda: second_stats.active and not first_stats.active and subscriptions() == 2)
        publish(10)
        wait(lambda: second_stats.accepted == 10)

        # The holder stops: the first process takes the intake back.
        second.__exit__(None, None, None)
        wait(lambda: first_stats.active and subscriptions() == 3)
        publish(5)
        wait(lambda: first_stats.accepted == 15)
        time.sleep(0.5)
        assert (first_stats.received, second_stats.received) == (15, 10)
