"""Every learning query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from coherence.learning.models import Lesson, NearMiss


def near_misses(
    session: Session, *, status: str | None, category: str | None, limit: int
) -> Sequence[NearMiss]:
    """Near misses, newest first, optionally of one status or category."""
    query = select(NearMiss)
    if status is not None:
        query = query.where(NearMiss.status == status)
    if category is not None:
        query = query.where(NearMiss.category == category)
    return session.scalars(query.order_by(NearMiss.id.desc()).limit(limit)).all()


def lesson_for_finding(session: Session, finding_id: int) -> Lesson | None:
    """The lesson published from a finding, if any."""
    return session.scalars(select(Lesson).where(Lesson.finding_id == finding_id)).one_or_none()


def imported(session: Session, organisation: str, reference: str) -> Lesson | None:
    """A lesson already imported from ``organisation`` under its reference there."""
    query = select(Lesson).where(
        Lesson.origin_organisation == organisation, Lesson.origin_reference == reference
    )
    return session.scalars(query).one_or_none()


def lessons(
    session: Session,
    *,
    asset_kind: str | None = None,
    category: str | None = None,
    playbook: str | None = None,
    text: str | None = None,
    local_only: bool = False,
    limit: int = 200,
) -> Sequence[Lesson]:
    """Lessons matching every filter given, newest first; ``text`` is matched case-blind."""
    query = select(Lesson)
    if asset_kind is not None:
        query = query.where(Lesson.asset_kind == asset_kind)
    if category is not None:
        query = query.where(Lesson.category == category)
    if playbook is not None:
        query = query.where(Lesson.playbook == playbook)
    if text:
        escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        pattern = f"%{escaped}%"
        query = query.where(
            or_(
                Lesson.title.ilike(pattern, escape="\\"),
                Lesson.summary.ilike(pattern, escape="\\"),
                Lesson.lesson.ilike(pattern, escape="\\"),
            )
        )
    if local_only:
        query = query.where(Lesson.origin_reference.is_(None))
    return session.scalars(query.order_by(Lesson.id.desc()).limit(limit)).all()
