"""A full disk (507) or a database out of reach (503): clear errors, nothing half-written."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.detection.models import SignalKey
from coherence.incidents.models import Incident
from coherence.ledger.models import LedgerEntry, LedgerHead
from tests.chaos.helpers import signal_body

# Pages of headroom left once the disk "fills": enough for a few incidents, not for many.
HEADROOM_PAGES = 40


class Disk:
    """Caps every new SQLite connection's file size, as a full disk would."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.max_pages: int | None = None
        self.gone = False
        event.listen(engine, "connect", self._limit)

    def fill(self) -> None:
        """Leave only HEADROOM_PAGES more pages for the database to grow."""
        with self.engine.connect() as connection:
            pages = connection.exec_driver_sql("PRAGMA page_count").scalar_one()
        self.max_pages = pages + HEADROOM_PAGES
        self.engine.dispose()

    def free(self) -> None:
        """Take the cap away again."""
        self.max_pages = None
        self.engine.dispose()

    def _limit(self, connection: Any, _record: Any) -> None:
        if self.gone:
            raise sqlite3.OperationalError("unable to open database file")
        if self.max_pages is not None:
            connection.execute(f"PRAGMA max_page_count = {self.max_pages}")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_full_disk_answers_507_and_loses_nothing_accepted(
    engine: Engine,
    client: TestClient,
    factory: sessionmaker[Session],
    as_person: Callable[[str], dict[str, str]],
) -> None:
    gateway = as_person("telemetry-gateway")
    disk = Disk(engine)
    disk.fill()
    accepted: list[str] = []
    refused = None
    for n in range(400):
        answer = client.post(
            "/api/v1/signals", json=signal_body(f"disk-{n}", "fridge-1"), headers=gateway
        )
        if answer.status_code != 200:
            refused = answer, f"chaos:disk-{n}"
            break
        accepted.append(f"chaos:disk-{n}")
    assert refused is not None, "the disk never filled"
    answer, lost_key = refused
    assert answer.status_code == 507, answer.text
    assert answer.json()["code"] == "storage_full"
    assert "storage is full" in answer.json()["message"]
    assert "internal" not in answer.text
    assert accepted, "something must have been accepted before the disk filled"
    disk.free()
    with session_scope(factory) as session:
        keys = set(session.scalars(select(SignalKey.dedup_key)))
        incidents = session.scalar(select(func.count()).select_from(Incident))
        entries = session.scalar(select(func.count()).select_from(LedgerEntry))
        head = session.scalar(select(LedgerHead.size))
    assert keys == set(accepted), "an accepted signal was lost, or a refused one half-kept"
    assert incidents == len(accepted)
    assert head == entries, "the ledger's head and its entries disagree"
    retried = client.post(
        "/api/v1/signals", json=signal_body(lost_key.split(":", 1)[1], "fridge-1"), headers=gateway
    )
    assert retried.status_code == 200, retried.text
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(Incident)) == len(accepted) + 1


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_an_unreachable_database_answers_503_and_readyz_says_since_when(
    engine: Engine, client: TestClient, as_person: Callable[[str], dict[str, str]]
) -> None:
    gateway = as_person("telemetry-gateway")
    assert client.get("/readyz").json() == {"status": "ok", "database": "ok"}
    disk = Disk(engine)
    disk.gone = True
    engine.dispose()
    answer = client.post("/api/v1/signals", json=signal_body("gone", "fridge-1"), headers=gateway)
    assert answer.status_code == 503, answer.text
    assert answer.json()["code"] == "database_unavailable"
    assert answer.headers["retry-after"] == "5"
    ready = client.get("/readyz")
    assert ready.status_code == 503
    assert ready.json()["details"]["unreachable_since"] == "2026-01-05T10:00:00+00:00"
    assert "unreachable (since 10:00:00 UTC)" in ready.json()["message"]
    disk.gone = False
    assert client.get("/readyz").status_code == 200
