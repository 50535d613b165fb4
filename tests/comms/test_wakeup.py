"""Dispatchers in other processes wake when pages are queued (PostgreSQL LISTEN/NOTIFY)."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import psycopg
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.models import Person
from coherence.clock import ManualClock
from coherence.comms import service, wakeup
from coherence.comms.wakeup import OutboxListener
from coherence.db import make_engine, make_session_factory, session_scope
from tests.conftest import POSTGRES_URL

PERSON = Person(key="ops", name="Ops", contacts=[{"channel": "console", "address": "ops"}])


def queue(factory: sessionmaker[Session], clock: ManualClock, *, commit: bool) -> None:
    session = factory()
    try:
        service.enqueue(
            session, clock=clock, person=PERSON, subject="s", body="b", reason="t", actor="t"
        )
        session.commit() if commit else session.rollback()
    finally:
        session.close()


def listening(engine: Engine) -> psycopg.Connection[tuple[object, ...]]:
    args, kwargs = engine.dialect.create_connect_args(engine.url)
    connection = psycopg.connect(*args, **kwargs, autocommit=True)
    connection.execute(f"LISTEN {wakeup.CHANNEL}")
    return connection


def notified(connection: psycopg.Connection[tuple[object, ...]]) -> int:
    return sum(1 for _ in connection.notifies(timeout=0.5))


@pytest.fixture
def postgres(postgres_schema: str) -> Iterator[Engine]:
    """The test PostgreSQL database; LISTEN/NOTIFY is PostgreSQL's, SQLite workers poll."""
    options = {"options": f"-csearch_path={postgres_schema}"}
    engine = make_engine(POSTGRES_URL, connect_args=options)
    yield engine
    engine.dispose()


@pytest.fixture
def factory(postgres: Engine) -> sessionmaker[Session]:
    return make_session_factory(postgres)


def test_a_committed_page_notifies_once_per_transaction(
    postgres: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with listening(postgres) as connection:
        with session_scope(factory) as session:
            for n in range(3):
                service.enqueue(
                    session,
                    clock=clock,
                    person=PERSON,
                    subject=f"{n}",
                    body="b",
                    reason="t",
                    actor="t",
                )
        assert notified(connection) == 1
        queue(factory, clock, commit=True)
        assert notified(connection) == 1


def test_a_rolled_back_page_wakes_nobody(
    postgres: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with listening(postgres) as connection:
        queue(factory, clock, commit=False)
        assert notified(connection) == 0


def test_the_listener_sets_the_event_when_another_connection_queues(
    postgres: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ready = threading.Event()
    listener = OutboxListener.for_engine(postgres, ready)
    assert listener is not None
    listener.start()
    try:
        # Set once on connecting, for pages queued while nobody listened.
        assert ready.wait(5)
        ready.clear()
        queue(factory, clock, commit=True)
        assert ready.wait(5)
    finally:
        listener.stop()


def test_there_is_no_listener_on_sqlite() -> None:
    sqlite = make_engine("sqlite://")
    assert OutboxListener.for_engine(sqlite, threading.Event()) is None
