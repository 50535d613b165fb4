"""Catalog rows as the API and CLI show them."""

from __future__ import annotations

from coherence.access.domain import AccessRole
from coherence.catalog.domain import AssetKind, ContactChannel, Criticality, IcsRole
from coherence.catalog.models import Asset, OnCallOverride, Person, Site
from coherence.catalog.schemas import (
    AssetRead,
    ContactSpec,
    DependencySpec,
    OverrideRead,
    PersonRead,
    SiteRead,
)


def site_read(site: Site) -> SiteRead:
    """Return a site's read model."""
    return SiteRead(
        key=site.key,
        name=site.name,
        organisation=site.organisation.key,
        timezone=site.timezone,
        escalation_policy=site.escalation_policy.key if site.escalation_policy else None,
    )


def asset_read(asset: Asset) -> AssetRead:
    """Return an asset's read model with its dependency groups."""
    return AssetRead(
        key=asset.key,
        name=asset.name,
        kind=AssetKind(asset.kind),
        site=asset.site.key,
        owner=asset.owner.key,
        criticality=Criticality(asset.criticality),
        description=asset.description,
        eccn=asset.eccn,
        vendors=[vendor.key for vendor in asset.vendors],
        depends_on=[
            DependencySpec(
                group=g.name, needs=g.min_required, assets=[m.asset.key for m in g.members]
            )
            for g in asset.dependency_groups
        ],
    )


def person_read(person: Person) -> PersonRead:
    """Return a person's read model."""
    return PersonRead(
        key=person.key,
        name=person.name,
        organisation=person.organisation.key,
        roles=[IcsRole(r) for r in person.roles],
        clearances=list(person.clearances or []),
        access=AccessRole(person.access_role),
        contacts=[
            ContactSpec(channel=ContactChannel(c["channel"]), address=c["address"])
            for c in person.contacts
        ],
    )


def override_read(row: OnCallOverride) -> OverrideRead:
    """Shape an on-call override for output."""
    return OverrideRead(
        id=row.id,
        rotation=row.rotation.key,
        person=row.person.key,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        reason=row.reason,
        created_by=row.created_by,
        cancelled_at=row.cancelled_at,
    )
