"""Pydantic shapes for the facility file and the catalog API."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from coherence.access.domain import AccessRole
from coherence.catalog.domain import (
    AssetKind,
    ContactChannel,
    Criticality,
    EntityClass,
    IcsRole,
    OrganisationKind,
)
from coherence.documents import Key, StrictDocument

Name = Annotated[str, StringConstraints(min_length=1, max_length=200, strip_whitespace=True)]


class OrganisationSpec(StrictDocument):
    """An organisation in the facility file."""

    key: Key
    name: Name
    kind: OrganisationKind
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = Field(
        None, description="ISO 3166-1 alpha-2 country of jurisdiction."
    )
    sectors: list[Key] = Field(
        default_factory=list,
        description="Sectors it operates in, e.g. research, digital_infrastructure, energy.",
    )
    entity_class: EntityClass | None = Field(
        None, description="Under NIS2: essential or important entity; empty if neither."
    )


class SiteSpec(StrictDocument):
    """A site: one building or campus location."""

    key: Key
    name: Name
    organisation: Key
    timezone: str = Field("UTC", max_length=64, description="IANA zone, e.g. Europe/Berlin.")
    escalation_policy: Key | None = None

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin"
            ) from None
        return value


class ContactSpec(StrictDocument):
    """One way to reach a person."""

    channel: ContactChannel
    address: Annotated[str, StringConstraints(min_length=1, max_length=320)]


class PersonSpec(StrictDocument):
    """A person who can respond or must be told."""

    key: Key
    name: Name
    organisation: Key
    roles: list[IcsRole] = Field(default_factory=list, description="ICS roles they can fill.")
    clearances: list[Key] = Field(
        default_factory=list,
        description=(
            "What they may do beyond their roles, e.g. legal (approve public statements), "
            "after_action_review, export_control."
        ),
    )
    access: AccessRole = Field(
        AccessRole.RESPONDER,
        description=(
            "Standing in Coherence: administrator, responder, observer (read-only), "
            "auditor (read-only, ledger and evidence) or integration (telemetry intake only)."
        ),
    )
    contacts: list[ContactSpec] = Field(default_factory=list)


class DependencySpec(StrictDocument):
    """A dependency group: the asset needs ``needs`` of ``assets`` to work."""

    group: Key | None = None
    needs: int | None = Field(None, ge=1, description="How many must work; default all.")
    assets: list[Key] = Field(min_length=1)


class AssetSpec(StrictDocument):
    """A piece of equipment or infrastructure."""

    key: Key
    name: Name
    kind: AssetKind
    site: Key
    owner: Key = Field(description="Key of the owning organisation.")
    criticality: Criticality = Criticality.STANDARD
    description: str = ""
    eccn: Annotated[str, StringConstraints(pattern=r"^[0-9][A-E][0-9]{3}[a-z0-9.]*$")] | None = (
        Field(None, description="Export control classification number, e.g. 4A906 or 3A904.")
    )
    vendors: list[Key] = Field(
        default_factory=list, description="Keys of the vendor organisations that support it."
    )
    depends_on: list[DependencySpec] = Field(default_factory=list)


class RotationSpec(StrictDocument):
    """An on-call rotation for one ICS role at one site."""

    key: Key
    site: Key
    role: IcsRole
    members: list[Key] = Field(min_length=1)
    shift_hours: float = Field(12, gt=0, le=24 * 14)
    starts_at: AwareDatetime


class EscalationLevelSpec(StrictDocument):
    """Who is paged at this level, and how long they have to acknowledge."""

    notify_roles: list[IcsRole] = Field(default_factory=list)
    notify_people: list[Key] = Field(default_factory=list)
    ack_within_minutes: float = Field(gt=0, le=24 * 60)


class EscalationPolicySpec(StrictDocument):
    """Levels paged in turn while an incident stays unacknowledged."""

    key: Key
    levels: list[EscalationLevelSpec] = Field(min_length=1)


class FacilityDocument(StrictDocument):
    """A whole facility in one file."""

    organisations: list[OrganisationSpec] = Field(default_factory=list)
    sites: list[SiteSpec] = Field(default_factory=list)
    people: list[PersonSpec] = Field(default_factory=list)
    assets: list[AssetSpec] = Field(default_factory=list)
    rotations: list[RotationSpec] = Field(default_factory=list)
    escalation_policies: list[EscalationPolicySpec] = Field(default_factory=list)


class LoadReport(BaseModel):
    """What loading a facility file changed."""

    created: dict[str, int]
    updated: dict[str, int]
    unchanged: dict[str, int]


class OrganisationRead(BaseModel):
    """An organisation as the API returns it."""

    model_config = ConfigDict(from_attributes=True)
    key: str
    name: str
    kind: OrganisationKind
    country: str | None
    sectors: list[str] = Field(default_factory=list)
    entity_class: EntityClass | None = None


class SiteRead(BaseModel):
    """A site as the API returns it."""

    key: str
    name: str
    organisation: str
    timezone: str
    escalation_policy: str | None


class AssetRead(BaseModel):
    """An asset with its dependencies."""

    key: str
    name: str
    kind: AssetKind
    site: str
    owner: str
    criticality: Criticality
    description: str
    eccn: str | None = None
    vendors: list[str]
    depends_on: list[DependencySpec]


class PersonRead(BaseModel):
    """A person with contact points and the roles they can fill."""

    key: str
    name: str
    organisation: str
    roles: list[IcsRole]
    clearances: list[str] = Field(default_factory=list)
    access: AccessRole = AccessRole.RESPONDER
    contacts: list[ContactSpec]


class OnCallRead(BaseModel):
    """Who is on call for a role at a site at a moment."""

    site: str
    role: IcsRole
    rotation: str | None = Field(description="The rotation that supplied the person.")
    person: str | None
    at: datetime
    until: datetime | None = Field(
        None, description="When this person hands over: the shift's end or the cover's end."
    )
    covering: bool = Field(False, description="True when an override put them on call.")


class OverrideCreate(BaseModel):
    """Put someone on call in place of a rotation's turn."""

    model_config = ConfigDict(extra="forbid")

    person: Key
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class OverrideRead(BaseModel):
    """An on-call override."""

    id: int
    rotation: str
    person: str
    starts_at: datetime
    ends_at: datetime
    reason: str
    created_by: str
    cancelled_at: datetime | None
