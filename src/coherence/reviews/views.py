"""Reviews as the API, CLI and dashboard show them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.reviews import changes
from coherence.reviews.domain import (
    ChangeStatus,
    FindingStatus,
    ReviewStanding,
    is_overdue,
)
from coherence.reviews.models import AfterActionReview, Finding, PlaybookChange, PlaybookReview
from coherence.reviews.schemas import (
    ChangeRead,
    FindingRead,
    PlaybookReviewRead,
    ReviewRead,
    StandingRead,
)


def change_read(session: Session, change: PlaybookChange) -> ChangeRead:
    """One proposed change with its diff."""
    published = change.published_version
    return ChangeRead(
        id=change.id,
        finding=changes.finding_ref(change.finding),
        playbook=change.playbook_key,
        base_version=change.base_version,
        status=ChangeStatus(change.status),
        rationale=change.rationale,
        proposed_by=change.proposed_by,
        proposed_at=change.proposed_at,
        submitted_at=change.submitted_at,
        decided_by=change.decided_by,
        decided_at=change.decided_at,
        decision_note=change.decision_note,
        published_version=published.version if published is not None else None,
        diff=changes.diff_of(session, change),
    )


def finding_read(session: Session, finding: Finding, *, now: datetime) -> FindingRead:
    """One finding with its changes and the playbook versions it led to."""
    status = FindingStatus(finding.status)
    return FindingRead(
        reference=changes.finding_ref(finding),
        number=finding.number,
        title=finding.title,
        what_happened=finding.what_happened,
        owner=finding.owner,
        due_on=finding.due_on,
        status=status,
        reason=finding.reason,
        overdue=is_overdue(status, finding.due_on, now.date()),
        created_by=finding.created_by,
        created_at=finding.created_at,
        updated_at=finding.updated_at,
        playbook_versions=[
            f"{c.published_version.key}@{c.published_version.version}"
            for c in finding.changes
            if c.published_version is not None
        ],
        changes=[change_read(session, c) for c in finding.changes],
    )


def review_read(
    session: Session, incident: Incident, review: AfterActionReview, *, now: datetime
) -> ReviewRead:
    """An incident's review with every finding."""
    return ReviewRead(
        incident=reference(incident.id),
        kind=incident.kind,
        incident_status=incident.status,
        summary=review.summary,
        started_by=review.started_by,
        started_at=review.started_at,
        findings=[finding_read(session, f, now=now) for f in review.findings],
    )


def standing_read(standing: ReviewStanding) -> StandingRead:
    """A playbook's review standing."""
    return StandingRead(
        playbook=standing.key,
        title=standing.title,
        version=standing.version,
        interval_days=standing.interval_days,
        last_reviewed_at=standing.last_reviewed_at,
        last_review=standing.last_review,
        due_at=standing.due_at,
        overdue=standing.overdue,
    )


def playbook_review_read(row: PlaybookReview) -> PlaybookReviewRead:
    """A recorded no-change review."""
    return PlaybookReviewRead(
        playbook=row.playbook_key,
        version=row.version,
        note=row.note,
        reviewed_by=row.reviewed_by,
        reviewed_at=row.reviewed_at,
    )
