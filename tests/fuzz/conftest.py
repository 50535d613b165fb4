"""One migrated SQLite database and API client per fuzz module: examples share it, as clients do."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.app import create_app
from coherence.catalog import service as catalog_service
from coherence.clock import ManualClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.documents import load_yaml_file
from coherence.playbooks import service as playbooks_service
from coherence.settings import Settings
from tests.conftest import SAMPLE_FACILITY, START


@dataclass
class Api:
    """A running app on the sample facility, a client holding an IC's token, and its database."""

    client: TestClient
    factory: sessionmaker[Session]
    clock: ManualClock
    token: str
    settings: Settings


@pytest.fixture(scope="module")
def api(sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Api]:
    """The sample facility behind the whole API, signed in as the incident commander."""
    folder = tmp_path_factory.mktemp("fuzz")
    shutil.copy(sqlite_template, folder / "coherence.db")
    engine = make_engine(f"sqlite:///{folder / 'coherence.db'}")
    factory, clock = make_session_factory(engine), ManualClock(START)
    with session_scope(factory) as session:
        playbooks_service.publish_library(session, clock=clock, actor="test")
        catalog_service.load_facility(
            session,
            clock=clock,
            data=load_yaml_file(SAMPLE_FACILITY),
            actor="test",
            source="facility.yaml",
        )
        _row, token = access_service.create_token(
            session, clock=clock, person_key="amara-osei", name="fuzz", actor="test"
        )
    settings = Settings(data_dir=folder)
    app = create_app(settings, engine=engine, clock=clock, run_workers=False)
    with TestClient(app, raise_server_exceptions=False) as client:
        client.headers["Authorization"] = f"Bearer {token}"
        yield Api(client, factory, clock, token, settings)
    engine.dispose()
