"""Playbook rows as the API and CLI show them."""

from __future__ import annotations

from coherence.playbooks.models import PlaybookVersion
from coherence.playbooks.schemas import PlaybookRead, PlaybookSummary


def summary(row: PlaybookVersion) -> PlaybookSummary:
    """Return a playbook version's summary."""
    return PlaybookSummary(
        key=row.key,
        version=row.version,
        title=row.title,
        category=row.category,
        applies_to=list(row.document.get("applies_to", [])),
        steps=len(row.document.get("steps", [])),
        published_at=row.published_at,
        finding=row.finding,
    )


def full(row: PlaybookVersion) -> PlaybookRead:
    """Return a playbook version with its document."""
    return PlaybookRead(
        **summary(row).model_dump(), content_hash=row.content_hash, document=row.document
    )
