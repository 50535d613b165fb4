"""Every review query."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coherence.reviews.models import AfterActionReview, Finding, PlaybookChange, PlaybookReview


def review_for(session: Session, incident_id: int) -> AfterActionReview | None:
    """Return the incident's review, if one was started."""
    query = select(AfterActionReview).where(AfterActionReview.incident_id == incident_id)
    return session.scalars(query).one_or_none()


def review_of(session: Session, reference: str) -> AfterActionReview | None:
    """Return the review of something that is not an incident, by its reference."""
    query = select(AfterActionReview).where(AfterActionReview.reference == reference)
    return session.scalars(query).one_or_none()


def finding(session: Session, review_id: int, number: int) -> Finding | None:
    """Return finding ``number`` of a review."""
    query = select(Finding).where(Finding.review_id == review_id, Finding.number == number)
    return session.scalars(query).one_or_none()


def next_number(session: Session, review_id: int) -> int:
    """Return the number the review's next finding takes."""
    query = select(func.max(Finding.number)).where(Finding.review_id == review_id)
    return (session.scalar(query) or 0) + 1


def changes(session: Session, *, statuses: Sequence[str] = ()) -> Sequence[PlaybookChange]:
    """Return proposed playbook changes, newest first, optionally only in some states."""
    query = select(PlaybookChange).order_by(PlaybookChange.id.desc())
    if statuses:
        query = query.where(PlaybookChange.status.in_(statuses))
    return session.scalars(query).all()


def latest_reviews(session: Session) -> dict[str, datetime]:
    """Return, per playbook key, when it was last recorded as reviewed with no change."""
    query = select(PlaybookReview.playbook_key, func.max(PlaybookReview.reviewed_at)).group_by(
        PlaybookReview.playbook_key
    )
    return {row[0]: row[1] for row in session.execute(query)}


def reviews_of(session: Session, key: str) -> Sequence[PlaybookReview]:
    """Return every no-change review of a playbook, newest first."""
    query = select(PlaybookReview).where(PlaybookReview.playbook_key == key)
    return session.scalars(query.order_by(PlaybookReview.id.desc())).all()
