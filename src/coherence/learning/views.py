"""Near misses and lessons as the API, CLI and dashboard show them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory
from coherence.learning import lessons
from coherence.learning import service as near_misses
from coherence.learning.domain import LessonSource, NearMissStatus, lesson_reference
from coherence.learning.domain import near_miss_reference as reference
from coherence.learning.models import Lesson, NearMiss
from coherence.learning.schemas import LessonRead, NearMissRead
from coherence.reviews import views as review_views


def near_miss_read(session: Session, row: NearMiss, *, now: datetime) -> NearMissRead:
    """A near miss with its findings."""
    review = near_misses.review_of(session, row)
    findings = review.findings if review is not None else []
    return NearMissRead(
        reference=reference(row.id),
        what_happened=row.what_happened,
        category=row.category,
        site=row.site.key if row.site else None,
        asset=row.asset.key if row.asset else None,
        tlp=row.tlp,
        anonymous=row.anonymous,
        reported_by=row.reported_by,
        reported_at=row.reported_at,
        status=NearMissStatus(row.status),
        closed_at=row.closed_at,
        close_note=row.close_note,
        findings=[review_views.finding_read(session, f, now=now) for f in findings],
    )


def lesson_read(row: Lesson, entitled: frozenset[DataCategory]) -> LessonRead:
    """A lesson with the text a reader entitled to ``entitled`` may read."""
    shown, withheld = lessons.visible(row, entitled)
    return LessonRead(
        reference=lesson_reference(row.id),
        source=LessonSource(row.source),
        title=shown["title"],
        summary=shown["summary"],
        lesson=shown["lesson"],
        category=row.category,
        asset_kind=row.asset_kind,
        playbook=row.playbook,
        tlp=row.tlp,
        data_category=row.data_category,
        origin_organisation=row.origin_organisation,
        origin_reference=row.origin_reference,
        published_at=row.published_at,
        withheld=withheld,
    )
