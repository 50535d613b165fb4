"""Every catalog query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from coherence.catalog.models import (
    Asset,
    DependencyGroup,
    DependencyMember,
    EscalationPolicy,
    OnCallOverride,
    Organisation,
    Person,
    Rotation,
    RotationMember,
    Site,
)

Keyed = TypeVar("Keyed", Organisation, Site, Asset, Person, Rotation, EscalationPolicy)


def by_key(session: Session, model: type[Keyed], key: str) -> Keyed | None:
    """Return the row of ``model`` with ``key``, or None."""
    return session.scalars(select(model).where(model.key == key)).one_or_none()


def all_keys(session: Session, model: type[Keyed]) -> set[str]:
    """Return every key stored for ``model``."""
    return set(session.scalars(select(model.key)).all())


def list_all(session: Session, model: type[Keyed]) -> Sequence[Keyed]:
    """Return every row of ``model`` ordered by key."""
    return session.scalars(select(model).order_by(model.key)).all()


def list_assets(session: Session, *, site_key: str | None = None) -> Sequence[Asset]:
    """Return assets with their dependencies loaded, optionally for one site."""
    query = select(Asset).options(
        selectinload(Asset.dependency_groups)
        .selectinload(DependencyGroup.members)
        .selectinload(DependencyMember.asset),
        selectinload(Asset.vendors),
    )
    if site_key is not None:
        query = query.join(Asset.site).where(Site.key == site_key)
    return session.scalars(query.order_by(Asset.key)).all()


def rotations_for(session: Session, *, site_id: int, role: str) -> Sequence[Rotation]:
    """Return the rotations covering ``role`` at a site, members loaded."""
    query = (
        select(Rotation)
        .where(Rotation.site_id == site_id, Rotation.role == role)
        .options(selectinload(Rotation.members).selectinload(RotationMember.person))
        .order_by(Rotation.key)
    )
    return session.scalars(query).all()


def rotations_for_role(session: Session, *, role: str) -> Sequence[Rotation]:
    """Return every rotation covering ``role`` anywhere, members loaded."""
    query = (
        select(Rotation)
        .where(Rotation.role == role)
        .options(selectinload(Rotation.members).selectinload(RotationMember.person))
        .order_by(Rotation.key)
    )
    return session.scalars(query).all()


def people_in_organisations_of_kind(session: Session, kind: str) -> Sequence[Person]:
    """Return everyone belonging to an organisation of ``kind``."""
    query = select(Person).join(Person.organisation).where(Organisation.kind == kind)
    return session.scalars(query.order_by(Person.key)).all()


def people_by_ids(session: Session, ids: Sequence[int]) -> Sequence[Person]:
    """Return people with the given ids."""
    return session.scalars(select(Person).where(Person.id.in_(ids))).all()


def dependency_edges(session: Session) -> dict[str, list[str]]:
    """Return every stored dependency as ``asset key -> keys it depends on``."""
    edges: dict[str, list[str]] = {}
    for asset in list_assets(session):
        edges[asset.key] = [m.asset.key for g in asset.dependency_groups for m in g.members]
    return edges


def override_at(session: Session, *, rotation_id: int, at: datetime) -> OnCallOverride | None:
    """Return the override covering a rotation at ``at``; the latest made wins if several."""
    query = (
        select(OnCallOverride)
        .where(
            OnCallOverride.rotation_id == rotation_id,
            OnCallOverride.starts_at <= at,
            OnCallOverride.ends_at > at,
            OnCallOverride.cancelled_at.is_(None),
        )
        .order_by(OnCallOverride.id.desc())
    )
    return session.scalars(query).first()


def overrides(session: Session, *, after: datetime) -> Sequence[OnCallOverride]:
    """Return the overrides not cancelled that end after ``after``, soonest first."""
    query = (
        select(OnCallOverride)
        .where(OnCallOverride.ends_at > after, OnCallOverride.cancelled_at.is_(None))
        .order_by(OnCallOverride.starts_at, OnCallOverride.id)
    )
    return session.scalars(query).all()
