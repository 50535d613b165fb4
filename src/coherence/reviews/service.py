"""After-action review state changes: start a review, record and follow up findings."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import NotFound, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.reviews import repository
from coherence.reviews.domain import FindingStatus, check_finding_move, finding_reference
from coherence.reviews.models import AfterActionReview, Finding
from coherence.reviews.schemas import FindingCreate, FindingUpdate


def get_review(session: Session, ref: str | int) -> tuple[Incident, AfterActionReview | None]:
    """Return the incident and its review (None if none was started)."""
    incident = incidents_service.get_or_raise(session, ref)
    return incident, repository.review_for(session, incident.id)


def get_review_or_raise(session: Session, ref: str | int) -> AfterActionReview:
    """Return the incident's review, or NotFound saying how to start one."""
    _incident, review = get_review(session, ref)
    if review is None:
        raise NotFound(
            "no after-action review for this incident yet; start one with "
            "`coherence review start` or by recording a finding",
            field="ref",
        )
    return review


def reference_of(review: AfterActionReview) -> str:
    """Return the reference of what a review is of: INC-00042, or e.g. NM-00003."""
    if review.incident_id is not None:
        return reference(review.incident_id)
    return review.reference or f"review-{review.id}"


def subject_of(review: AfterActionReview) -> str:
    """Return the ledger subject the review's entries are recorded under."""
    if review.incident is not None:
        return incidents_service.subject_of(review.incident)
    return review.subject or f"review:{review.id}"


def _ledger(
    session: Session,
    clock: Clock,
    review: AfterActionReview,
    entry_type: EntryType,
    actor: str,
    payload: dict[str, Any],
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=subject_of(review),
        incident_id=review.incident_id,
        payload=payload,
    )


def _ensure_review(
    session: Session, clock: Clock, incident: Incident, actor: str
) -> AfterActionReview:
    review = repository.review_for(session, incident.id)
    if review is not None:
        return review
    now = clock.now()
    review = AfterActionReview(
        incident_id=incident.id, summary="", started_by=actor, started_at=now, updated_at=now
    )
    session.add(review)
    session.flush()
    _ledger(
        session,
        clock,
        review,
        EntryType.REVIEW_STARTED,
        actor,
        {"incident": reference(incident.id), "kind": incident.kind},
    )
    return review


def review_by_reference(session: Session, ref: str) -> AfterActionReview | None:
    """Return the review of something that is not an incident (e.g. NM-00003), if started."""
    return repository.review_of(session, ref)


def open_review(
    session: Session, *, clock: Clock, ref: str, subject: str, kind: str, actor: str
) -> AfterActionReview:
    """Start the review of something that is not an incident (a near miss), once."""
    review = review_by_reference(session, ref)
    if review is not None:
        return review
    now = clock.now()
    review = AfterActionReview(
        reference=ref, subject=subject, summary="", started_by=actor, started_at=now, updated_at=now
    )
    session.add(review)
    session.flush()
    _ledger(session, clock, review, EntryType.REVIEW_STARTED, actor, {"of": ref, "kind": kind})
    return review


def start_review(
    session: Session, *, clock: Clock, ref: str | int, summary: str, actor: str
) -> AfterActionReview:
    """Start the incident's review (once) and set its summary."""
    incident = incidents_service.get_or_raise(session, ref)
    review = _ensure_review(session, clock, incident, actor)
    if summary != review.summary:
        review.summary = summary
        review.updated_at = clock.now()
    session.flush()
    return review


def _check_owner(session: Session, owner: str) -> None:
    if catalog_service.get_person(session, owner) is None:
        raise ValidationFailed(
            f"no person with key {owner!r}; see `coherence facility people`", field="owner"
        )


def add_finding(
    session: Session, *, clock: Clock, ref: str | int, request: FindingCreate, actor: str
) -> Finding:
    """Record a finding with its owner and due date, starting the review if need be."""
    incident = incidents_service.get_or_raise(session, ref)
    # Checked before the review starts, so a bad owner never starts one.
    _check_owner(session, request.owner)
    review = _ensure_review(session, clock, incident, actor)
    return record_finding(session, clock=clock, review=review, request=request, actor=actor)


