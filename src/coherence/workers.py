"""Background roles: fire due timers and deliver the outbox, each change in its own transaction."""

from __future__ import annotations

import logging
import threading
import time

from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker

from coherence.access.retention_service import RetentionJob
from coherence.clock import Clock
from coherence.comms import cadence
from coherence.comms import service as comms_service
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.wakeup import OutboxListener
from coherence.db import session_scope
from coherence.incidents import escalation
from coherence.ledger import checkpoints
from coherence.obligations import clocks as obligation_clocks
from coherence.timers import service as timers_service
from coherence.timers.service import TimerKind
from coherence.training import reminders as training_reminders
from coherence.watch.service import WatchJob

log = logging.getLogger(__name__)

# Sweeps, timers, receipts and checkpoints need no finer cadence than this. A busy dispatcher
# passes far more often; repeating them on every one of its passes would only cost CPU.
FULL_TICK_SECONDS = 0.25


def fire_due_timers(factory: sessionmaker[Session], *, clock: Clock, limit: int = 50) -> int:
    """Fire every timer due now, one transaction each; return how many fired."""
    fired = 0
    while fired < limit:
        with session_scope(factory) as session:
            due = timers_service.claim_due(session, now=clock.now(), limit=1)
            if not due:
                return fired
            if due[0].kind == TimerKind.STATEMENT_DUE.value:
                cadence.fire_cadence_timer(session, clock=clock, timer=due[0])
            elif due[0].kind in obligation_clocks.OBLIGATION_TIMERS:
                obligation_clocks.fire_obligation_timer(session, clock=clock, timer=due[0])
            elif due[0].kind == TimerKind.TRAINING_REMINDER.value:
                training_reminders.fire_reminder_timer(session, clock=clock, timer=due[0])
            else:
                escalation.fire_timer(session, clock=clock, timer=due[0])
        fired += 1
    return fired


class EmbeddedWorkers:
    """Runs the timer and dispatcher roles in a thread beside the HTTP server."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Clock,
        dispatcher: Dispatcher,
        interval: float,
        ledger_signer: str | None = None,
        retention: RetentionJob | None = None,
    ) -> None:
        self._factory = factory
        self._retention = retention
        self._watch = WatchJob()
        self._clock = clock
        self.dispatcher = dispatcher
        self._interval = interval
        self._signer = ledger_signer
        self._stop = threading.Event()
        self._last_full_tick = -FULL_TICK_SECONDS
        self._thread: threading.Thread | None = None

    def run_once(self) -> tuple[int, int]:
        """Fire due timers, deliver messages, sign a checkpoint, look for unusual access (each
        minute) and purge what retention says is due (hourly)."""
        fired = fire_due_timers(self._factory, clock=self._clock)
        sent = self.dispatcher.run_once()
        if self._signer is not None:
            with session_scope(self._factory) as session:
                checkpoints.sign_latest(session, clock=self._clock, signer_key=self._signer)
        self._watch.run_if_due(self._factory, clock=self._clock)
        if self._retention is not None:
            self._retention.run_if_due(self._factory, clock=self._clock)
        return fired, sent

    def run_forever(self) -> None:
        """Tick every interval, or as soon as any process queues a page, until stop()."""
        engine = self._factory.kw["bind"]
        listener = OutboxListener.for_engine(engine, comms_service.OUTBOX_READY)
        if listener is not None:
            listener.start()
        try:
            self._loop()
        finally:
            if listener is not None:
                listener.stop()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self._tick()
            except OperationalError as exc:
                # An unreachable database is an outage, not a bug: one line, no traceback.
                log.warning("background worker tick failed, database unreachable: %s", exc.orig)
            except Exception:
                # A worker must outlive a bad row or a dropped connection; the next tick retries.
                log.exception("background worker tick failed")
            else:
                if self.dispatcher.busy:
                    continue  # A full batch means more is waiting: no pause before the next.
            # Wake early when a page is queued (in this process, or on PostgreSQL in any);
            # otherwise poll every interval.
            comms_service.OUTBOX_READY.wait(self._interval)
            comms_service.OUTBOX_READY.clear()

    def _tick(self) -> None:
        """Run everything if it is time to; otherwise only deliver messages."""
        now = time.monotonic()
        if now - self._last_full_tick >= FULL_TICK_SECONDS:
            self._last_full_tick = now
            self.run_once()
        else:
            self.dispatcher.deliver()

    def start(self) -> None:
        """Start the worker thread."""
        self._thread = threading.Thread(
            target=self.run_forever, name="coherence-workers", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Ask the worker thread to finish and wait for it."""
        self._stop.set()
        comms_service.OUTBOX_READY.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.dispatcher.close()
