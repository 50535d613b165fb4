"""Partner API shapes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints

from coherence.access.domain import DataCategory, Tlp
from coherence.documents import Key


class AgreementRead(BaseModel):
    """An agreement as the API returns it."""

    key: str
    title: str
    parties: list[str]
    scope: dict[str, list[str]]
    ceiling: Tlp
    data_categories: list[DataCategory]
    legal_basis: str
    jurisdiction: str
    valid_from: date
    valid_until: date
    in_force: bool
    transfer_bases: list[str]
    licences: list[dict[str, str]]
    mutual_aid: list[dict[str, Any]]
    liaisons: dict[str, str]


class LoadResult(BaseModel):
    """What loading agreements changed."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


class PartnerView(BaseModel):
    """One organisation an agreement shares the incident with, and what it sees."""

    organisation: str
    name: str
    country: str | None
    agreements: list[str]
    ceiling: Tlp
    data_categories: list[DataCategory]
    sees_incident: bool = Field(description="False when the incident's TLP is above the ceiling.")
    why_not: str | None
    export_findings: list[str] = Field(
        description="What the export guard would stop in a share; empty when it may go."
    )
    overridden: bool


class OverrideCreate(BaseModel):
    """Let a share the export guard blocks go, with the reason it is lawful."""

    model_config = ConfigDict(extra="forbid")

    organisation: Key
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class OverrideRead(BaseModel):
    """A recorded export-guard override."""

    id: int
    incident: str
    organisation: str
    blocked: list[str]
    reason: str
    approved_by: str
    approved_at: datetime


class PeriodCreate(BaseModel):
    """Joint objectives for an operational period (ICS 202)."""

    model_config = ConfigDict(extra="forbid")

    number: int | None = Field(None, ge=1, le=1000, description="Default: the next period.")
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    objectives: list[Annotated[str, StringConstraints(max_length=500)]] = Field(
        min_length=1, max_length=20
    )
    organisations: list[Key] = Field(
        default_factory=list,
        max_length=50,
        description="Organisations under unified command; the incident's own are always in.",
    )
    safety_message: Annotated[str, StringConstraints(max_length=2000)] = ""


class PeriodRead(BaseModel):
    """An operational period and its objectives."""

    incident: str
    number: int
    starts_at: datetime
    ends_at: datetime
    objectives: list[str]
    organisations: list[str]
    safety_message: str
    set_by: str
