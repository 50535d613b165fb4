"""Catalog state changes and the lookups other capabilities call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import repository
from coherence.catalog.domain import (
    IcsRole,
    RotationShape,
    next_handoff,
    on_call_member,
    override_problem,
)
from coherence.catalog.loading import KIND_MODELS, FacilityWriter
from coherence.catalog.models import (
    Asset,
    EscalationPolicy,
    OnCallOverride,
    Organisation,
    Person,
    Rotation,
    Site,
)
from coherence.catalog.rules import facility_problems
from coherence.catalog.schemas import FacilityDocument, LoadReport
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.errors import NotFound, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType


def load_facility(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> LoadReport:
    """Validate a whole facility document and upsert it; on any problem write nothing."""
    doc = validate_document(FacilityDocument, data, source=source)
    existing = {kind: repository.all_keys(session, model) for kind, model in KIND_MODELS.items()}
    problems = facility_problems(
        doc,
        existing,
        stored_edges=repository.dependency_edges(session),
        stored_roles={p.key: list(p.roles) for p in repository.list_all(session, Person)},
    )
    if problems:
        raise problems_error(source, problems)
    report = FacilityWriter(session).write(doc)
    if any(report.created.values()) or any(report.updated.values()):
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.FACILITY_LOADED,
            actor=actor,
            subject=f"facility:{source}",
            payload={"source": source, "created": report.created, "updated": report.updated},
        )
    return report


def get_asset_or_raise(session: Session, key: str, *, field: str = "asset") -> Asset:
    """Return the asset with ``key`` or raise NotFound naming the field."""
    asset = repository.by_key(session, Asset, key)
    if asset is None:
        raise NotFound(
            f"no asset with key {key!r}; list them with `coherence facility assets`", field=field
        )
    return asset


def get_person(session: Session, key: str) -> Person | None:
    """Return the person with ``key``, or None."""
    return repository.by_key(session, Person, key)


def get_person_or_raise(session: Session, key: str, *, field: str = "person") -> Person:
    """Return the person with ``key`` or raise NotFound naming the field."""
    person = get_person(session, key)
    if person is None:
        raise NotFound(f"no person with key {key!r}", field=field)
    return person


def on_call(session: Session, *, site: Site, role: IcsRole, at: datetime) -> Person | None:
    """Return who is on call for ``role`` at ``site``: the site's rotation, else any site's."""
    found = on_call_with_rotation(session, site=site, role=role, at=at)
    return found[0] if found else None


def on_call_with_rotation(
    session: Session, *, site: Site, role: IcsRole, at: datetime
) -> tuple[Person, Rotation] | None:
    """Return who is on call for ``role`` at ``site`` and the rotation that put them there."""
    found = on_call_detail(session, site=site, role=role, at=at)
    return (found.person, found.rotation) if found else None


@dataclass(frozen=True)
class OnCall:
    """Who is on call, from which rotation, until when, and whether they are covering."""

    person: Person
    rotation: Rotation
    until: datetime | None
    override: OnCallOverride | None


def on_call_detail(session: Session, *, site: Site, role: IcsRole, at: datetime) -> OnCall | None:
    """Resolve on-call at a moment: an override first, then the rotation's turn; this site's
    rotations before any other site's."""
    for rotations in (
        repository.rotations_for(session, site_id=site.id, role=role.value),
        repository.rotations_for_role(session, role=role.value),
    ):
        for rotation in rotations:
            override = repository.override_at(session, rotation_id=rotation.id, at=at)
            if override is not None:
                return OnCall(override.person, rotation, override.ends_at, override)
            shape = _shape(rotation)
            member_id = on_call_member(shape, at)
            if member_id is not None:
                person = next(m.person for m in rotation.members if m.person_id == member_id)
                return OnCall(person, rotation, next_handoff(shape, at), None)
    return None