def record_finding(
    session: Session,
    *,
    clock: Clock,
    review: AfterActionReview,
    request: FindingCreate,
    actor: str,
) -> Finding:
    """Record a finding on a review that is already started."""
    _check_owner(session, request.owner)
    now = clock.now()
    row = Finding(
        review_id=review.id,
        number=repository.next_number(session, review.id),
        title=request.title,
        what_happened=request.what_happened,
        owner=request.owner,
        due_on=request.due_on,
        status=FindingStatus.OPEN.value,
        created_by=actor,
        created_at=now,
        updated_at=now,
    )
    session.add(row)
    review.updated_at = now
    session.flush()
    _ledger(
        session,
        clock,
        review,
        EntryType.FINDING_RECORDED,
        actor,
        {
            "finding": finding_reference(reference_of(review), row.number),
            "title": row.title,
            "owner": row.owner,
            "due_on": row.due_on.isoformat() if row.due_on else None,
        },
    )
    return row


def get_finding_or_raise(session: Session, ref: str | int, number: int) -> Finding:
    """Return finding ``number`` of the incident's review, or NotFound."""
    return finding_of_or_raise(session, get_review_or_raise(session, ref), number)


def finding_of_or_raise(session: Session, review: AfterActionReview, number: int) -> Finding:
    """Return finding ``number`` of a review, or NotFound."""
    row = repository.finding(session, review.id, number)
    if row is None:
        raise NotFound(f"the review has no finding {number}", field="number")
    return row


def update_finding(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    number: int,
    request: FindingUpdate,
    actor: str,
) -> Finding:
    """Change a finding's text, owner, due date or status; every change is ledgered."""
    incident = incidents_service.get_or_raise(session, ref)
    review = get_review_or_raise(session, incident.id)
    return change_finding(
        session, clock=clock, review=review, number=number, request=request, actor=actor
    )


def change_finding(
    session: Session,
    *,
    clock: Clock,
    review: AfterActionReview,
    number: int,
    request: FindingUpdate,
    actor: str,
) -> Finding:
    """Change a finding of a started review; every change is ledgered."""
    row = finding_of_or_raise(session, review, number)
    given = request.model_dump(exclude_unset=True)
    if not given:
        raise ValidationFailed(
            "give at least one of title, what_happened, owner, due_on, status, reason",
            field="body",
        )
    if request.owner is not None:
        _check_owner(session, request.owner)
    for name in ("title", "what_happened", "owner"):
        if given.get(name) is None and name in given:
            raise ValidationFailed(f"{name} cannot be emptied", field=name)
    status = FindingStatus(row.status)
    target = request.status or status
    check_finding_move(status, target, request.reason)
    if "reason" in given and target is not FindingStatus.WONT_DO:
        raise ValidationFailed("a reason goes with status wont_do", field="reason")
    changed = _apply(row, given, target)
    if not changed:
        return row
    row.updated_at = clock.now()
    session.flush()
    _ledger(
        session,
        clock,
        review,
        EntryType.FINDING_UPDATED,
        actor,
        {"finding": finding_reference(reference_of(review), row.number), **changed},
    )
    return row


def _apply(row: Finding, given: dict[str, Any], target: FindingStatus) -> dict[str, Any]:
    changed: dict[str, Any] = {}
    for name in ("title", "what_happened", "owner", "due_on"):
        if name in given and given[name] != getattr(row, name):
            setattr(row, name, given[name])
            value = given[name]
            changed[name] = value.isoformat() if hasattr(value, "isoformat") else value
    if target.value != row.status:
        changed["status"] = target.value
        row.status = target.value
    reason = given.get("reason") if target is FindingStatus.WONT_DO else None
    if reason != row.reason:
        row.reason = reason
        if reason:
            changed["reason"] = reason
    return changed
