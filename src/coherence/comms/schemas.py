"""Request and response shapes for statements, templates and the communications plan."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coherence.comms.models import Statement, StatementTemplate
from coherence.comms.statements import Audience, missing_approvals


class TemplateRead(BaseModel):
    """One template version and where its clearance stands."""

    key: str
    version: int
    audience: Audience
    status: str
    title: str
    body: str
    required_approvals: list[str]
    approvals: list[dict[str, Any]]
    still_needs: list[str]
    update_every_minutes: float | None
    created_at: datetime
    created_by: str
    approved_at: datetime | None


def template_read(row: StatementTemplate) -> TemplateRead:
    """Shape a stored template version for output."""
    return TemplateRead(
        key=row.key,
        version=row.version,
        audience=Audience(row.audience),
        status=row.status,
        title=row.title,
        body=row.body,
        required_approvals=list(row.required_approvals),
        approvals=list(row.approvals),
        still_needs=missing_approvals(row.required_approvals, row.approvals),
        update_every_minutes=row.update_every_minutes,
        created_at=row.created_at,
        created_by=row.created_by,
        approved_at=row.approved_at,
    )


class StatementRead(BaseModel):
    """An issued statement, with the template version it came from."""

    id: int
    incident_id: int
    audience: Audience
    template: str
    template_version: int
    title: str
    body: str
    plain_score: int | None
    cap_identifier: str
    cap_msg_type: str
    cap_references: list[str]
    issued_at: datetime
    issued_by: str
    withdraws: int | None


def statement_read(row: Statement) -> StatementRead:
    """Shape a stored statement for output."""
    return StatementRead(
        id=row.id,
        incident_id=row.incident_id,
        audience=Audience(row.audience),
        template=row.template_key,
        template_version=row.template_version,
        title=row.title,
        body=row.body,
        plain_score=row.plain_score,
        cap_identifier=row.cap_identifier,
        cap_msg_type=row.cap_msg_type,
        cap_references=list(row.cap_references),
        issued_at=row.issued_at,
        issued_by=row.issued_by,
        withdraws=row.withdraws_id,
    )


class Strict(BaseModel):
    """A request body that refuses fields it does not know."""

    model_config = ConfigDict(extra="forbid")


class StatementCreate(Strict):
    """Issue a statement from a template."""

    template: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    version: int | None = Field(None, ge=1, description="Default: the latest approved version.")


class WithdrawRequest(Strict):
    """Withdraw an issued statement."""

    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]


class ApproveRequest(Strict):
    """Give one approval to a template version."""

    approval: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None


class PlainCheckRequest(Strict):
    """Text to check for a non-specialist reader."""

    text: Annotated[str, StringConstraints(min_length=1, max_length=50_000)]
    max_sentence_words: int = Field(25, ge=5, le=100)
