"""Run the simulator beside the server: the sample facility streams telemetry into the detector."""

from __future__ import annotations

import logging
import threading

from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.db import session_scope
from coherence.detection.pipeline import Pipeline
from coherence.detection.simulator import PROFILES, Simulator

log = logging.getLogger(__name__)


def parse_fault(text: str) -> tuple[str, str]:
    """Split `fault@asset` into its parts, saying what is wrong if it is not that shape."""
    fault, _, asset = text.partition("@")
    if not fault or not asset:
        raise ValueError(f"write a fault as NAME@ASSET, e.g. cooling-outage@fridge-1, not {text!r}")
    return fault, asset


class SimulationRunner:
    """Feeds one reading of every simulated asset to the pipeline every ``interval`` seconds."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        pipeline: Pipeline,
        *,
        clock: Clock,
        interval: float = 5.0,
        faults: tuple[tuple[str, str], ...] = (),
        fault_after: float = 60.0,
    ) -> None:
        with session_scope(factory) as session:
            assets = [
                (a.key, a.kind, a.site.key)
                for a in catalog_service.list_assets(session)
                if a.kind in PROFILES
            ]
        self.simulator = Simulator(assets, origin=clock.now().timestamp())
        start = clock.now().timestamp()
        for name, asset in faults:
            self.simulator.inject(name, asset, start + fault_after)
        self._pipeline = pipeline
        self._clock = clock
        self._interval = interval
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def tick(self) -> int:
        """Send one reading of everything; return how many samples were accepted."""
        report = self._pipeline.ingest(self.simulator.tick(self._clock.now().timestamp()))
        return report.accepted

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:
                # The simulation is a demonstration aid; it must never take the server down.
                log.exception("simulation tick failed")
            self._stop.wait(self._interval)

    def start(self) -> None:
        """Start streaming in a background thread."""
        self._thread = threading.Thread(target=self._loop, name="coherence-simulation", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop streaming."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
