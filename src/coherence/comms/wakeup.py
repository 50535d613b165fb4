"""Wake dispatchers in other processes when pages are queued: PostgreSQL's LISTEN/NOTIFY.

Inside one process, a commit that queued pages sets ``OUTBOX_READY`` directly. A dispatcher in
another process (`coherence worker run` beside API processes) would only see them at its next
poll. On PostgreSQL the queuing transaction also sends a notification, which PostgreSQL
delivers at commit and drops on rollback, and a listener thread in each worker process turns it
into the same event. SQLite has no such signal; there, separate workers poll.
"""

from __future__ import annotations

import logging
import threading

import psycopg
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

CHANNEL = "coherence_outbox"
RECONNECT_SECONDS = 5.0

log = logging.getLogger(__name__)


def notify_at_commit(session: Session) -> None:
    """Have PostgreSQL wake listening dispatchers when this transaction commits."""
    if session.get_bind().dialect.name != "postgresql" or session.info.get("outbox_notified"):
        return
    session.execute(text(f"NOTIFY {CHANNEL}"))
    session.info["outbox_notified"] = True


class OutboxListener:
    """A daemon thread that sets ``ready`` whenever any process commits queued pages."""

    def __init__(self, engine: Engine, ready: threading.Event) -> None:
        self._connect_args = engine.dialect.create_connect_args(engine.url)
        self._ready = ready
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="coherence-outbox-listener")
        self._thread.daemon = True

    @classmethod
    def for_engine(cls, engine: Engine, ready: threading.Event) -> OutboxListener | None:
        """A listener on PostgreSQL; None elsewhere, where nothing would notify."""
        return cls(engine, ready) if engine.dialect.name == "postgresql" else None

    def start(self) -> None:
        """Start listening in the background."""
        self._thread.start()

    def stop(self) -> None:
        """Stop listening; returns within about a second."""
        self._stop.set()
        self._thread.join(timeout=5)

    def _run(self) -> None:
        args, kwargs = self._connect_args
        while not self._stop.is_set():
            try:
                with psycopg.connect(*args, **kwargs, autocommit=True) as connection:
                    connection.execute(f"LISTEN {CHANNEL}")
                    # Pages queued while nobody listened must not wait for the next poll.
                    self._ready.set()
                    while not self._stop.is_set():
                        for _ in connection.notifies(timeout=1.0, stop_after=1):
                            self._ready.set()
            except psycopg.Error as exc:
                log.warning("outbox listener lost its connection (%s); retrying", exc)
                self._stop.wait(RECONNECT_SECONDS)
