"""Live pages: the change stream, its counter, and who may listen."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.web import live

TICK = 0.001
OUTAGE = datetime(2026, 1, 5, 10, 3, tzinfo=UTC)


def collect(
    counts: list[int | None], *, since: int, ticks: int, heartbeat: float = 1.0
) -> list[str]:
    """Run the stream over a counter that reads ``counts`` in turn, one poll each."""
    readings = iter(counts)

    async def gone() -> bool:
        return False

    async def run() -> list[str]:
        stream = live.stream_changes(
            lambda: next(readings),
            gone,
            since=since,
            poll=TICK,
            heartbeat=heartbeat,
            lifetime=(ticks - 0.5) * TICK,
            outage=lambda: OUTAGE,
        )
        return [event async for event in stream]

    return asyncio.run(run())


def test_the_stream_sends_a_change_only_when_the_counter_moves() -> None:
    events = collect([4, 4, 5, 5, 7], since=4, ticks=5)
    assert events[0].startswith("retry: ")
    assert events[1:] == [live.change_event(5), live.change_event(7)]
    assert live.change_event(7) == "event: change\nid: 7\ndata: 7\n\n"


def test_the_stream_says_when_the_database_stops_and_starts_answering() -> None:
    events = collect([4, None, None, 6], since=4, ticks=4)
    assert events[1:] == [
        live.database_event(OUTAGE),
        live.database_event(None),
        live.change_event(6),
    ]
    assert events[1] == "event: database\ndata: 2026-01-05T10:03:00+00:00\n\n"


def test_a_change_made_before_the_stream_opened_is_not_missed() -> None:
    # The page was drawn at 3; the stream's first look already sees 4.
    assert collect([4], since=3, ticks=1)[1:] == [live.change_event(4)]


def test_an_idle_stream_sends_comments_to_keep_the_connection_open() -> None:
    events = collect([2] * 6, since=2, ticks=6, heartbeat=0.0)
    assert events[1:]
    assert all(e == ": still here\n\n" for e in events[1:])


def test_the_stream_ends_when_the_browser_has_gone() -> None:
    async def gone() -> bool:
        return True

    async def run() -> list[str]:
        return [e async for e in live.stream_changes(lambda: 9, gone, since=0, poll=0.0)]

    assert len(asyncio.run(run())) == 1  # only the retry advice


def test_the_change_count_follows_the_ledger(
    engine: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    assert ledger_service.change_count(engine) == 0
    with session_scope(factory) as session:
        for n in range(3):
            ledger_service.append(
                session,
                clock=clock,
                entry_type=EntryType.INCIDENT_NOTE_ADDED,
                actor="test",
                subject=f"note:{n}",
                payload={"n": n},
            )
    assert ledger_service.change_count(engine) == 3


def test_reading_the_count_neither_waits_for_nor_blocks_a_writer(
    engine: Engine, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with session_scope(factory) as writer:
        ledger_service.append(
            writer,
            clock=clock,
            entry_type=EntryType.INCIDENT_NOTE_ADDED,
            actor="t",
            subject="s",
            payload={},
        )
        writer.flush()  # the writer holds its lock until the block ends
        assert ledger_service.change_count(engine) == 0
    assert ledger_service.change_count(engine) == 1


def signed_in(client: TestClient) -> TestClient:
    """Swap the API token for a dashboard sign-in cookie, as a browser holds it."""
    token = client.headers.pop("Authorization").removeprefix("Bearer ")
    assert client.get(f"/login?token={token}", follow_redirects=False).status_code == 303
    return client


@pytest.mark.parametrize("since", ["-1", "x", str(2**63)])
def test_a_bad_since_is_refused_naming_the_field(client: TestClient, since: str) -> None:
    response = signed_in(client).get(f"/events?since={since}")
    assert response.status_code == 422
    assert "since" in response.text


def test_the_stream_needs_a_signed_in_person(client: TestClient) -> None:
    del client.headers["Authorization"]
    response = client.get("/events", follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"].startswith("/login")


def test_pages_for_a_signed_in_person_carry_the_count_and_the_script(client: TestClient) -> None:
    board = signed_in(client).get("/")
    assert 'data-live-since="' in board.text
    assert '<script src="/static/live.js" defer>' in board.text
    assert client.get("/static/live.js").status_code == 200
    login = client.get("/login")
    assert "live.js" not in login.text


def test_a_client_that_does_not_ask_for_an_event_stream_is_told_so_at_once(
    client: TestClient,
) -> None:
    response = signed_in(client).get("/events", headers={"Accept": "text/html"})
    assert response.status_code == 406
    assert "EventSource" in response.text
