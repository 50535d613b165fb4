"""Exercise state changes: start, step the clock, end; and how exercise pages are routed."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.exercises import domain, repository, scenario
from coherence.exercises.domain import ActiveComplication, ClockMode, Complication, Segment
from coherence.exercises.models import Exercise, ExerciseIncident, ExerciseInject
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Kind
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

RUNNING, ENDED = repository.RUNNING, "ended"


def subject_of(exercise: Exercise) -> str:
    """The ledger subject of an exercise."""
    return f"exercise:{exercise.id}"


def get_or_raise(session: Session, ref: str | int, *, for_update: bool = False) -> Exercise:
    """An exercise by id or reference (EX-00003), or NotFound naming the field."""
    exercise_id = ref if isinstance(ref, int) else domain.parse_reference(ref)
    found = repository.get(session, exercise_id, for_update=for_update) if exercise_id else None
    if found is None:
        raise NotFound(f"no exercise {ref!r}; see `coherence exercise list`", field="exercise")
    return found


def list_exercises(session: Session) -> Sequence[Exercise]:
    """Exercises, newest first."""
    return repository.list_all(session)


def segments_of(exercise: Exercise) -> list[Segment]:
    """The exercise clock's segments."""
    return [Segment.from_json(s) for s in exercise.segments]


def elapsed(exercise: Exercise, now: datetime) -> float:
    """Exercise seconds at wall time ``now``."""
    return domain.elapsed_at(segments_of(exercise), now)


def start(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> Exercise:
    """Check a scenario and start a run of it at exercise time 0; injects wait to be fired."""
    checked = scenario.check(session, data, source=source)
    document = checked.document
    now = clock.now()
    mode = document.clock.mode
    exercise = Exercise(
        key=document.key,
        title=document.title,
        scenario=document.model_dump(mode="json"),
        playbook_key=checked.playbook.key,
        playbook_version=checked.playbook.version,
        site=document.site,
        mode=mode.value,
        speed=document.clock.speed,
        page_real=document.page_real_recipients,
        status=RUNNING,
        segments=[Segment(now, 0.0, domain.rate_of(mode, document.clock.speed)).as_json()],
        steps=checked.steps,
        targets=checked.targets,
        started_at=now,
        started_by=actor,
    )
    ordered = sorted(enumerate(document.injects), key=lambda pair: (pair[1].at_minutes, pair[0]))
    for position, (_index, inject) in enumerate(ordered):
        exercise.injects.append(
            ExerciseInject(
                position=position,
                at_seconds=inject.at_minutes * 60,
                kind=inject.kind,
                title=inject.title,
                spec=inject.model_dump(mode="json"),
                status="pending",
                result={},
            )
        )
    session.add(exercise)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.EXERCISE_STARTED,
        actor=actor,
        subject=subject_of(exercise),
        payload={
            "exercise": exercise.id,
            "scenario": document.key,
            "playbook": checked.playbook.key,
            "playbook_version": checked.playbook.version,
            "mode": mode.value,
            "speed": document.clock.speed,
            "page_real_recipients": document.page_real_recipients,
            "injects": len(document.injects),
            "source": source,
        },
    )
    return exercise


def step_clock(
    session: Session, *, clock: Clock, ref: str | int, minutes: float | None, actor: str
) -> Exercise:
    """Step a stepped clock on by ``minutes``, or to the next pending inject without them."""
    exercise = _running(session, ref)
    if exercise.mode != ClockMode.STEPPED.value:
        if minutes is not None:
            raise Conflict(
                f"this exercise's clock runs {exercise.mode}; it cannot be stepped by minutes",
                field="minutes",
            )
        return exercise
    now = clock.now()
    was = elapsed(exercise, now)
    if minutes is None:
        pending = [i.at_seconds for i in exercise.injects if i.status == "pending"]
        if not pending:
            raise Conflict(
                "every inject has fired; step on by minutes or end the exercise", field="minutes"
            )
        to = max(min(pending), was)
        if to <= was:
            return exercise
    else:
        to = was + minutes * 60
    exercise.segments = [s.as_json() for s in domain.stepped(segments_of(exercise), now=now, to=to)]
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.EXERCISE_ADVANCED,
        actor=actor,
        subject=subject_of(exercise),
        payload={"exercise": exercise.id, "from_minutes": was / 60, "to_minutes": to / 60},
    )
    return exercise


