"""Write a validated facility document: upsert by key, counting what changed."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

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
from coherence.catalog.schemas import DependencySpec, FacilityDocument, LoadReport

Outcome = Literal["created", "updated", "unchanged"]
KIND_MODELS: dict[str, Any] = {
    "organisations": Organisation,
    "sites": Site,
    "people": Person,
    "assets": Asset,
    "rotations": Rotation,
    "escalation_policies": EscalationPolicy,
}


class FacilityWriter:
    """Upserts one document's rows, holding every row by key so each is fetched once."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.outcomes: dict[str, Counter[Outcome]] = {kind: Counter() for kind in KIND_MODELS}
        self._outcome_of: dict[tuple[str, str], Outcome] = {}
        loaders = {
            "assets": [
                selectinload(Asset.dependency_groups)
                .selectinload(DependencyGroup.members)
                .selectinload(DependencyMember.asset),
                selectinload(Asset.vendors),
            ],
            "rotations": [selectinload(Rotation.members).selectinload(RotationMember.person)],
        }
        self.rows: dict[str, dict[str, Any]] = {
            kind: {
                row.key: row
                for row in session.scalars(select(model).options(*loaders.get(kind, []))).all()
            }
            for kind, model in KIND_MODELS.items()
        }

    def write(self, doc: FacilityDocument) -> LoadReport:
        """Upsert everything in ``doc`` in reference order and report what changed."""
        for org in doc.organisations:
            self._upsert(
                "organisations",
                org.key,
                name=org.name,
                kind=org.kind.value,
                country=org.country,
                sectors=list(org.sectors),
                entity_class=org.entity_class.value if org.entity_class else None,
            )
        for policy in doc.escalation_policies:
            self._upsert(
                "escalation_policies",
                policy.key,
                levels=[level.model_dump(mode="json") for level in policy.levels],
            )
        self.session.flush()
        for site in doc.sites:
            self._upsert(
                "sites",
                site.key,
                name=site.name,
                timezone=site.timezone,
                organisation_id=self._id("organisations", site.organisation),
                escalation_policy_id=(
                    self._id("escalation_policies", site.escalation_policy)
                    if site.escalation_policy
                    else None
                ),
            )
        for person in doc.people:
            self._upsert(
                "people",
                person.key,
                name=person.name,
                organisation_id=self._id("organisations", person.organisation),
                roles=[role.value for role in person.roles],
                clearances=list(person.clearances),
                access_role=person.access.value,
                contacts=[contact.model_dump(mode="json") for contact in person.contacts],
            )
        self.session.flush()
        for asset in doc.assets:
            self._upsert(
                "assets",
                asset.key,
                name=asset.name,
                kind=asset.kind.value,
                site_id=self._id("sites", asset.site),
                owner_id=self._id("organisations", asset.owner),
                criticality=asset.criticality.value,
                description=asset.description,
                eccn=asset.eccn,
            )
        self.session.flush()
        for asset in doc.assets:
            if self._replace_dependencies(asset.key, asset.depends_on):
                self._count_as_updated("assets", asset.key)
            if self._replace_vendors(asset.key, asset.vendors):
                self._count_as_updated("assets", asset.key)
        for rotation in doc.rotations:
            self._upsert(
                "rotations",
                rotation.key,
                role=rotation.role.value,
                site_id=self._id("sites", rotation.site),
                shift_hours=rotation.shift_hours,
                starts_at=rotation.starts_at,
            )
        self.session.flush()
        for rotation in doc.rotations:
            if self._replace_members(rotation.key, rotation.members):
                self._count_as_updated("rotations", rotation.key)
        self.session.flush()
        return LoadReport(
            created={k: c["created"] for k, c in self.outcomes.items()},
            updated={k: c["updated"] for k, c in self.outcomes.items()},
            unchanged={k: c["unchanged"] for k, c in self.outcomes.items()},
        )

    def _upsert(self, table: str, key: str, /, **values: Any) -> None:
        row = self.rows[table].get(key)
        if row is None:
            row = KIND_MODELS[table](key=key, **values)
            self.session.add(row)
            self.rows[table][key] = row
            self._record(table, key, "created")
            return
        changed = False
        for name, value in values.items():
            if getattr(row, name) != value:
                setattr(row, name, value)
                changed = True
        self._record(table, key, "updated" if changed else "unchanged")

    def _record(self, kind: str, key: str, outcome: Outcome) -> None:
        self.outcomes[kind][outcome] += 1
        self._outcome_of[(kind, key)] = outcome

    def _count_as_updated(self, kind: str, key: str) -> None:
        if self._outcome_of.get((kind, key)) == "unchanged":
            self.outcomes[kind]["unchanged"] -= 1
            self.outcomes[kind]["updated"] += 1
            self._outcome_of[(kind, key)] = "updated"

    def _id(self, kind: str, key: str) -> int:
        return int(self.rows[kind][key].id)

    def _replace_dependencies(self, asset_key: str, specs: Sequence[DependencySpec]) -> bool:
        asset: Asset = self.rows["assets"][asset_key]
        wanted = [(s.group, s.needs or len(s.assets), tuple(s.assets)) for s in specs]
        current = [
            (g.name, g.min_required, tuple(m.asset.key for m in g.members))
            for g in asset.dependency_groups
        ]
        if wanted == current:
            return False
        asset.dependency_groups.clear()
        self.session.flush()
        for position, (name, needs, members) in enumerate(wanted):
            group = DependencyGroup(position=position, name=name, min_required=needs)
            group.members = [
                DependencyMember(asset_id=self._id("assets", key), position=index)
                for index, key in enumerate(members)
            ]
            asset.dependency_groups.append(group)
        return True

    def _replace_vendors(self, asset_key: str, vendor_keys: Sequence[str]) -> bool:
        asset: Asset = self.rows["assets"][asset_key]
        if sorted(v.key for v in asset.vendors) == sorted(vendor_keys):
            return False
        asset.vendors = [self.rows["organisations"][key] for key in sorted(vendor_keys)]
        return True

    def _replace_members(self, rotation_key: str, member_keys: Sequence[str]) -> bool:
        rotation: Rotation = self.rows["rotations"][rotation_key]
        if [m.person.key for m in rotation.members] == list(member_keys):
            return False
        rotation.members.clear()
        self.session.flush()
        rotation.members = [
            RotationMember(person_id=self._id("people", key), position=index)
            for index, key in enumerate(member_keys)
        ]
        return True
