"""Keep fewer requests in flight than there are worker threads, so a burst cannot deadlock.

FastAPI runs each synchronous dependency and endpoint as its own step on a shared pool of
threads (40 by default). A request's database session opens in one step and is used in the
next; on SQLite it holds the write lock in between. With more requests in flight than
threads, every thread can end up waiting for that lock or for a pooled connection while the
request holding it waits for a thread (or, holding one connection, for a second from a pool
the others have emptied): nothing moves until timeouts fail them all. Requests beyond the cap
wait here, on the event loop, holding nothing.
"""

from __future__ import annotations

import anyio
import anyio.to_thread
from sqlalchemy import Engine
from sqlalchemy.pool import QueuePool
from starlette.types import ASGIApp, Receive, Scope, Send

# Threads and pooled connections left free of request work: for the embedded workers, for
# the few requests that briefly need a second connection, and slack.
SPARE_THREADS = 8
SPARE_CONNECTIONS = 3


class InFlightLimit:
    """Admit fewer HTTP requests at once than there are threads or pooled connections.

    ``exempt`` paths (the live event stream) hold a connection open for minutes without a
    thread, and must not hold a place in the queue for that long.
    """

    def __init__(
        self, app: ASGIApp, *, connections: int, exempt: frozenset[str] = frozenset()
    ) -> None:
        self.app = app
        self.connections = connections
        self.exempt = exempt
        self._admitted: anyio.Semaphore | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "") in self.exempt:
            await self.app(scope, receive, send)
            return
        if self._admitted is None:
            threads = anyio.to_thread.current_default_thread_limiter().total_tokens
            cap = min(int(threads) - SPARE_THREADS, self.connections - SPARE_CONNECTIONS)
            self._admitted = anyio.Semaphore(max(1, cap))
        async with self._admitted:
            await self.app(scope, receive, send)


def pool_capacity(engine: Engine) -> int:
    """How many connections ``engine`` hands out at once (a generous figure if unbounded)."""
    pool = engine.pool
    if isinstance(pool, QueuePool):
        return pool.size() + max(0, pool._max_overflow)
    return 1_000
