"""Training as the API shows it: the curriculum, a person's record, and readiness per site."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.training import domain, readiness, repository, service
from coherence.training.models import CurriculumVersion, TrainingRecord
from coherence.training.schemas import (
    CourseRead,
    CurriculumDocument,
    CurriculumRead,
    LapsedCourse,
    OnCallGap,
    PersonTraining,
    QualificationRead,
    ReadinessRead,
    RecordRead,
    RoleReadinessRead,
    ShiftRead,
)


def curriculum_read(row: CurriculumVersion) -> CurriculumRead:
    """The curriculum in force, as stored."""
    document = CurriculumDocument.model_validate(row.document)
    return CurriculumRead(
        version=row.version,
        source=row.source,
        loaded_at=row.loaded_at,
        loaded_by=row.loaded_by,
        checked_roles=list(document.checked_roles),
        facility_roles=list(document.facility_roles),
        reminder_days=list(document.reminder_days),
        courses=[
            CourseRead(
                key=c.key,
                title=c.title,
                kind=c.kind.value,
                qualifies_for=list(c.qualifies_for),
                validity_days=c.validity_days,
                pass_score=c.pass_score,
                playbook=c.playbook,
                description=c.description,
            )
            for c in document.courses
        ],
    )


def record_read(record: TrainingRecord) -> RecordRead:
    """One training record."""
    return RecordRead(
        id=record.id,
        person=record.person.key,
        kind=record.kind,
        course=record.course,
        exercise=record.exercise,
        role_played=record.role_played,
        score=record.score,
        completed_on=record.completed_on,
        assessor=record.assessor,
        evidence=record.evidence,
        recorded_at=record.recorded_at,
        recorded_by=record.recorded_by,
    )


def qualification_read(found: domain.Qualification, *, checked: bool) -> QualificationRead:
    """A person's standing for one role."""
    return QualificationRead(
        role=found.role,
        standing=found.standing.value,
        expires_on=found.expires_on,
        missing=list(found.missing),
        lapsed=[LapsedCourse(course=c, lapsed_on=d) for c, d in found.lapsed],
        renew=list(found.renew),
        checked=checked,
    )


def person_training(session: Session, *, person_key: str, now: datetime) -> PersonTraining:
    """A person's records, oldest first, and every role's qualification as they stand now."""
    _row, curriculum = service.current_or_raise(session)
    person = catalog_service.get_person_or_raise(session, person_key, field="key")
    records = repository.records_of(session, [person.id])
    held = domain.qualifications(curriculum, service.entries(records), now.date())
    return PersonTraining(
        person=person.key,
        name=person.name,
        roles=list(person.roles),
        qualifications=[
            qualification_read(q, checked=q.role in curriculum.checked_roles) for q in held.values()
        ],
        records=[record_read(r) for r in records],
    )


def _shift_read(shift: readiness.Shift) -> ShiftRead:
    return ShiftRead(
        rotation=shift.rotation,
        starts_at=shift.starts_at,
        ends_at=shift.ends_at,
        on_call=shift.on_call,
        on_call_qualified=shift.on_call_qualified,
        qualified=list(shift.qualified),
        depth=shift.depth,
        fragile=shift.fragile,
    )


def _status(found: readiness.RoleReadiness) -> str:
    if not found.rotations:
        return "no_rotation"
    if found.gaps:
        return "gap"
    return "fragile" if found.fragile else "ready"


def role_read(found: readiness.RoleReadiness) -> RoleReadinessRead:
    """One checked role at one site, with the shifts that need attention."""
    return RoleReadinessRead(
        site=found.site,
        role=found.role,
        status=_status(found),
        rotations=list(found.rotations),
        borrowed=found.borrowed,
        min_depth=found.min_depth,
        shifts=len(found.shifts),
        gaps=len(found.gaps),
        fragile_shifts=len(found.fragile),
        problem_shifts=[
            _shift_read(s) for s in found.shifts if s.fragile or not s.on_call_qualified
        ],
    )


def _gap_problem(held: domain.Qualification | None, role: str, shift: readiness.Shift) -> str:
    early = domain.problem(held, role, at=shift.starts_at)
    if early is not None or held is None:
        return early or ""
    return f"{role.replace('_', ' ')} qualification lapses on {held.expires_on}, during the shift"


def build_readiness(
    session: Session, *, now: datetime, days: int, site: str | None = None
) -> ReadinessRead:
    """For each site and checked role: shift by shift over ``days``, who is on call, whether
    they are qualified, and how many qualified people could take the shift."""
    _row, curriculum = service.current_or_raise(session)
    sites = (
        [catalog_service.get_site_or_raise(session, site).key]
        if site
        else [s.key for s in catalog_service.list_sites(session)]
    )
    rosters = [
        readiness.Roster(
            r.key,
            r.site.key,
            r.role,
            tuple(m.person.key for m in r.members),
            r.starts_at,
            timedelta(hours=r.shift_hours),
        )
        for r in catalog_service.list_rotations(session)
    ]
    covers = [
        readiness.Cover(o.rotation.key, o.person.key, o.starts_at, o.ends_at)
        for o in sorted(catalog_service.list_overrides(session, now=now), key=lambda o: o.id)
    ]
    held = service.qualifications_by_person(session, curriculum, now=now)

    def qualified(person: str, role: str, _start: datetime, end: datetime) -> bool:
        found = held.get(person, {}).get(role)
        return found is not None and found.valid_at(end - timedelta(microseconds=1))

    until = now + timedelta(days=days)
    roles = sorted(curriculum.checked_roles)
    found = readiness.readiness(sites, roles, rosters, covers, qualified, now=now, until=until)
    gaps: dict[tuple[str, datetime], OnCallGap] = {}
    for item in found:
        for shift in item.gaps:
            gaps[(shift.rotation, shift.starts_at)] = OnCallGap(
                rotation=shift.rotation,
                site=next(r.site for r in rosters if r.key == shift.rotation),
                role=item.role,
                person=shift.on_call,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                problem=_gap_problem(held.get(shift.on_call, {}).get(item.role), item.role, shift),
            )
    return ReadinessRead(
        at=now,
        until=until,
        checked_roles=roles,
        roles=[role_read(item) for item in found],
        on_call_gaps=sorted(gaps.values(), key=lambda g: (g.starts_at, g.rotation)),
    )