def end(session: Session, *, clock: Clock, ref: str | int, actor: str, note: str) -> Exercise:
    """End a run: stop its clock; pending injects never fire."""
    exercise = _running(session, ref)
    now = clock.now()
    link_incidents(session, clock=clock, exercise=exercise)
    exercise.segments = [s.as_json() for s in domain.frozen(segments_of(exercise), now=now)]
    exercise.status, exercise.ended_at, exercise.ended_by = ENDED, now, actor
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.EXERCISE_ENDED,
        actor=actor,
        subject=subject_of(exercise),
        payload={
            "exercise": exercise.id,
            "at_minutes": elapsed(exercise, now) / 60,
            "unfired": sum(1 for i in exercise.injects if i.status == "pending"),
            "note": note,
        },
    )
    return exercise


def _running(session: Session, ref: str | int) -> Exercise:
    exercise = get_or_raise(session, ref, for_update=True)
    if exercise.status != RUNNING:
        raise Conflict(f"{domain.reference(exercise.id)} has ended", field="exercise")
    return exercise


def link(
    session: Session, *, clock: Clock, exercise: Exercise, incident_ids: Sequence[int]
) -> None:
    """Record incidents as the exercise's own (an incident already held stays where it is)."""
    held = {link.incident_id for link in exercise.links}
    for incident_id in incident_ids:
        if incident_id in held or repository.of_incident(session, incident_id) is not None:
            continue
        incident = incidents_service.get(session, incident_id)
        if incident is None or incident.kind != Kind.EXERCISE.value:
            raise ValidationFailed(f"incident {incident_id} is not an exercise", field="incident")
        exercise.links.append(ExerciseIncident(incident_id=incident_id, linked_at=clock.now()))
        held.add(incident_id)
    session.flush()


def link_incidents(session: Session, *, clock: Clock, exercise: Exercise) -> None:
    """Adopt exercise incidents opened by hand on the scenario's assets during the run."""
    found = repository.unclaimed_drills(
        session, assets=exercise.scenario.get("assets", []), since=exercise.started_at
    )
    link(session, clock=clock, exercise=exercise, incident_ids=[i.id for i in found])


def complications(exercise: Exercise) -> list[ActiveComplication]:
    """The complications the exercise has fired, each with when it lapses."""
    found = []
    for inject in exercise.injects:
        if inject.kind != "complication" or inject.status != "fired":
            continue
        spec = inject.spec
        lasts = spec.get("lasts_minutes")
        start_at = inject.fired_seconds or inject.at_seconds
        found.append(
            ActiveComplication(
                kind=Complication(spec["complication"]),
                channel=spec.get("channel"),
                people=frozenset(inject.result.get("people", [])),
                part=spec.get("part"),
                until=None if lasts is None else start_at + float(lasts) * 60,
            )
        )
    return found


def back_ordered_parts(session: Session, *, clock: Clock, incident_id: int) -> frozenset[str]:
    """Parts the running exercise of ``incident_id`` has declared back-ordered, now in force.

    Empty for a real incident: only a drill's own recovery plan pretends its spares are gone.
    """
    incident = incidents_service.get(session, incident_id)
    if incident is None or incident.kind != Kind.EXERCISE.value:
        return frozenset()
    exercise = repository.of_incident(session, incident_id)
    if exercise is None or exercise.status != RUNNING:
        return frozenset()
    in_force = domain.active(complications(exercise), at=elapsed(exercise, clock.now()))
    return frozenset(
        c.part for c in in_force if c.kind is Complication.SPARE_BACKORDERED and c.part
    )


def rehearsed_contacts(
    session: Session,
    *,
    clock: Clock,
    incident_id: int,
    person: str,
    contacts: Sequence[Mapping[str, Any]],
) -> list[dict[str, Any]]:
    """Where a page about ``incident_id`` goes: unchanged for real incidents; for an
    exercise's, the exercise channel (or real contacts if the scenario says so), with the
    exercise's complications in force. An exercise incident of no running exercise never
    reaches real contacts."""
    incident = incidents_service.get(session, incident_id)
    if incident is None or incident.kind != Kind.EXERCISE.value:
        return [dict(c) for c in contacts]
    exercise = repository.of_incident(session, incident_id) or repository.running_on(
        session, incident.asset.key
    )
    if exercise is None:
        return domain.rehearsed(contacts, person=person, page_real=False, complications=[])
    in_force = []
    if exercise.status == RUNNING:
        in_force = domain.active(complications(exercise), at=elapsed(exercise, clock.now()))
    return domain.rehearsed(
        contacts, person=person, page_real=exercise.page_real, complications=in_force
    )
