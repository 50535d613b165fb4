"""Shared fixtures: a migrated database on SQLite and PostgreSQL, a clock, the sample facility."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.app import create_app
from coherence.catalog import service as catalog_service
from coherence.clock import ManualClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.documents import load_yaml_file
from coherence.migrations import runner
from coherence.partners import service as partners_service
from coherence.playbooks import service as playbooks_service
from coherence.settings import Settings
from tests.helpers import Receiver

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_FACILITY = ROOT / "examples" / "facility.yaml"
SAMPLE_AGREEMENTS = ROOT / "examples" / "agreements.yaml"
NATS_URL = os.environ.get("COHERENCE_TEST_NATS_URL", "nats://127.0.0.1:4222")
POSTGRES_URL = os.environ.get(
    "COHERENCE_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
IN_CI = os.environ.get("CI", "").lower() == "true"
# Monday 5 January 2026, 10:00 UTC: inside the sample rotations' first day shift.
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def _postgres_reachable() -> str | None:
    try:
        engine = make_engine(POSTGRES_URL)
        with engine.connect() as connection:
            connection.execute(text("select 1"))
        engine.dispose()
    except Exception as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once; each test gets a copy."""
    path = tmp_path_factory.mktemp("template") / "coherence.db"
    engine = make_engine(f"sqlite:///{path}")
    runner.upgrade(engine)
    engine.dispose()
    return path


@pytest.fixture(scope="session")
def postgres_schema() -> Iterator[str]:
    """A PostgreSQL schema migrated once for the session, dropped at the end."""
    problem = _postgres_reachable()
    if problem:
        message = f"PostgreSQL at {POSTGRES_URL} is not reachable ({problem})"
        if IN_CI:
            pytest.fail(message + "; under CI=true this is a failure, not a skip")
        pytest.skip(message + "; set COHERENCE_TEST_POSTGRES_URL to run these")
    schema = f"coherence_test_{uuid.uuid4().hex[:10]}"
    admin = make_engine(POSTGRES_URL)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    engine = _postgres_engine(schema)
    runner.upgrade(engine)
    engine.dispose()
    yield schema
    with admin.begin() as connection:
        connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def _postgres_engine(schema: str) -> Engine:
    return make_engine(POSTGRES_URL, connect_args={"options": f"-csearch_path={schema}"})


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Engine]:
    """A freshly migrated, empty database: SQLite always, PostgreSQL when reachable."""
    if request.param == "sqlite":
        path = tmp_path / "coherence.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        built = make_engine(f"sqlite:///{path}")
    else:
        schema = request.getfixturevalue("postgres_schema")
        built = _postgres_engine(schema)
        with built.begin() as connection:
            tables = (
                connection.execute(
                    text(
                        "select tablename from pg_tables where schemaname = :s "
                        "and tablename <> 'alembic_version'"
                    ),
                    {"s": schema},
                )
                .scalars()
                .all()
            )
            if tables:
                names = ", ".join(f'"{schema}"."{t}"' for t in tables)
                connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    yield built
    built.dispose()


@pytest.fixture
def clock() -> ManualClock:
    """A clock that only moves when the test moves it."""
    return ManualClock(START)


@pytest.fixture
def factory(engine: Engine) -> sessionmaker[Session]:
    """The session factory for the test database."""
    return make_session_factory(engine)


@pytest.fixture
def session(factory: sessionmaker[Session]) -> Iterator[Session]:
    """A session whose changes the test commits (or not) itself."""
    opened = factory()
    yield opened
    opened.rollback()
    opened.close()


@pytest.fixture
def facility(factory: sessionmaker[Session], clock: ManualClock) -> None:
    """Load the shipped playbooks and the sample facility."""
    with session_scope(factory) as opened:
        playbooks_service.publish_library(opened, clock=clock, actor="test")
        catalog_service.load_facility(
            opened,
            clock=clock,
            data=load_yaml_file(SAMPLE_FACILITY),
            actor="test",
            source="facility.yaml",
        )


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings pointing at a temporary data directory."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def client(
    engine: Engine,
    clock: ManualClock,
    settings: Settings,
    facility: None,
    factory: sessionmaker[Session],
) -> Iterator[TestClient]:
    """An API client authenticated as the sample incident commander ``amara-osei``."""
    with session_scope(factory) as opened:
        _row, secret = access_service.create_token(
            opened, clock=clock, person_key="amara-osei", name="test", actor="test"
        )
    app = create_app(settings, engine=engine, clock=clock, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as test_client:
        test_client.headers["Authorization"] = f"Bearer {secret}"
        yield test_client


@pytest.fixture
def as_person(
    factory: sessionmaker[Session], clock: ManualClock
) -> Callable[[str], dict[str, str]]:
    """Return a function giving API headers with a fresh token for any sample person."""

    def headers(key: str) -> dict[str, str]:
        with session_scope(factory) as opened:
            _row, secret = access_service.create_token(
                opened, clock=clock, person_key=key, name="test", actor="test"
            )
        return {"Authorization": f"Bearer {secret}"}

    return headers


@pytest.fixture
def agreements(factory: sessionmaker[Session], clock: ManualClock, facility: None) -> None:
    """Load the sample facility's partner agreements."""
    with session_scope(factory) as opened:
        partners_service.load_agreements(
            opened,
            clock=clock,
            data=load_yaml_file(SAMPLE_AGREEMENTS),
            actor="test",
            source="agreements.yaml",
        )


@pytest.fixture
def receiver() -> Iterator[str]:
    """A webhook receiver on loopback; Receiver.received counts each message id."""
    Receiver.received = Counter()
    server = ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hook"
    server.shutdown()
    server.server_close()


@pytest.fixture
def nats_url() -> str:
    """The NATS server's URL; skips (fails under CI) when nothing listens there."""
    parts = urlsplit(NATS_URL)
    try:
        socket.create_connection((parts.hostname or "", parts.port or 4222), timeout=2).close()
    except OSError as exc:
        message = f"no NATS server at {NATS_URL} ({exc})"
        if IN_CI:
            pytest.fail(message + "; under CI=true this is a failure, not a skip")
        pytest.skip(message + "; set COHERENCE_TEST_NATS_URL to run this")
    return NATS_URL
