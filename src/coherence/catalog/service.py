"""Catalog state changes and the lookups other capabilities call."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy.orm import Session

from coherence.catalog import repository
from coherence.catalog.domain import IcsRole, RotationShape, on_call_member
from coherence.catalog.models import (
    Asset,
    DependencyGroup,
    DependencyMember,
    EscalationPolicy,
    Organisation,
    Person,
    Rotation,
    RotationMember,
    Site,
)
from coherence.catalog.rules import facility_problems
from coherence.catalog.schemas import FacilityDocument, LoadReport
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.errors import NotFound
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

Outcome = Literal["created", "updated", "unchanged"]
KIND_MODELS: dict[str, Any] = {
    "organisations": Organisation,
    "sites": Site,
    "people": Person,
    "assets": Asset,
    "rotations": Rotation,
    "escalation_policies": EscalationPolicy,
}


def load_facility(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> LoadReport:
    """Validate a whole facility document and upsert it; on any problem write nothing."""
    doc = validate_document(FacilityDocument, data, source=source)
    existing = {kind: repository.all_keys(session, model) for kind, model in KIND_MODELS.items()}
    problems = facility_problems(doc, existing)
    if problems:
        raise problems_error(source, problems)

    outcomes: dict[str, Counter[Outcome]] = {kind: Counter() for kind in KIND_MODELS}
    for org in doc.organisations:
        outcomes["organisations"][
            _upsert(
                session,
                Organisation,
                org.key,
                name=org.name,
                kind=org.kind.value,
                country=org.country,
            )
        ] += 1
    for policy in doc.escalation_policies:
        levels = [level.model_dump(mode="json") for level in policy.levels]
        outcomes["escalation_policies"][
            _upsert(session, EscalationPolicy, policy.key, levels=levels)
        ] += 1
    session.flush()
    for site in doc.sites:
        policy_row = (
            repository.by_key(session, EscalationPolicy, site.escalation_policy)
            if site.escalation_policy
            else None
        )
        outcomes["sites"][
            _upsert(
                session,
                Site,
                site.key,
                name=site.name,
                timezone=site.timezone,
                organisation_id=_id(session, Organisation, site.organisation),
                escalation_policy_id=policy_row.id if policy_row else None,
            )
        ] += 1
    for person in doc.people:
        outcomes["people"][
            _upsert(
                session,
                Person,
                person.key,
                name=person.name,
                organisation_id=_id(session, Organisation, person.organisation),
                roles=[role.value for role in person.roles],
                contacts=[contact.model_dump(mode="json") for contact in person.contacts],
            )
        ] += 1
    session.flush()
    for asset in doc.assets:
        outcomes["assets"][
            _upsert(
                session,
                Asset,
                asset.key,
                name=asset.name,
                kind=asset.kind.value,
                site_id=_id(session, Site, asset.site),
                owner_id=_id(session, Organisation, asset.owner),
                criticality=asset.criticality.value,
                description=asset.description,
            )
        ] += 1
    session.flush()
    for asset in doc.assets:
        if _replace_dependencies(session, asset.key, asset.depends_on):
            _mark_updated(outcomes["assets"])
    for rotation in doc.rotations:
        outcome = _upsert(
            session,
            Rotation,
            rotation.key,
            role=rotation.role.value,
            site_id=_id(session, Site, rotation.site),
            shift_hours=rotation.shift_hours,
            starts_at=rotation.starts_at,
        )
        session.flush()
        if _replace_members(session, rotation.key, rotation.members) and outcome == "unchanged":
            outcome = "updated"
        outcomes["rotations"][outcome] += 1
    session.flush()

    report = LoadReport(
        created={k: c["created"] for k, c in outcomes.items()},
        updated={k: c["updated"] for k, c in outcomes.items()},
        unchanged={k: c["unchanged"] for k, c in outcomes.items()},
    )
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


def _upsert(session: Session, model: Any, key: str, **values: Any) -> Outcome:
    row = repository.by_key(session, model, key)
    if row is None:
        session.add(model(key=key, **values))
        return "created"
    changed = False
    for name, value in values.items():
        if getattr(row, name) != value:
            setattr(row, name, value)
            changed = True
    return "updated" if changed else "unchanged"


def _mark_updated(counter: Counter[Outcome]) -> None:
    if counter["unchanged"]:
        counter["unchanged"] -= 1
        counter["updated"] += 1


def _id(session: Session, model: Any, key: str) -> int:
    row = repository.by_key(session, model, key)
    assert row is not None, f"{model.__name__} {key} was checked before writing"
    return int(row.id)


def _replace_dependencies(session: Session, asset_key: str, specs: Sequence[Any]) -> bool:
    asset = repository.by_key(session, Asset, asset_key)
    assert asset is not None
    wanted = [(spec.group, spec.needs or len(spec.assets), tuple(spec.assets)) for spec in specs]
    current = [
        (g.name, g.min_required, tuple(m.asset.key for m in g.members))
        for g in asset.dependency_groups
    ]
    if wanted == current:
        return False
    asset.dependency_groups.clear()
    session.flush()
    for position, (name, needs, members) in enumerate(wanted):
        group = DependencyGroup(position=position, name=name, min_required=needs)
        group.members = [
            DependencyMember(asset_id=_id(session, Asset, key), position=index)
            for index, key in enumerate(members)
        ]
        asset.dependency_groups.append(group)
    return True


def _replace_members(session: Session, rotation_key: str, member_keys: Sequence[str]) -> bool:
    rotation = repository.by_key(session, Rotation, rotation_key)
    assert rotation is not None
    if [m.person.key for m in rotation.members] == list(member_keys):
        return False
    rotation.members.clear()
    session.flush()
    rotation.members = [
        RotationMember(person_id=_id(session, Person, key), position=index)
        for index, key in enumerate(member_keys)
    ]
    return True


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
    for rotations in (
        repository.rotations_for(session, site_id=site.id, role=role.value),
        repository.rotations_for_role(session, role=role.value),
    ):
        for rotation in rotations:
            member_id = on_call_member(_shape(rotation), at)
            if member_id is not None:
                return next(m.person for m in rotation.members if m.person_id == member_id)
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
