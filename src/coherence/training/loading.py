"""Loading training documents: a curriculum, and a file of records; all or nothing."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.training import domain, reminders, repository, service
from coherence.training.models import CurriculumVersion
from coherence.training.schemas import (
    CurriculumDocument,
    CurriculumLoaded,
    RecordsDocument,
    RecordsLoaded,
)


def load_curriculum(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> CurriculumLoaded:
    """Validate a curriculum and make it the one in force; the same document changes nothing."""
    document = validate_document(CurriculumDocument, data, source=source)
    published = {p.key for p in playbooks_service.list_latest(session)}
    problems = document.problems() + [
        {"path": f"courses[{i}].playbook", "message": f"no published playbook {c.playbook!r}"}
        for i, c in enumerate(document.courses)
        if c.playbook is not None and c.playbook not in published
    ]
    if problems:
        raise problems_error(source, problems)
    stored = document.model_dump(mode="json")
    latest = repository.current_curriculum(session)
    if latest is not None and latest.document == stored:
        return CurriculumLoaded(
            version=latest.version, changed=False, courses=len(document.courses)
        )
    row = CurriculumVersion(
        version=latest.version + 1 if latest else 1,
        document=stored,
        source=source[:200],
        loaded_at=clock.now(),
        loaded_by=actor,
    )
    session.add(row)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.CURRICULUM_LOADED,
        actor=actor,
        subject=f"curriculum:{row.version}",
        payload={
            "version": row.version,
            "source": source,
            "courses": [c.key for c in document.courses],
            "checked_roles": document.checked_roles,
            "reminder_days": document.reminder_days,
        },
    )
    session.flush()
    curriculum = service.parse(row)
    for person in repository.people_with_records(session):
        reminders.plan(session, clock=clock, person=person, curriculum=curriculum)
    return CurriculumLoaded(version=row.version, changed=True, courses=len(document.courses))


def load_records(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> RecordsLoaded:
    """Add the records of a file that are not held yet; any problem changes nothing."""
    _row, curriculum = service.current_or_raise(session)
    document = validate_document(RecordsDocument, data, source=source)
    people = {p.key: p for p in catalog_service.list_people(session)}
    today = clock.now().date()
    problems: list[dict[str, str]] = []
    for index, c in enumerate(document.completions):
        where = f"completions[{index}]"
        if c.person not in people:
            problems.append({"path": f"{where}.person", "message": f"no person {c.person!r}"})
        if c.course not in curriculum.courses:
            problems.append({"path": f"{where}.course", "message": f"no course {c.course!r}"})
        if c.completed_on > today:
            problems.append({"path": f"{where}.completed_on", "message": "is in the future"})
    for index, e in enumerate(document.exercises):
        where = f"exercises[{index}]"
        if e.person not in people:
            problems.append({"path": f"{where}.person", "message": f"no person {e.person!r}"})
        drill = curriculum.courses.get(e.drill or "")
        if e.drill is not None and (drill is None or drill.kind is not domain.CourseKind.DRILL):
            problems.append({"path": f"{where}.drill", "message": f"no drill {e.drill!r}"})
        if e.completed_on > today:
            problems.append({"path": f"{where}.completed_on", "message": "is in the future"})
    if problems:
        raise problems_error(source, problems)
    pending = [(c.person, service.completion_values(c)) for c in document.completions] + [
        (e.person, service.participation_values(e)) for e in document.exercises
    ]
    created = 0
    for key, values in pending:
        person = people[key]
        held = repository.same_record(
            session,
            person_id=person.id,
            kind=values["kind"],
            course=values["course"],
            exercise=values["exercise"],
            completed_on=values["completed_on"],
        )
        if held is None:
            service.add_record(
                session,
                clock=clock,
                person=person,
                curriculum=curriculum,
                actor=actor,
                source=source,
                **values,
            )
            created += 1
    return RecordsLoaded(created=created, unchanged=len(pending) - created)
