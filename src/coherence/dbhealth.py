"""Whether this process can reach its database, and since when it cannot."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, OperationalError

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
        """Say why a statement failed: full storage (507) or an unreachable database (503)."""
        text = str(exc.orig if isinstance(exc, DBAPIError) else exc)
        if any(marker in text for marker in FULL_MARKERS):
            return StorageFull(
                "the database's storage is full: nothing from this request was stored; "
                "free disk space, then send it again",
                field="database",
            )
        since = self.failed()
        return DatabaseUnavailable(
            f"the database is unreachable (since {since:%H:%M:%S} UTC): nothing from this "
            "request was stored; send it again shortly",
            field="database",
            unreachable_since=since.isoformat(),
        )


def _select_one(engine: Engine) -> int:
    with engine.connect() as connection:
        connection.exec_driver_sql("select 1")
    return 1
