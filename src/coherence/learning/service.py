"""Near misses: report one in a minute (anonymously if need be), review it like an incident."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from coherence.access.domain import Tlp
from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.learning import repository
from coherence.learning.domain import (
    ANONYMOUS,
    NearMissStatus,
    check_move,
    near_miss_reference,
    parse_near_miss,
)
from coherence.learning.models import NearMiss
from coherence.learning.schemas import NearMissCreate
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks.domain import standard_scheme
from coherence.reviews import changes as review_changes
from coherence.reviews import service as reviews_service
from coherence.reviews.models import AfterActionReview, Finding, PlaybookChange
from coherence.reviews.schemas import FindingCreate, FindingUpdate

KIND = "near_miss"


def subject_of(row: NearMiss) -> str:
    """The ledger subject of a near miss's entries."""
    return f"near_miss:{near_miss_reference(row.id)}"


def get(session: Session, ref: str | int) -> NearMiss | None:
    """Return a near miss by id or reference, or None."""
    near_miss_id = ref if isinstance(ref, int) else parse_near_miss(ref)
    return session.get(NearMiss, near_miss_id)


def get_or_raise(session: Session, ref: str | int, *, for_update: bool = False) -> NearMiss:
    """Return a near miss by id or reference, or NotFound."""
    row = get(session, ref)
    if row is None:
        raise NotFound(f"no near miss {ref}; see `coherence nearmiss list`", field="near_miss")
    if for_update:
        session.refresh(row, with_for_update=True)
    return row


def list_near_misses(
    session: Session,
    *,
    status: NearMissStatus | None = None,
    category: str | None = None,
    limit: int = 200,
) -> Sequence[NearMiss]:
    """Near misses, newest first."""
    return repository.near_misses(
        session, status=status.value if status else None, category=category, limit=limit
    )


def _ledger(
    session: Session,
    clock: Clock,
    row: NearMiss,
    entry_type: EntryType,
    actor: str,
    payload: dict[str, Any],
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=subject_of(row),
        payload={"near_miss": near_miss_reference(row.id), **payload},
    )


def report(session: Session, *, clock: Clock, request: NearMissCreate, actor: str) -> NearMiss:
    """Record a near miss; an anonymous one keeps ``actor`` nowhere, not even in the ledger."""
    category = standard_scheme().category(request.category)
    if request.tlp is Tlp.RED:
        raise ValidationFailed(
            "a near miss is for the facility to learn from; TLP:RED is for named recipients "
            "only: use AMBER+STRICT at most",
            field="tlp",
        )
    asset = catalog_service.get_asset_or_raise(session, request.asset) if request.asset else None
    site = catalog_service.get_site_or_raise(session, request.site) if request.site else None
    if asset is not None and site is not None and asset.site_id != site.id:
        raise ValidationFailed(
            f"asset {asset.key!r} is at site {asset.site.key!r}, not {site.key!r}", field="asset"
        )
    reporter = None if request.anonymous else actor
    row = NearMiss(
        what_happened=request.what_happened,
        category=category.key,
        site=site or (asset.site if asset is not None else None),
        asset=asset,
        tlp=request.tlp.value,
        anonymous=request.anonymous,
        reported_by=reporter,
        reported_at=clock.now(),
        status=NearMissStatus.REPORTED.value,
    )
    session.add(row)
    session.flush()
    _ledger(
        session,
        clock,
        row,
        EntryType.NEAR_MISS_REPORTED,
        reporter or ANONYMOUS,
        {
            "category": row.category,
            "site": row.site.key if row.site else None,
            "asset": asset.key if asset else None,
            "tlp": row.tlp,
            "anonymous": row.anonymous,
            "what_happened": row.what_happened,
        },
    )
    return row


def review_of(session: Session, row: NearMiss) -> AfterActionReview | None:
    """The near miss's review, once a finding started it."""
    return reviews_service.review_by_reference(session, near_miss_reference(row.id))


