"""Running an exercise: each step is its own transactions, because telemetry injects go
through the real detector, which opens incidents in transactions of its own."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import Clock
from coherence.db import session_scope
from coherence.detection import formats
from coherence.detection.pipeline import Pipeline
from coherence.detection.samples import Sample
from coherence.errors import CoherenceError
from coherence.evidence.store import ContentStore
from coherence.exercises import domain, injects, service
from coherence.exercises.models import Exercise
from coherence.incidents.domain import Kind

# How long `run` sleeps at most before looking again (the director may end the exercise).
POLL_SECONDS = 5.0

Sleep = Callable[[float], None]


class Runner:
    """Starts, steps and ends exercises against one database."""

    def __init__(
        self, factory: sessionmaker[Session], *, clock: Clock, store: ContentStore | None = None
    ) -> None:
        self._factory = factory
        self._clock = clock
        self._store = store

    def start(self, *, data: dict[str, Any], actor: str, source: str) -> int:
        """Start a run of a scenario and fire what is due at time 0; return its id."""
        with session_scope(self._factory) as session:
            exercise_id = service.start(
                session, clock=self._clock, data=data, actor=actor, source=source
            ).id
        self.fire_due(exercise_id, actor=actor)
        return exercise_id

    def advance(self, ref: str | int, *, minutes: float | None, actor: str) -> int:
        """Step a stepped clock (to the next inject, or on by minutes) and fire what is due."""
        with session_scope(self._factory) as session:
            exercise_id = service.step_clock(
                session, clock=self._clock, ref=ref, minutes=minutes, actor=actor
            ).id
        self.fire_due(exercise_id, actor=actor)
        return exercise_id

    def end(self, ref: str | int, *, actor: str, note: str) -> int:
        """End a run."""
        with session_scope(self._factory) as session:
            return service.end(session, clock=self._clock, ref=ref, actor=actor, note=note).id

    def fire_due(self, ref: str | int, *, actor: str) -> int:
        """Fire every inject the clock has reached; return how many fired."""
        with session_scope(self._factory) as session:
            jobs = injects.claim_due(session, clock=self._clock, ref=ref)
        for job in jobs:
            fed, failure = None, None
            if job.kind == "telemetry":
                try:
                    fed = self._feed(job)
                except CoherenceError as exc:
                    failure = exc.message
            with session_scope(self._factory) as session:
                injects.record(
                    session, clock=self._clock, job=job, actor=actor, fed=fed, failure=failure
                )
        return len(jobs)

    def run(self, ref: str | int, *, actor: str, sleep: Sleep) -> int:
        """Fire injects as an accelerated or real-time clock reaches them, until every inject
        has fired or the exercise ends; return how many fired."""
        fired = 0
        while True:
            fired += self.fire_due(ref, actor=actor)
            with session_scope(self._factory) as session:
                exercise = service.get_or_raise(session, ref)
                wait = self._wait(exercise)
            if wait is None:
                return fired
            sleep(min(wait, POLL_SECONDS))

    def _wait(self, exercise: Exercise) -> float | None:
        """Seconds until the next inject is due; None when there is nothing left to wait for."""
        pending = [i.at_seconds for i in exercise.injects if i.status == "pending"]
        if exercise.status != service.RUNNING or not pending:
            return None
        due = domain.wall_for(service.segments_of(exercise), min(pending))
        if due is None:
            return None
        return max(0.0, (due - self._clock.now()).total_seconds())

    def _feed(self, job: injects.Job) -> injects.Fed:
        pipeline = Pipeline(
            self._factory,
            clock=self._clock,
            store=self._store,
            kind=Kind.EXERCISE,
            scope=f"exercise-{job.exercise_id}/",
        )
        pipeline.prime(_samples(job.history))
        report = pipeline.ingest(_samples(job.samples))
        return injects.Fed(
            accepted=report.accepted,
            rejected=[f"reading {r.index}: {r.message}" for r in report.rejected],
            opened=list(report.opened),
            updated=list(report.updated),
        )


def _samples(rows: list[dict[str, Any]]) -> list[Sample]:
    parsed = [formats.parse_item(row) for row in rows]
    return [p for p in parsed if isinstance(p, Sample)]