def add_override(
    session: Session,
    *,
    clock: Clock,
    rotation_key: str,
    person_key: str,
    starts_at: datetime,
    ends_at: datetime,
    reason: str,
    actor: str,
) -> OnCallOverride:
    """Put ``person_key`` on call for a rotation from ``starts_at`` until ``ends_at``."""
    rotation = repository.by_key(session, Rotation, rotation_key)
    if rotation is None:
        raise NotFound(f"no rotation {rotation_key!r}", field="rotation")
    person = repository.by_key(session, Person, person_key)
    if person is None:
        raise NotFound(f"no person {person_key!r}", field="person")
    if rotation.role not in person.roles:
        raise ValidationFailed(
            f"{person_key} cannot cover {rotation_key}: {rotation.role} is not one of their "
            "roles in the facility file",
            field="person",
        )
    problem = override_problem(starts_at, ends_at, now=clock.now())
    if problem is not None:
        raise ValidationFailed(problem[1], field=problem[0])
    if not reason.strip():
        raise ValidationFailed("say why (e.g. who is away)", field="reason")
    override = OnCallOverride(
        rotation_id=rotation.id,
        person_id=person.id,
        starts_at=starts_at,
        ends_at=ends_at,
        reason=reason.strip(),
        created_by=actor,
        created_at=clock.now(),
    )
    session.add(override)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.ONCALL_OVERRIDDEN,
        actor=actor,
        subject=f"rotation:{rotation.key}",
        payload={
            "override_id": override.id,
            "rotation": rotation.key,
            "person": person.key,
            "from": starts_at.isoformat(),
            "until": ends_at.isoformat(),
            "reason": override.reason,
        },
    )
    return override


def cancel_override(
    session: Session, *, clock: Clock, override_id: int, actor: str
) -> OnCallOverride:
    """Cancel an override; the rotation's own turn applies again."""
    override = session.get(OnCallOverride, override_id, with_for_update=True)
    if override is None or override.cancelled_at is not None:
        raise NotFound(f"no active override #{override_id}", field="override")
    override.cancelled_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.ONCALL_OVERRIDE_CANCELLED,
        actor=actor,
        subject=f"rotation:{override.rotation.key}",
        payload={"override_id": override.id, "rotation": override.rotation.key},
    )
    return override


def list_overrides(session: Session, *, now: datetime) -> Sequence[OnCallOverride]:
    """Overrides running now or to come."""
    return repository.overrides(session, after=now)


def _shape(rotation: Rotation) -> RotationShape:
    return RotationShape(
        member_ids=[m.person_id for m in rotation.members],
        starts_at=rotation.starts_at,
        shift=timedelta(hours=rotation.shift_hours),
    )


def escalation_levels(site: Site) -> list[dict[str, Any]]:
    """Return the escalation levels that apply at ``site`` (empty if it has no policy)."""
    return list(site.escalation_policy.levels) if site.escalation_policy else []


def escalation_levels_by_key(session: Session, key: str) -> list[dict[str, Any]] | None:
    """Return a named policy's levels, or None if there is no such policy."""
    policy = repository.by_key(session, EscalationPolicy, key)
    return list(policy.levels) if policy else None


def people_of_organisation_kind(session: Session, kind: str) -> Sequence[Person]:
    """Return everyone in organisations of ``kind`` (e.g. every vendor contact)."""
    return repository.people_in_organisations_of_kind(session, kind)


def list_organisations(session: Session) -> Sequence[Organisation]:
    """Return every organisation."""
    return repository.list_all(session, Organisation)


def list_sites(session: Session) -> Sequence[Site]:
    """Return every site."""
    return repository.list_all(session, Site)


def list_people(session: Session) -> Sequence[Person]:
    """Return every person."""
    return repository.list_all(session, Person)


def list_assets(session: Session, *, site_key: str | None = None) -> Sequence[Asset]:
    """Return assets, optionally for one site."""
    return repository.list_assets(session, site_key=site_key)


def list_rotations(session: Session) -> Sequence[Rotation]:
    """Return every rotation."""
    return repository.list_all(session, Rotation)


def get_site_or_raise(session: Session, key: str) -> Site:
    """Return the site with ``key`` or raise NotFound."""
    site = repository.by_key(session, Site, key)
    if site is None:
        raise NotFound(f"no site with key {key!r}", field="site")
    return site
