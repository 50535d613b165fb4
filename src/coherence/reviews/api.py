"""After-action review HTTP API: findings, proposed playbook changes, playbook review dates."""

from __future__ import annotations

from fastapi import APIRouter, Path, Query

from coherence.access.api import ManagesFacility, Reads, ReadsFacility, Records
from coherence.access.policy import Action
from coherence.http import ERROR_RESPONSES
from coherence.incidents import service as incidents_service
from coherence.reviews import changes, service, views
from coherence.reviews.domain import ChangeStatus
from coherence.reviews.schemas import (
    ChangeCreate,
    ChangeRead,
    Decision,
    FindingCreate,
    FindingRead,
    FindingUpdate,
    PlaybookReviewCreate,
    PlaybookReviewRead,
    ReviewRead,
    ReviewUpdate,
    StandingRead,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"], responses=ERROR_RESPONSES)
NUMBER = Path(description="The finding's number in the review (F1 is 1).", ge=1, le=100_000)
FINDING = "/incidents/{ref}/review/findings/{number}"


@router.get("/incidents/{ref}/review", response_model=ReviewRead, summary="After-action review")
def show_review(ref: str, caller: Reads) -> ReviewRead:
    """The incident's review: summary and findings with owners, status and proposed changes."""
    review = service.get_review_or_raise(caller.session, caller.target.id)
    return views.review_read(caller.session, caller.target, review, now=caller.clock.now())


@router.post("/incidents/{ref}/review", response_model=ReviewRead, summary="Start a review")
def start_review(ref: str, body: ReviewUpdate, caller: Records) -> ReviewRead:
    """Start the incident's review (or change its summary); closed incidents: reviewers only."""
    review = service.start_review(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        summary=body.summary,
        actor=caller.person.key,
    )
    return views.review_read(caller.session, caller.target, review, now=caller.clock.now())


@router.post(
    "/incidents/{ref}/review/findings",
    response_model=FindingRead,
    status_code=201,
    summary="Record a finding",
)
def add_finding(ref: str, body: FindingCreate, caller: Records) -> FindingRead:
    """Record a finding with an owner and due date; starts the review if need be."""
    row = service.add_finding(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        request=body,
        actor=caller.person.key,
    )
    return views.finding_read(caller.session, row, now=caller.clock.now())


@router.get(FINDING, response_model=FindingRead, summary="Show a finding")
def show_finding(ref: str, caller: Reads, number: int = NUMBER) -> FindingRead:
    """One finding with its proposed changes and their diffs."""
    row = service.get_finding_or_raise(caller.session, caller.target.id, number)
    return views.finding_read(caller.session, row, now=caller.clock.now())


@router.patch(FINDING, response_model=FindingRead, summary="Update a finding")
def update_finding(
    ref: str, body: FindingUpdate, caller: Records, number: int = NUMBER
) -> FindingRead:
    """Change title, text, owner, due date or status (wont_do needs a reason)."""
    row = service.update_finding(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        number=number,
        request=body,
        actor=caller.person.key,
    )
    return views.finding_read(caller.session, row, now=caller.clock.now())


@router.post(
    FINDING + "/change", response_model=ChangeRead, status_code=201, summary="Propose a change"
)
def propose_change(
    ref: str, body: ChangeCreate, caller: Records, number: int = NUMBER
) -> ChangeRead:
    """Propose a whole new playbook version for the finding (or redraft your draft)."""
    change = changes.propose(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        number=number,
        rationale=body.rationale,
        document=body.document,
        actor=caller.person.key,
    )
    return views.change_read(caller.session, change)


@router.post(FINDING + "/change/submit", response_model=ChangeRead, summary="Submit for review")
def submit_change(
    ref: str, caller: Records, number: int = NUMBER, body: Decision | None = None
) -> ChangeRead:
    """Send the finding's draft change for review."""
    change = changes.submit(
        caller.session,
        clock=caller.clock,
        ref=caller.target.id,
        number=number,
        actor=caller.person.key,
    )
    return views.change_read(caller.session, change)


@router.post(FINDING + "/change/approve", response_model=ChangeRead, summary="Approve a change")
def approve_change(
    ref: str, caller: ManagesFacility, number: int = NUMBER, body: Decision | None = None
) -> ChangeRead:
    """Approve and publish as the playbook's next version; not by the proposer (403)."""
    incident = incidents_service.get_or_raise(caller.session, ref)
    caller.require(Action.READ, incident)
    change = changes.approve(
        caller.session,
        clock=caller.clock,
        ref=incident.id,
        number=number,
        note=body.note if body else "",
        actor=caller.person.key,
    )
    return views.change_read(caller.session, change)


@router.post(FINDING + "/change/reject", response_model=ChangeRead, summary="Reject a change")
def reject_change(
    ref: str, body: Decision, caller: ManagesFacility, number: int = NUMBER
) -> ChangeRead:
    """Reject the change in review, with a note saying why."""
    incident = incidents_service.get_or_raise(caller.session, ref)
    caller.require(Action.READ, incident)
    change = changes.reject(
        caller.session,
        clock=caller.clock,
        ref=incident.id,
        number=number,
        note=body.note,
        actor=caller.person.key,
    )
    return views.change_read(caller.session, change)


@router.get("/playbook-changes", response_model=list[ChangeRead], summary="Proposed changes")
def list_changes(
    caller: ReadsFacility,
    status: list[ChangeStatus] = Query(
        default_factory=list, description="Only these states; default draft and in_review."
    ),
) -> list[ChangeRead]:
    """Proposed playbook changes on incidents you may read, newest first."""
    return [
        views.change_read(caller.session, c)
        for c in changes.pending(caller.session, statuses=status)
        if caller.can(Action.READ, c.finding.review.incident)
    ]


@router.get("/playbook-reviews", response_model=list[StandingRead], summary="Playbook reviews")
def list_standings(
    caller: ReadsFacility,
    overdue: bool = Query(False, description="Only playbooks past their review date."),
) -> list[StandingRead]:
    """Each playbook's last review (a published version or a no-change review) and next due."""
    found = changes.standings(caller.session, now=caller.clock.now(), overdue_only=overdue)
    return [views.standing_read(s) for s in found]


@router.post(
    "/playbook-reviews",
    response_model=PlaybookReviewRead,
    status_code=201,
    summary="Record a review with no change",
)
def record_review(body: PlaybookReviewCreate, caller: ManagesFacility) -> PlaybookReviewRead:
    """Record that a playbook was reviewed and still stands; its review clock restarts."""
    row = changes.record_review(
        caller.session,
        clock=caller.clock,
        key=body.playbook,
        note=body.note,
        actor=caller.person.key,
    )
    return views.playbook_review_read(row)
