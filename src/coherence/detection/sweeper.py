"""Silence needs a tick, not a sample: whoever holds a pipeline sweeps it about once a second."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.exc import OperationalError

from coherence.detection.pipeline import IngestReport, Pipeline

log = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0


class SilenceSweeper:
    """Raises a pipeline's silence (``absence``) rules from a thread of its own."""

    def __init__(self, pipeline: Pipeline, *, interval: float = SWEEP_SECONDS) -> None:
        self._pipeline = pipeline
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._unreachable = False

    def sweep(self) -> IngestReport | None:
        """Sweep once; None while the database is out of reach.

        The pipeline keeps the raises the database refused and applies them with the next
        sweep or batch, so an outage costs one log line, not a signal.
        """
        try:
            report = self._pipeline.sweep()
        except OperationalError as exc:
            if not self._unreachable:
                log.warning("silence sweep waiting for the database: %s", exc.orig)
            self._unreachable = True
            return None
        if self._unreachable:
            log.info("silence sweep reached the database again")
            self._unreachable = False
        return report

    def start(self) -> None:
        """Start sweeping in a daemon thread."""
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="coherence-silence", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop sweeping and wait for a sweep under way to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            try:
                self.sweep()
            except Exception:
                # The sweeper must outlive a bad row; the next second retries.
                log.exception("silence sweep failed")