def _open_for_review(session: Session, ref: str | int) -> NearMiss:
    row = get_or_raise(session, ref, for_update=True)
    if row.status == NearMissStatus.CLOSED.value:
        raise Conflict(
            f"{near_miss_reference(row.id)} is closed; reopen it to change its review",
            field="status",
        )
    return row


def add_finding(
    session: Session, *, clock: Clock, ref: str | int, request: FindingCreate, actor: str
) -> Finding:
    """Record a finding on a near miss, starting its review (and moving it to reviewing)."""
    row = _open_for_review(session, ref)
    review = reviews_service.open_review(
        session,
        clock=clock,
        ref=near_miss_reference(row.id),
        subject=subject_of(row),
        kind=KIND,
        actor=actor,
    )
    if row.status == NearMissStatus.REPORTED.value:
        row.status = NearMissStatus.REVIEWING.value
    return reviews_service.record_finding(
        session, clock=clock, review=review, request=request, actor=actor
    )


def _review_or_raise(session: Session, row: NearMiss) -> AfterActionReview:
    review = review_of(session, row)
    if review is None:
        raise NotFound(
            f"{near_miss_reference(row.id)} has no findings yet; record one first",
            field="number",
        )
    return review


def finding_or_raise(session: Session, ref: str | int, number: int) -> Finding:
    """Return finding ``number`` of a near miss, or NotFound."""
    row = get_or_raise(session, ref)
    return reviews_service.finding_of_or_raise(session, _review_or_raise(session, row), number)


def update_finding(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    number: int,
    request: FindingUpdate,
    actor: str,
) -> Finding:
    """Change a near-miss finding's text, owner, due date or status."""
    row = _open_for_review(session, ref)
    return reviews_service.change_finding(
        session,
        clock=clock,
        review=_review_or_raise(session, row),
        number=number,
        request=request,
        actor=actor,
    )


def propose_change(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    number: int,
    rationale: str,
    document: dict[str, Any],
    actor: str,
) -> PlaybookChange:
    """Propose a new playbook version for a near-miss finding, as for an incident's."""
    _open_for_review(session, ref)
    return review_changes.propose_for(
        session,
        clock=clock,
        finding=finding_or_raise(session, ref, number),
        rationale=rationale,
        document=document,
        actor=actor,
    )


def submit_change(
    session: Session, *, clock: Clock, ref: str | int, number: int, actor: str
) -> PlaybookChange:
    """Send a near-miss finding's draft change for review."""
    finding = finding_or_raise(session, ref, number)
    return review_changes.submit_for(session, clock=clock, finding=finding, actor=actor)


def approve_change(
    session: Session, *, clock: Clock, ref: str | int, number: int, note: str, actor: str
) -> PlaybookChange:
    """Approve a near-miss finding's change and publish the playbook's next version."""
    finding = finding_or_raise(session, ref, number)
    return review_changes.approve_for(session, clock=clock, finding=finding, note=note, actor=actor)


def reject_change(
    session: Session, *, clock: Clock, ref: str | int, number: int, note: str, actor: str
) -> PlaybookChange:
    """Reject a near-miss finding's change in review, saying why."""
    finding = finding_or_raise(session, ref, number)
    return review_changes.reject_for(session, clock=clock, finding=finding, note=note, actor=actor)


def move(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    target: NearMissStatus,
    note: str,
    actor: str,
) -> NearMiss:
    """Close a near miss's review with a note saying what came of it, or reopen it."""
    row = get_or_raise(session, ref, for_update=True)
    current = NearMissStatus(row.status)
    if target is NearMissStatus.REPORTED:
        raise ValidationFailed("a near miss goes back to reviewing, not reported", field="status")
    check_move(current, target)
    if not note.strip():
        raise ValidationFailed("say what came of the review, or why it reopens", field="note")
    row.status = target.value
    closing = target is NearMissStatus.CLOSED
    row.closed_at = clock.now() if closing else None
    row.close_note = note if closing else None
    session.flush()
    entry = EntryType.NEAR_MISS_CLOSED if closing else EntryType.NEAR_MISS_REOPENED
    _ledger(session, clock, row, entry, actor, {"note": note})
    return row
