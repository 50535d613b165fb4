"""Live pages: a server-sent event stream that tells open dashboard pages the record changed.

Every state change writes a ledger entry in its own transaction, whichever process made it, so
the ledger's size is a change counter the database already keeps. The stream polls it and
sends ``change`` when it moves; the page then fetches itself again through the same access
checks as any page load. The event carries nothing but the counter. While the database does
not answer, a ``database`` event says since when, so the page shows the outage.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import Engine
from starlette.concurrency import run_in_threadpool
from starlette.responses import PlainTextResponse, Response, StreamingResponse

from coherence.dbhealth import DatabaseHealth
from coherence.ledger import service as ledger_service
from coherence.web.guards import PageLists

POLL_SECONDS = 1.0
HEARTBEAT_SECONDS = 15.0
# A stream ends after this long and the browser reconnects, so a revoked sign-in or a
# narrowed permission takes effect within minutes, not when the tab is closed.
STREAM_SECONDS = 300.0
RETRY_MILLISECONDS = 3000

router = APIRouter(include_in_schema=False)


def change_event(counter: int) -> str:
    """Format one ``change`` event; its id lets a reconnecting browser say what it last saw."""
    return f"event: change\nid: {counter}\ndata: {counter}\n\n"


def database_event(unreachable_since: datetime | None) -> str:
    """Format one ``database`` event: ``ok``, or the UTC time the database became unreachable."""
    return (
        f"event: database\ndata: {unreachable_since.isoformat() if unreachable_since else 'ok'}\n\n"
    )


async def stream_changes(
    counter: Callable[[], int | None],
    is_gone: Callable[[], Awaitable[bool]],
    *,
    since: int,
    outage: Callable[[], datetime | None] = lambda: None,
    poll: float = POLL_SECONDS,
    heartbeat: float = HEARTBEAT_SECONDS,
    lifetime: float = STREAM_SECONDS,
) -> AsyncIterator[str]:
    """Yield a ``change`` event whenever the counter moves past ``since``; comments to idle.

    A counter of None means the database did not answer: ``outage`` says since when, and a
    ``database`` event tells the page, then another when it answers again.
    """
    yield f"retry: {RETRY_MILLISECONDS}\n\n"
    last, idle, elapsed = since, 0.0, 0.0
    down = False
    while elapsed < lifetime and not await is_gone():
        now = await run_in_threadpool(counter)
        if (now is None) != down:
            down = now is None
            idle = 0.0
            yield database_event(outage() if down else None)
        if now is not None and now != last:
            last, idle = now, 0.0
            yield change_event(now)
        elif idle >= heartbeat:
            idle = 0.0
            yield ": still here\n\n"
        await asyncio.sleep(poll)
        idle += poll
        elapsed += poll


LIVE_EVENTS_PATH = "/events"


@router.get(LIVE_EVENTS_PATH)
async def events(
    request: Request,
    caller: PageLists,
    since: Annotated[int | None, Query(ge=0, le=2**62)] = None,
) -> Response:
    """Stream ``change`` events to an open dashboard page (server-sent events)."""
    del caller  # the dependency is the check: only people who may list incidents listen
    if "text/event-stream" not in request.headers.get("accept", ""):
        # Anything else would hold the connection open for minutes waiting for events.
        return PlainTextResponse(
            "this is a server-sent event stream: open it with EventSource "
            "(Accept: text/event-stream)",
            status_code=406,
        )
    engine: Engine = request.app.state.engine
    resumed = request.headers.get("last-event-id", "")
    resumed_at = int(resumed) if resumed.isdecimal() and len(resumed) <= 18 else None
    start = since if since is not None else resumed_at
    if start is None:
        start = await run_in_threadpool(ledger_service.change_count, engine)
    health: DatabaseHealth = request.app.state.database_health
    body = stream_changes(
        lambda: health.guard(lambda: ledger_service.change_count(engine)),
        request.is_disconnected,
        since=start,
        outage=lambda: health.unreachable_since,
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(body, media_type="text/event-stream", headers=headers)
