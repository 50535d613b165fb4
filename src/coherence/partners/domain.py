"""Partner rules without I/O: what an agreement covers, what it shares, and what the law stops.

An agreement shares an incident with its other parties when it is in force on the day, the
incident is in its scope, and its ceiling admits the incident's TLP label (the access policy
checks the label). The export guard then looks at what a share would carry to whom.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from coherence.access.domain import DataCategory, Tlp
from coherence.access.policy import SharingGrant
from coherence.catalog.domain import AssetKind
from coherence.documents import Key, StrictDocument

Country = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
Eccn = Annotated[str, StringConstraints(pattern=r"^[0-9][A-E][0-9]{3}[a-z0-9.]*$")]
Text = Annotated[str, StringConstraints(min_length=1, max_length=2000)]

# EU member states plus Iceland, Liechtenstein and Norway: personal data moves freely inside.
EEA = frozenset(
    {
        "AT", "BE", "BG", "HR", "CY", "CZ", "DK", "EE", "FI", "FR", "DE", "GR", "HU", "IE",
        "IT", "LV", "LT", "LU", "MT", "NL", "PL", "PT", "RO", "SK", "SI", "ES", "SE",
        "IS", "LI", "NO",
    }
)  # fmt: skip
# Data that describes a controlled item technically: sharing it abroad can be an export.
TECHNICAL = frozenset(
    {DataCategory.CALIBRATION, DataCategory.PROPRIETARY, DataCategory.EXPORT_CONTROLLED}
)


class TransferBasis(StrEnum):
    """GDPR Chapter V grounds for personal data leaving the EEA."""

    ADEQUACY = "adequacy"
    SCC = "scc"
    BCR = "bcr"
    DEROGATION = "derogation"


class AidKind(StrEnum):
    """What a party can lend in an emergency."""

    SPARES = "spares"
    STAFF = "staff"
    CRYOGENS = "cryogens"
    INSTRUMENTS = "instruments"
    FACILITIES = "facilities"


class ScopeSpec(StrictDocument):
    """What an agreement covers; an empty list covers everything of that kind."""

    sites: list[Key] = Field(default_factory=list)
    asset_kinds: list[AssetKind] = Field(default_factory=list)
    categories: list[Key] = Field(default_factory=list, description="Incident categories.")


class LicenceSpec(StrictDocument):
    """An export licence or general authorisation on file for one ECCN and destination."""

    eccn: Eccn
    country: Country
    reference: Text


class AidSpec(StrictDocument):
    """A resource one party can lend the others."""

    provider: Key = Field(alias="from", description="The party that lends it.")
    kind: AidKind
    resource: Text
    quantity: int = Field(1, ge=1, le=100_000)
    delivery_hours: float | None = Field(
        None,
        ge=0,
        le=10_000,
        description="Hours to reach the borrower's site; absent: recovery's shipped estimate.",
    )
    notes: str = Field("", max_length=2000)


class AgreementSpec(StrictDocument):
    """A memorandum of understanding between organisations."""

    key: Key
    title: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    parties: list[Key] = Field(min_length=2, max_length=20)
    scope: ScopeSpec = Field(default_factory=ScopeSpec)
    ceiling: Tlp = Field(description="Highest TLP label shared: CLEAR, GREEN, AMBER or RED.")
    data_categories: list[DataCategory] = Field(
        default_factory=lambda: [DataCategory.OPERATIONAL],
        description="Data categories the other parties may read unredacted.",
    )
    legal_basis: Text
    jurisdiction: Country
    valid_from: date
    valid_until: date
    transfer_bases: list[TransferBasis] = Field(default_factory=list)
    licences: list[LicenceSpec] = Field(default_factory=list)
    mutual_aid: list[AidSpec] = Field(default_factory=list)
    liaisons: dict[Key, Key] = Field(
        default_factory=dict, description="Organisation key: the person who liaises for it."
    )

    @model_validator(mode="after")
    def _coherent(self) -> AgreementSpec:
        if self.valid_until < self.valid_from:
            raise ValueError("valid_until is before valid_from")
        if len(set(self.parties)) != len(self.parties):
            raise ValueError("parties lists an organisation twice")
        strangers = (set(self.liaisons) | {a.provider for a in self.mutual_aid}) - set(self.parties)
        if strangers:
            raise ValueError(f"liaisons or mutual_aid name non-parties: {sorted(strangers)}")
        return self


class AgreementsDocument(StrictDocument):
    """A file of agreements."""

    agreements: list[AgreementSpec] = Field(max_length=1000)


@dataclass(frozen=True)
class Terms:
    """An agreement as the rules need it."""

    key: str
    parties: frozenset[str]
    sites: frozenset[str]
    asset_kinds: frozenset[str]
    categories: frozenset[str]
    ceiling: Tlp
    data_categories: frozenset[DataCategory]
    valid_from: date
    valid_until: date
    transfer_bases: frozenset[str] = frozenset()
    licences: frozenset[tuple[str, str]] = frozenset()


@dataclass(frozen=True)
class IncidentScope:
    """What about an incident decides whether an agreement covers it."""

    organisations: frozenset[str]
    site: str
    asset_kind: str
    category: str


def in_force(terms: Terms, today: date) -> bool:
    """Whether the agreement is valid on ``today``."""
    return terms.valid_from <= today <= terms.valid_until


def covers(terms: Terms, organisation: str, incident: IncidentScope, today: date) -> bool:
    """Whether the agreement shares ``incident`` with ``organisation``."""
    return (
        in_force(terms, today)
        and organisation in terms.parties
        and organisation not in incident.organisations
        and bool(terms.parties & incident.organisations)
        and (not terms.sites or incident.site in terms.sites)
        and (not terms.asset_kinds or incident.asset_kind in terms.asset_kinds)
        and (not terms.categories or incident.category in terms.categories)
    )


def grant(
    agreements: Iterable[Terms], organisation: str, incident: IncidentScope, today: date
) -> tuple[SharingGrant | None, list[str]]:
    """Return what the covering agreements together share, and which agreements they are."""
    covering = [t for t in agreements if covers(t, organisation, incident, today)]
    if not covering:
        return None, []
    ceiling = max((t.ceiling for t in covering), key=lambda label: label.rank)
    categories = frozenset().union(*(t.data_categories for t in covering))
    return SharingGrant(ceiling=ceiling, categories=categories), sorted(t.key for t in covering)


@dataclass(frozen=True)
class ShareFacts:
    """What a share would carry, to whom, about what."""

    recipient: str
    recipient_country: str | None
    operator_country: str | None
    categories: frozenset[DataCategory]
    asset: str
    eccn: str | None
    transfer_bases: frozenset[str]
    licences: frozenset[tuple[str, str]]


def export_findings(facts: ShareFacts) -> list[str]:
    """Return why the law stops this share, each finding naming its fix; empty if it may go."""
    findings = []
    country = facts.recipient_country
    where = country or "an unknown country"
    leaves_eea = country is None or country not in EEA
    if DataCategory.PERSONAL in facts.categories and leaves_eea and not facts.transfer_bases:
        findings.append(
            f"personal data would leave the EEA for {where} with no transfer basis on file "
            "(GDPR Chapter V): record adequacy, scc, bcr or a derogation in the agreement"
        )
    technical = facts.categories & TECHNICAL
    abroad = country is None or country != facts.operator_country
    licensed = (facts.eccn, country or "") in facts.licences
    if facts.eccn and technical and abroad and not licensed:
        kinds = ", ".join(sorted(c.value for c in technical))
        findings.append(
            f"{kinds} data about {facts.asset} (ECCN {facts.eccn}) to {where} is an export, "
            f"and no licence for {facts.eccn} to {where} is on file: add it to the agreement "
            "or share without that data"
        )
    if DataCategory.EXPORT_CONTROLLED in facts.categories and abroad and not facts.eccn:
        findings.append(
            "export-controlled data to a party abroad needs the item's ECCN and a licence on "
            "file; share without that data"
        )
    return findings
