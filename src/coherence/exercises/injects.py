"""Firing injects: claim the due ones, then record what each did, on the incident's timeline."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.clock import Clock
from coherence.comms import service as comms_service
from coherence.errors import NotFound
from coherence.exercises import domain, repository, service
from coherence.exercises.models import Exercise, ExerciseInject
from coherence.exercises.scenario import sample_data
from coherence.exercises.schemas import TelemetryInject
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType


@dataclass(frozen=True)
class Job:
    """A claimed inject, copied out of its transaction; telemetry carries its readings."""

    inject_id: int
    exercise_id: int
    kind: str
    samples: list[dict[str, Any]] = field(default_factory=list)
    # Readings of earlier telemetry injects, to rebuild the detector's memory first.
    history: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class Fed:
    """What the detector made of a telemetry inject."""

    accepted: int
    rejected: list[str]
    opened: list[int]
    updated: list[int]


def claim_due(session: Session, *, clock: Clock, ref: str | int) -> list[Job]:
    """Mark every inject the exercise clock has reached as fired and return them in order."""
    exercise = service.get_or_raise(session, ref, for_update=True)
    if exercise.status != service.RUNNING:
        return []
    now = clock.now()
    at = service.elapsed(exercise, now)
    jobs = []
    for inject in exercise.injects:
        if inject.status != "pending" or inject.at_seconds > at:
            continue
        inject.status, inject.fired_at, inject.fired_seconds = "fired", now, at
        samples: list[dict[str, Any]] = []
        history: list[dict[str, Any]] = []
        if inject.kind == "telemetry":
            history = _earlier_readings(exercise, inject)
            samples = _readings(exercise, inject, now, history)
            inject.result = {"samples": samples}
        jobs.append(Job(inject.id, exercise.id, inject.kind, samples, history))
    session.flush()
    return jobs


def _earlier_readings(exercise: Exercise, inject: ExerciseInject) -> list[dict[str, Any]]:
    return [
        sample
        for other in exercise.injects
        if other.kind == "telemetry" and other.status == "fired" and other.id != inject.id
        for sample in other.result.get("samples", [])
    ]


def _readings(
    exercise: Exercise, inject: ExerciseInject, now: datetime, history: Sequence[dict[str, Any]]
) -> list[dict[str, Any]]:
    spec = TelemetryInject.model_validate(inject.spec)
    series = [
        s["timestamp"] for s in history if s["asset"] == spec.asset and s["metric"] == spec.metric
    ]
    times = domain.sample_times(
        len(spec.values),
        every=spec.every_seconds,
        now=now.timestamp(),
        after=max(series) if series else None,
    )
    return [
        sample_data(spec, site=exercise.site, value=value, timestamp=stamp)
        for value, stamp in zip(spec.values, times, strict=True)
    ]


def record(
    session: Session,
    *,
    clock: Clock,
    job: Job,
    actor: str,
    fed: Fed | None = None,
    failure: str | None = None,
) -> ExerciseInject:
    """Record what a fired inject did and put it on the timeline of the exercise's incident."""
    exercise = service.get_or_raise(session, job.exercise_id, for_update=True)
    inject = repository.get_inject(session, job.inject_id)
    if inject is None:
        raise NotFound(f"no inject {job.inject_id}", field="inject")
    result = dict(inject.result)
    if fed is not None:
        result |= {
            "accepted": fed.accepted,
            "rejected": fed.rejected,
            "opened": fed.opened,
            "updated": fed.updated,
        }
        service.link(session, clock=clock, exercise=exercise, incident_ids=fed.opened + fed.updated)
    service.link_incidents(session, clock=clock, exercise=exercise)
    if failure is not None:
        inject.status = "failed"
        result["detail"] = failure
    incident_id = _incident_of(exercise, fed)
    if inject.kind == "message" and failure is None:
        result["detail"] = _deliver_message(session, clock, inject, incident_id, actor)
    if inject.kind == "complication":
        result |= _complication(session, clock, exercise, inject)
    inject.result = result
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.EXERCISE_INJECTED,
        actor=actor,
        subject=service.subject_of(exercise),
        incident_id=incident_id,
        payload=_payload(exercise, inject),
    )
    return inject


def _incident_of(exercise: Exercise, fed: Fed | None) -> int | None:
    if fed is not None and (fed.opened or fed.updated):
        return (fed.opened + fed.updated)[0]
    return exercise.links[0].incident_id if exercise.links else None


def _payload(exercise: Exercise, inject: ExerciseInject) -> dict[str, Any]:
    spec, result = inject.spec, inject.result
    payload: dict[str, Any] = {
        "exercise": domain.reference(exercise.id),
        "inject": inject.title,
        "kind": inject.kind,
        "at_minutes": (inject.fired_seconds or 0.0) / 60,
        "status": inject.status,
    }
    if inject.kind == "message":
        payload |= {"from": spec["sender"], "to_role": spec.get("to_role"), "text": spec["text"]}
    elif inject.kind == "complication":
        payload |= {k: spec[k] for k in ("complication", "channel", "role", "part") if spec.get(k)}
        payload["lasts_minutes"] = spec.get("lasts_minutes")
    else:
        payload |= {
            "asset": spec["asset"],
            "metric": spec["metric"],
            "accepted": result.get("accepted", 0),
            "opened": [reference(i) for i in result.get("opened", [])],
        }
    if result.get("detail"):
        payload["detail"] = result["detail"]
    return payload


def _deliver_message(
    session: Session, clock: Clock, inject: ExerciseInject, incident_id: int | None, actor: str
) -> str:
    """Page the role the message reaches on the exercise's incident, if it has a holder."""
    role = inject.spec.get("to_role")
    if role is None:
        return "recorded on the timeline"
    if incident_id is None:
        return f"no exercise incident yet: the {role.replace('_', ' ')} was not paged"
    incident = incidents_service.get_or_raise(session, incident_id)
    holder = next((r.person for r in incident.roles if r.role == role), None)
    if holder is None:
        return f"nobody holds {role.replace('_', ' ')} on {reference(incident_id)}"
    comms_service.enqueue(
        session,
        clock=clock,
        person=holder,
        subject=f"EXERCISE - {reference(incident_id)} inject: {inject.title}",
        body=f"From {inject.spec['sender']}:\n\n{inject.spec['text']}",
        reason="exercise:inject",
        actor=actor,
        incident_id=incident_id,
    )
    return f"paged {holder.key} ({role.replace('_', ' ')})"


def _complication(
    session: Session, clock: Clock, exercise: Exercise, inject: ExerciseInject
) -> dict[str, Any]:
    """Who a role-unreachable complication cuts off: the role's holders now, else on call."""
    spec = inject.spec
    if spec["complication"] == domain.Complication.SPARE_BACKORDERED.value:
        return {"detail": f"spare {spec['part']} announced as back-ordered"}
    if spec["complication"] == domain.Complication.CHANNEL_DOWN.value:
        return {"detail": f"{spec['channel']} fails for this exercise's pages"}
    role = spec["role"]
    people = sorted(
        {
            r.person.key
            for link in exercise.links
            for r in incidents_service.get_or_raise(session, link.incident_id).roles
            if r.role == role
        }
    )
    if not people:
        site = catalog_service.get_site_or_raise(session, exercise.site)
        on_call = catalog_service.on_call(
            session, site=site, role=IcsRole(role), at=clock.now().astimezone(UTC)
        )
        people = [on_call.key] if on_call else []
    named = ", ".join(people) or "nobody on call"
    return {"people": people, "detail": f"{named} cannot be reached for this exercise"}
