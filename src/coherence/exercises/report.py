"""The after-action report: what happened, gathered from the incidents' records, and scored."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from coherence.clock import Clock, as_utc
from coherence.comms import statements_service
from coherence.comms.statements import LAY_AUDIENCES, Audience
from coherence.exercises import domain, scoring, service
from coherence.exercises.domain import Milestone
from coherence.exercises.models import Exercise
from coherence.incidents import service as incidents_service
from coherence.incidents import views as incident_views
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.incidents.schemas import TimelineEntry

# Entries that are not a person acting on the incident (the system, the exercise director).
NOT_ACTING = frozenset(
    {
        "incident:opened",
        "incident:escalated",
        "incident:reclassified",
        "task:overdue",
        "statement:due",
    }
)
NOT_ACTING_SUBJECTS = frozenset({"exercise", "notification", "signal", "evidence"})
# Timeline entries worth a mark on the chart, and how each is labelled.
CHARTED = {
    "incident:opened": "detected",
    "incident:acknowledged": "acknowledged",
    "incident:transitioned": "phase",
    "role:assigned": "role",
    "task:completed": "task",
    "decision:recorded": "decision",
    "statement:issued": "statement",
    "notification:failed": "page failed",
}


@dataclass(frozen=True)
class Event:
    """One mark on the exercise timeline."""

    at: float
    kind: str
    label: str


@dataclass(frozen=True)
class Report:
    """Everything the after-action report shows."""

    reference: str
    title: str
    scenario: str
    playbook: str
    mode: str
    status: str
    started_at: datetime
    ended_at: datetime | None
    now: float
    incidents: tuple[str, ...]
    events: tuple[Event, ...]
    score: scoring.Score


def build(session: Session, *, clock: Clock, ref: str | int) -> Report:
    """Gather the exercise's record and score it."""
    exercise = service.get_or_raise(session, ref)
    segments = service.segments_of(exercise)

    def at(wall: datetime) -> float:
        return domain.elapsed_at(segments, as_utc(wall)) / 60

    now = at(exercise.ended_at or clock.now())
    incidents = [
        incidents_service.get_or_raise(session, link.incident_id) for link in exercise.links
    ]
    main = next((i for i in incidents if i.playbook_key == exercise.playbook_key), None)
    main = main or (incidents[0] if incidents else None)
    entries = {i.id: incident_views.timeline(session, i.id, limit=10_000) for i in incidents}
    events = [
        Event(inject.fired_seconds / 60, "inject", f"{inject.kind}: {inject.title}")
        for inject in exercise.injects
        if inject.fired_seconds is not None
    ]
    events += [
        Event(at(e.at), CHARTED[e.type], _label(e))
        for listed in entries.values()
        for e in listed
        if e.type in CHARTED
    ]
    facts = scoring.Facts(
        steps=tuple(
            scoring.StepPlan(s["key"], s["title"], s["role"], s["due_minutes"], tuple(s["after"]))
            for s in exercise.steps
        ),
        targets=dict(exercise.targets),
        onset=_onset(exercise),
        milestones=_milestones(main, entries.get(main.id, []) if main else [], at),
        tasks={
            t.step_key: scoring.TaskFact(
                t.status, at(t.completed_at) if t.completed_at else None, t.completed_by
            )
            for t in (main.tasks if main else [])
            if t.step_key
        },
        now=now,
        sent=tuple(_sent(session, incidents, at)),
        decisions=tuple(
            scoring.Decision(
                str(e.payload.get("decision", "")),
                str(e.payload.get("rationale", "")),
                str(e.payload.get("decided_by", e.actor)),
                at(e.at),
            )
            for listed in entries.values()
            for e in listed
            if e.type == "decision:recorded"
        ),
    )
    return Report(
        reference=domain.reference(exercise.id),
        title=exercise.title,
        scenario=exercise.key,
        playbook=f"{exercise.playbook_key} v{exercise.playbook_version}",
        mode=exercise.mode
        if exercise.mode != "accelerated"
        else f"accelerated x{exercise.speed:g}",
        status=exercise.status,
        started_at=exercise.started_at,
        ended_at=exercise.ended_at,
        now=now,
        incidents=tuple(reference(i.id) for i in incidents),
        events=tuple(sorted(events, key=lambda e: e.at)),
        score=scoring.score(facts),
    )


def _onset(exercise: Exercise) -> float | None:
    fired = [
        i.fired_seconds / 60
        for i in exercise.injects
        if i.kind == "telemetry" and i.fired_seconds is not None
    ]
    return min(fired) if fired else None


def _milestones(
    incident: Incident | None, entries: list[TimelineEntry], at: Callable[[datetime], float]
) -> dict[str, float | None]:
    if incident is None:
        return {}

    def stamp(value: datetime | None) -> float | None:
        return None if value is None else at(value)

    return {
        Milestone.DETECTED.value: stamp(incident.detected_at),
        Milestone.ACKNOWLEDGED.value: stamp(incident.acknowledged_at),
        Milestone.IC_ASSIGNED.value: stamp(_commander_in_place(entries)),
        Milestone.CONTAINED.value: stamp(incident.contained_at),
        Milestone.RESOLVED.value: stamp(incident.resolved_at),
    }


def _commander_in_place(entries: list[TimelineEntry]) -> datetime | None:
    """When a commander was in place: a person given the role, or the on-call commander
    staffed at opening acting on the incident for the first time."""
    opened = next((e for e in entries if e.type == "incident:opened"), None)
    staffed = (opened.payload.get("roles") or {}).get("incident_commander") if opened else None
    for entry in entries:
        if entry.type == "role:assigned" and entry.payload.get("role") == "incident_commander":
            return entry.at
        acting = entry.type not in NOT_ACTING
        acting = acting and entry.type.partition(":")[0] not in NOT_ACTING_SUBJECTS
        if staffed is not None and entry.actor == staffed and acting:
            return entry.at
    return None


def _sent(
    session: Session, incidents: list[Incident], at: Callable[[datetime], float]
) -> list[scoring.Sent]:
    return [
        scoring.Sent(s.audience, s.title, s.body, at(s.issued_at))
        for incident in incidents
        for s in statements_service.statements_for_incident(session, incident.id)
        if s.withdraws_id is None and Audience(s.audience) in LAY_AUDIENCES
    ]


def _label(entry: TimelineEntry) -> str:
    p = entry.payload
    if entry.type == "task:completed":
        return f"{p.get('status')}: {p.get('title')} ({entry.actor})"
    if entry.type == "role:assigned":
        return f"{p.get('role')}: {p.get('person')}"
    if entry.type in ("incident:acknowledged", "incident:transitioned"):
        return f"{p.get('to')} ({entry.actor})"
    if entry.type == "decision:recorded":
        return f"{p.get('decision')} ({p.get('decided_by')})"
    if entry.type == "statement:issued":
        return f"to {p.get('audience')}: {p.get('title')}"
    if entry.type == "notification:failed":
        return f"page #{p.get('message_id')} failed on {', '.join(p.get('channels') or [])}"
    return str(p.get("title", entry.type))
