"""Training changes: the curriculum, people's records, and the check on role assignments.

Each change is validated, applied and ledgered in the caller's transaction.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import Conflict, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.settings import QualificationPolicy
from coherence.training import domain, reminders, repository
from coherence.training.models import CurriculumVersion, TrainingRecord
from coherence.training.schemas import (
    CompletionCreate,
    CurriculumDocument,
    ParticipationCreate,
)

NO_CURRICULUM = (
    "no training curriculum is loaded; load one with `coherence training curriculum load`"
)


def parse(row: CurriculumVersion) -> domain.Curriculum:
    """The rules' view of a stored curriculum document."""
    return CurriculumDocument.model_validate(row.document).curriculum()


def current(session: Session) -> tuple[CurriculumVersion, domain.Curriculum] | None:
    """The curriculum in force, stored and parsed, or None before any is loaded."""
    row = repository.current_curriculum(session)
    return (row, parse(row)) if row is not None else None


def current_or_raise(session: Session) -> tuple[CurriculumVersion, domain.Curriculum]:
    """The curriculum in force, or 409 saying how to load one."""
    found = current(session)
    if found is None:
        raise Conflict(NO_CURRICULUM, field="curriculum")
    return found


def _course_or_raise(curriculum: domain.Curriculum, key: str, field: str) -> domain.Course:
    course = curriculum.courses.get(key)
    if course is None:
        choices = ", ".join(sorted(curriculum.courses))
        raise ValidationFailed(f"no course {key!r} in the curriculum; use {choices}", field=field)
    return course


def _not_future(value: Any, now: datetime, field: str) -> None:
    if value > now.date():
        raise ValidationFailed(f"{field} {value} is in the future", field=field)


def add_record(
    session: Session,
    *,
    clock: Clock,
    person: Person,
    curriculum: domain.Curriculum,
    actor: str,
    source: str,
    **values: Any,
) -> TrainingRecord:
    """Add one record, ledger it and plan the person's reminders afresh."""
    record = TrainingRecord(
        person_id=person.id, recorded_at=clock.now(), recorded_by=actor, **values
    )
    session.add(record)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.TRAINING_RECORDED,
        actor=actor,
        subject=f"person:{person.key}",
        payload={
            "person": person.key,
            "kind": values["kind"],
            "course": values.get("course"),
            "exercise": values.get("exercise"),
            "role": values.get("role_played"),
            "score": values.get("score"),
            "completed_on": values["completed_on"].isoformat(),
            "assessor": values["assessor"],
            "source": source,
        },
    )
    session.flush()
    reminders.plan(session, clock=clock, person=person, curriculum=curriculum)
    return record


def completion_values(request: CompletionCreate) -> dict[str, Any]:
    """A completion as the record's column values."""
    return {
        "kind": domain.RecordKind.COMPLETION.value,
        "course": request.course,
        "exercise": None,
        "role_played": None,
        "score": None,
        "completed_on": request.completed_on,
        "assessor": request.assessor,
        "evidence": request.evidence,
    }


def participation_values(request: ParticipationCreate) -> dict[str, Any]:
    """An exercise participation as the record's column values."""
    return {
        "kind": domain.RecordKind.EXERCISE.value,
        "course": request.drill,
        "exercise": request.exercise,
        "role_played": request.role,
        "score": request.score,
        "completed_on": request.completed_on,
        "assessor": request.assessor,
        "evidence": request.evidence,
    }


def _check_drill(curriculum: domain.Curriculum, drill: str | None) -> None:
    if drill is None:
        return
    course = _course_or_raise(curriculum, drill, "drill")
    if course.kind is not domain.CourseKind.DRILL:
        raise ValidationFailed(
            f"{drill!r} is a course, not a drill: record it as a completion", field="drill"
        )


def record_completion(
    session: Session, *, clock: Clock, person_key: str, request: CompletionCreate, actor: str
) -> TrainingRecord:
    """Record that a person completed a course; their qualifications follow from it."""
    _row, curriculum = current_or_raise(session)
    person = catalog_service.get_person_or_raise(session, person_key, field="key")
    _course_or_raise(curriculum, request.course, "course")
    _not_future(request.completed_on, clock.now(), "completed_on")
    values = completion_values(request)
    return add_record(
        session,
        clock=clock,
        person=person,
        curriculum=curriculum,
        actor=actor,
        source="api",
        **values,
    )


def record_participation(
    session: Session, *, clock: Clock, person_key: str, request: ParticipationCreate, actor: str
) -> TrainingRecord:
    """Record a person's part in an exercise; naming a drill it passed renews that drill.

    The exercises capability (or a person, after a drill run elsewhere) records through this.
    """
    _row, curriculum = current_or_raise(session)
    person = catalog_service.get_person_or_raise(session, person_key, field="key")
    _check_drill(curriculum, request.drill)
    _not_future(request.completed_on, clock.now(), "completed_on")
    values = participation_values(request)
    return add_record(
        session,
        clock=clock,
        person=person,
        curriculum=curriculum,
        actor=actor,
        source="api",
        **values,
    )


def entries(records: Sequence[TrainingRecord]) -> list[domain.Entry]:
    """Records as the qualification rules read them."""
    return [
        domain.Entry(domain.RecordKind(r.kind), r.course, r.completed_on, r.score) for r in records
    ]


def qualifications_by_person(
    session: Session, curriculum: domain.Curriculum, *, now: datetime
) -> dict[str, dict[str, domain.Qualification]]:
    """Everyone's qualifications, by person key then role (people without records: none)."""
    grouped: dict[str, list[TrainingRecord]] = defaultdict(list)
    for record in repository.records_of(session):
        grouped[record.person.key].append(record)
    today = now.date()
    return {
        key: domain.qualifications(curriculum, entries(found), today)
        for key, found in grouped.items()
    }


def check_assignment(
    session: Session,
    *,
    clock: Clock,
    person: Person,
    role: str,
    incident_id: int,
    policy: QualificationPolicy,
    override_reason: str | None,
    actor: str,
) -> str | None:
    """Check giving ``role`` to ``person`` against the curriculum's checked roles.

    A qualified person (or an unchecked role) passes silently. Otherwise the facility's policy
    refuses the assignment (422 naming ``person``) unless an override reason is given, or lets
    it through with a warning; either way the ledger says who, what role and why. Returns the
    problem found, if any.
    """
    found = current(session)
    if found is None or role not in found[1].checked_roles:
        return None
    curriculum, now = found[1], clock.now()
    records = repository.records_of(session, [person.id])
    held = domain.qualifications(curriculum, entries(records), now.date()).get(role)
    problem = domain.problem(held, role, at=now)
    if problem is None:
        return None
    reason = (override_reason or "").strip()
    if len(reason) > 2000:
        raise ValidationFailed("override_reason is over 2000 characters", field="override_reason")
    if policy is QualificationPolicy.REFUSE and not reason:
        raise ValidationFailed(
            f"{person.key} {problem}; this facility refuses unqualified assignments: "
            "give override_reason saying why they must take the role anyway (it is recorded)",
            field="person",
        )
    payload: dict[str, Any] = {
        "person": person.key,
        "role": role,
        "problem": problem,
        "policy": policy.value,
    }
    if reason:
        payload["reason"] = reason
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.QUALIFICATION_OVERRIDDEN if reason else EntryType.QUALIFICATION_WARNED,
        actor=actor,
        subject=f"person:{person.key}",
        incident_id=incident_id,
        payload=payload,
    )
    return problem
