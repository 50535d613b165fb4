"""Catalog state changes and the lookups other capabilities call."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import repository
from coherence.catalog.domain import IcsRole, RotationShape, on_call_member
from coherence.catalog.loading import KIND_MODELS, FacilityWriter
from coherence.catalog.models import (
    Asset,
    EscalationPolicy,
    Organisation,
    Person,
    Rotation,
    Site,
)
from coherence.catalog.rules import facility_problems
from coherence.catalog.schemas import FacilityDocument, LoadReport
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.errors import NotFound
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
    for rotations in (
        repository.rotations_for(session, site_id=site.id, role=role.value),
        repository.rotations_for_role(session, role=role.value),
    ):
        for rotation in rotations:
            member_id = on_call_member(_shape(rotation), at)
            if member_id is not None:
                person = next(m.person for m in rotation.members if m.person_id == member_id)
                return person, rotation
    return None


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
