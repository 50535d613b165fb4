"""Single-active jobs: one process at a time runs the job, another takes over when it dies."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.exc import SQLAlchemyError

from coherence.db import schema_lock_key

log = logging.getLogger(__name__)

# How often a process that does not hold a job's lock tries to take it.
RETRY_SECONDS = 5.0
# How often the holder makes sure it still holds the lock.
CONFIRM_SECONDS = 2.0
# A lock query that takes longer counts as a lost connection.
TIMEOUT_SECONDS = 5.0

# First half of the PostgreSQL advisory lock key of each job; documented in docs/deploy.md.
MQTT_INTAKE_LOCK = 1_128_792_065

_HELD = (
    "select exists (select 1 from pg_locks where locktype = 'advisory' "
    "and pid = pg_backend_pid() and granted and objsubid = 2 "
    "and classid = %s::oid and objid = %s::oid)"
)


class Leadership(Protocol):
    """The right to run one single-active job, held by at most one process at a time."""

    name: str

    @property
    def fence(self) -> str | None:
        """A name every process of this deployment shares for this job, once it is held.

        Outside systems that allow one client per name (an MQTT client identifier) use it to
        shut out a former holder; None where only one process can run the job.
        """

    async def acquire(self) -> bool:
        """Take the right unless another process holds it; True while this process holds it."""

    async def confirm(self) -> bool:
        """Whether this process still holds the right; a lost right is given up at once."""

    async def release(self) -> None:
        """Give the right up; nothing happens when it is not held."""


class Unshared:
    """The right on a database that only one machine uses (SQLite): always held."""

    fence: str | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    async def acquire(self) -> bool:
        """Always true: nobody else can run the job."""
        return True

    async def confirm(self) -> bool:
        """Always true: nobody else can run the job."""
        return True

    async def release(self) -> None:
        """Nothing to give up."""


class AdvisoryLock:
    """The right as a PostgreSQL session-level advisory lock on a connection of its own.

    The key is ``(job, schema key)``: the job's fixed number and the lowest 31 bits of the
    CRC-32 of the database schema's name, so deployments sharing a database in different
    schemas do not exclude each other. The lock goes when its connection closes, so a holder
    that dies or loses the database frees it for the others.
    """

    def __init__(
        self, engine: Engine, *, name: str, job: int, timeout_seconds: float = TIMEOUT_SECONDS
    ) -> None:
        self.name = name
        self._engine = engine
        self._job = job
        self._timeout = timeout_seconds
        self._schema_key: int | None = None
        self._connection: psycopg.AsyncConnection[Any] | None = None

    @property
    def fence(self) -> str | None:
        """``<name>-<schema key in hex>``, known once the schema has been read."""
        return None if self._schema_key is None else f"{self.name}-{self._schema_key:08x}"

    async def acquire(self) -> bool:
        """Try the lock once on a new connection, keeping the connection while it is held."""
        if self._connection is not None:
            return await self.confirm()
        try:
            if self._schema_key is None:
                self._schema_key = await asyncio.to_thread(self._read_schema_key)
            connection = await psycopg.AsyncConnection.connect(
                **self._connect_params(), autocommit=True
            )
        except (SQLAlchemyError, psycopg.Error) as exc:
            log.warning("cannot reach the database for the %s lock: %s", self.name, exc)
            return False
        try:
            async with asyncio.timeout(self._timeout):
                cursor = await connection.execute(
                    "select pg_try_advisory_lock(%s, %s)", (self._job, self._schema_key)
                )
                row = await cursor.fetchone()
        except BaseException as exc:
            await connection.close()
            if isinstance(exc, psycopg.Error | TimeoutError):
                log.warning("could not try the %s lock: %s", self.name, exc)
                return False
            raise
        if row is None or not row[0]:
            await connection.close()
            return False
        self._connection = connection
        return True

    async def confirm(self) -> bool:
        """Ask the lock's connection whether it still holds the lock, within the timeout."""
        connection = self._connection
        if connection is None:
            return False
        try:
            async with asyncio.timeout(self._timeout):
                cursor = await connection.execute(_HELD, (self._job, self._schema_key))
                row = await cursor.fetchone()
            if row is not None and row[0]:
                return True
            log.warning("the %s lock is no longer held by this process", self.name)
        except (psycopg.Error, TimeoutError) as exc:
            log.warning("lost the connection holding the %s lock: %s", self.name, exc or "timeout")
        await self.release()
        return False

    async def release(self) -> None:
        """Close the lock's connection, which frees the lock."""
        connection, self._connection = self._connection, None
        if connection is not None:
            with contextlib.suppress(psycopg.Error):
                await connection.close()

    def _read_schema_key(self) -> int:
        with self._engine.connect() as connection:
            schema = connection.execute(text("select current_schema()")).scalar_one()
        return schema_lock_key(str(schema))

    def _connect_params(self) -> dict[str, Any]:
        _args, params = self._engine.dialect.create_connect_args(self._engine.url)
        params.pop("context", None)
        return {"connect_timeout": max(2, round(self._timeout)), **params}


def leadership_for(engine: Engine, *, name: str, job: int) -> Leadership:
    """An advisory lock on PostgreSQL; on a one-machine database (SQLite) no lock at all."""
    if engine.dialect.name == "postgresql":
        return AdvisoryLock(engine, name=name, job=job)
    return Unshared(name)


async def lead(
    lock: Leadership,
    job: Callable[[], Awaitable[None]],
    *,
    on_change: Callable[[bool], None],
    retry_seconds: float = RETRY_SECONDS,
    confirm_seconds: float = CONFIRM_SECONDS,
) -> None:
    """Run ``job`` whenever this process holds ``lock``, until cancelled.

    The job starts once the lock is taken. It is cancelled, and has finished, before the lock
    is given up, and as soon as the lock is found lost. When the job returns, the lock is
    given up; when it raises, the error propagates. Every ``retry_seconds`` without the lock
    (and after giving it up, so that the others get their turn) the lock is tried again.
    """
    while True:
        if await lock.acquire():
            log.info("this process now runs %s", lock.name)
            on_change(True)
            try:
                await _run_while_held(lock, job, confirm_seconds)
            finally:
                on_change(False)
                await lock.release()
        await asyncio.sleep(retry_seconds)


async def _run_while_held(
    lock: Leadership, job: Callable[[], Awaitable[None]], confirm_seconds: float
) -> None:
    task = asyncio.ensure_future(job())
    try:
        while True:
            done, _pending = await asyncio.wait({task}, timeout=confirm_seconds)
            if done:
                task.result()
                return
            if not await lock.confirm():
                log.warning("stopped %s here: this process no longer holds its lock", lock.name)
                return
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
