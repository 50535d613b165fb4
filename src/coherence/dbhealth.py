"""Whether this process can reach its database, and since when it cannot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from coherence.clock import Clock
from coherence.errors import CoherenceError, DatabaseUnavailable, StorageFull

T = TypeVar("T")
# SQLite says SQLITE_FULL as "database or disk is full"; PostgreSQL's SQLSTATE class 53
# (insufficient resources) includes 53100 disk_full.
FULL_MARKERS = ("database or disk is full", "No space left on device", "could not extend file")


class DatabaseHealth:
    """One per process: the first moment of the current outage, or None while reachable."""

    def __init__(self, engine: Engine, clock: Clock) -> None:
        self._engine = engine
        self._clock = clock
        self.unreachable_since: datetime | None = None
        # Reads on a bare driver connection (the live pages' counter) raise the driver's own
        # error, not SQLAlchemy's wrapper.
        self.errors: tuple[type[Exception], ...] = (
            OperationalError,
            engine.dialect.loaded_dbapi.OperationalError,
        )

    def reached(self) -> None:
        """Record that the database answered."""
        self.unreachable_since = None

    def failed(self) -> datetime:
        """Record that the database did not answer; return when the outage began."""
        if self.unreachable_since is None:
            self.unreachable_since = self._clock.now()
        return self.unreachable_since

    def probe(self) -> bool:
        """Ask the database a trivial question; return whether it answered."""
        return self.guard(lambda: _select_one(self._engine)) is not None

    def guard(self, work: Callable[[], T]) -> T | None:
        """Run ``work``; None, with the outage recorded, when the database cannot be reached."""
        try:
            result = work()
        except self.errors:
            self.failed()
            return None
        self.reached()
        return result

    def error_for(self, exc: Exception) -> CoherenceError:
        """Say why a statement failed: full storage (507), no free connection or an unreachable
        database (503); only the last is recorded as an outage."""
        if isinstance(exc, PoolTimeout) or _storage_full(exc):
            return explain(exc)
        return explain(exc, unreachable_since=self.failed())


def explain(
    exc: Exception, *, unreachable_since: datetime | None = None, show_cause: bool = False
) -> CoherenceError:
    """Turn a database failure into the error a person is shown; nothing of it was stored.

    ``show_cause`` adds the driver's own words, for the operator at a terminal; API callers
    are not told the database's address or account.
    """
    if _storage_full(exc):
        return StorageFull(
            "the database's storage is full: nothing from this request was stored; "
            "free disk space, then send it again",
            field="database",
        )
    if isinstance(exc, PoolTimeout):
        return DatabaseUnavailable(
            "every database connection is busy: nothing from this request was stored; "
            "send it again shortly",
            field="database",
        )
    since = f" (since {unreachable_since:%H:%M:%S} UTC)" if unreachable_since else ""
    cause = f" ({_cause(exc)})" if show_cause else ""
    return DatabaseUnavailable(
        f"the database is unreachable{since}{cause}: nothing from this request was stored; "
        "send it again shortly",
        field="database",
        **({"unreachable_since": unreachable_since.isoformat()} if unreachable_since else {}),
    )


def _cause(exc: Exception) -> str:
    """The driver's first line, which says what failed (refused, timed out, bad password)."""
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc).strip()
    return text.splitlines()[0][:300] if text else ""


def _storage_full(exc: Exception) -> bool:
    text = str(exc.orig if isinstance(exc, DBAPIError) else exc)
    return any(marker in text for marker in FULL_MARKERS)


def _select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        connection.exec_driver_sql("select 1")
    return 1
