"""Statements to audiences: templates, who must clear them, and rendering. No I/O here."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StringConstraints, ValidationInfo, field_validator

from coherence.comms.templating import render
from coherence.documents import Key, StrictDocument
from coherence.errors import ValidationFailed

MAX_TEMPLATE_CHARS = 20_000


class Audience(StrEnum):
    """Who a statement is for."""

    RESPONDERS = "responders"
    EXECUTIVES = "executives"
    PUBLIC = "public"
    MEDIA = "media"
    INVESTORS = "investors"
    REGULATORS = "regulators"
    PARTNERS = "partners"


# Statements to these leave the organisation: only approved template versions may be used.
EXTERNAL_AUDIENCES = frozenset(
    {Audience.PUBLIC, Audience.MEDIA, Audience.INVESTORS, Audience.REGULATORS, Audience.PARTNERS}
)
# Audiences whose readers are not specialists: their text gets the plain-language check.
LAY_AUDIENCES = frozenset(
    {Audience.PUBLIC, Audience.MEDIA, Audience.INVESTORS, Audience.EXECUTIVES}
)
DEFAULT_APPROVALS = ("public_information_officer",)


class TemplateStatus(StrEnum):
    """Where a template version stands."""

    DRAFT = "draft"
    APPROVED = "approved"


class TemplateDocument(StrictDocument):
    """One statement template as written in a templates file."""

    key: Key
    audience: Audience
    title: Annotated[str, StringConstraints(min_length=1, max_length=300)]
    body: Annotated[str, StringConstraints(min_length=1, max_length=MAX_TEMPLATE_CHARS)]
    approvals: list[Key] | None = Field(
        None,
        description="Roles or clearances that must each approve a version before it goes "
        "outside; external audiences default to the public information officer.",
    )
    update_every_minutes: float | None = Field(
        None, gt=0, le=7 * 24 * 60, description="How often this audience expects an update."
    )

    @field_validator("title", "body")
    @classmethod
    def _renders(cls, value: str, info: ValidationInfo) -> str:
        # Rendering against a specimen incident catches unknown names and reaches for
        # internals when the template is loaded, not when a statement is due.
        try:
            render(value, SPECIMEN_CONTEXT, field=info.field_name or "template")
        except ValidationFailed as exc:
            raise ValueError(exc.message) from None
        return value

    @property
    def required_approvals(self) -> tuple[str, ...]:
        """The approvals a version needs before it may be sent outside."""
        if self.approvals is not None:
            return tuple(dict.fromkeys(self.approvals))
        return DEFAULT_APPROVALS if self.audience in EXTERNAL_AUDIENCES else ()


class TemplatesFile(StrictDocument):
    """A file of statement templates."""

    templates: Annotated[list[TemplateDocument], Field(min_length=1)]


SPECIMEN_CONTEXT: dict[str, Any] = {
    "incident": {
        "reference": "INC-00001",
        "title": "Dilution refrigerator warm-up",
        "severity": "SEV2",
        "status": "acknowledged",
        "category": "cryogenic",
        "kind": "real",
        "detected_at": "2026-01-05 10:00 UTC",
    },
    "site": {"name": "Qubit Laboratory", "key": "sc-lab"},
    "asset": {"name": "Dilution refrigerator 1", "key": "fridge-1"},
}


def can_give(approval: str, *, roles: Iterable[str], clearances: Iterable[str]) -> bool:
    """Whether someone with these ICS roles and clearances may give ``approval``."""
    return approval in set(roles) or approval in set(clearances)


def missing_approvals(required: Sequence[str], given: Iterable[Mapping[str, str]]) -> list[str]:
    """Return the required approvals not yet given, in the order they are required."""
    have = {entry["approval"] for entry in given}
    return [approval for approval in required if approval not in have]
