"""The living playbook: changes proposed from findings, their review, and review due dates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.models import PlaybookVersion
from coherence.reviews import repository
from coherence.reviews.domain import (
    ACTIVE_CHANGES,
    ChangeStatus,
    ReviewStanding,
    check_approver,
    check_change_move,
    finding_reference,
    review_standing,
    unified_diff,
)
from coherence.reviews.models import Finding, PlaybookChange, PlaybookReview
from coherence.reviews.service import get_finding_or_raise, reference_of


def finding_ref(finding: Finding) -> str:
    """Return a finding's reference, e.g. INC-00042/F1 or NM-00003/F1."""
    return finding_reference(reference_of(finding.review), finding.number)


def current_version(session: Session, key: str) -> PlaybookVersion | None:
    """Return the newest published version of a playbook, or None for a new one."""
    versions = playbooks_service.history(session, key)
    return versions[-1] if versions else None


def diff_of(session: Session, change: PlaybookChange) -> str:
    """Return the change's unified diff: from what it replaced once decided, else from now."""
    if change.status == ChangeStatus.APPROVED.value or change.base_version is None:
        base = change.base_version
    else:
        latest = current_version(session, change.playbook_key)
        base = latest.version if latest is not None else None
    before = (
        playbooks_service.get_version_or_raise(session, change.playbook_key, base).document
        if base is not None
        else None
    )
    return unified_diff(before, change.document, key=change.playbook_key, current_version=base)


def latest_change(finding: Finding) -> PlaybookChange | None:
    """Return the newest change proposed for a finding."""
    return finding.changes[-1] if finding.changes else None


def _latest_or_raise(finding: Finding) -> PlaybookChange:
    change = latest_change(finding)
    if change is None:
        raise NotFound("no playbook change was proposed for this finding", field="number")
    return change


def _ledger(
    session: Session,
    clock: Clock,
    change: PlaybookChange,
    entry_type: EntryType,
    actor: str,
    **extra: Any,
) -> None:
    incident_id = change.finding.review.incident_id
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=f"playbook:{change.playbook_key}",
        incident_id=incident_id,
        payload={
            "finding": finding_ref(change.finding),
            "change": change.id,
            "playbook": change.playbook_key,
            "base_version": change.base_version,
            **extra,
        },
    )


def propose(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    number: int,
    rationale: str,
    document: dict[str, Any],
    actor: str,
) -> PlaybookChange:
    """Propose a new playbook version for an incident's finding, or redraft your own draft."""
    return propose_for(
        session,
        clock=clock,
        finding=get_finding_or_raise(session, ref, number),
        rationale=rationale,
        document=document,
        actor=actor,
    )


def propose_for(
    session: Session,
    *,
    clock: Clock,
    finding: Finding,
    rationale: str,
    document: dict[str, Any],
    actor: str,
) -> PlaybookChange:
    """Propose a new playbook version for a finding, or redraft your own draft."""
    doc = playbooks_service.validate(document, source="document")
    digest = playbooks_service.content_hash(doc)
    current = current_version(session, doc.key)
    if current is not None and current.content_hash == digest:
        raise ValidationFailed(
            f"the proposed document is the same as {doc.key} v{current.version}; change something",
            field="document",
        )
    change = latest_change(finding)
    if change is not None and change.status == ChangeStatus.IN_REVIEW.value:
        raise Conflict(
            "a change for this finding is in review; wait for the decision", field="number"
        )
    if change is not None and change.status == ChangeStatus.DRAFT.value:
        if change.proposed_by != actor:
            raise Conflict(
                f"the finding's draft change belongs to {change.proposed_by}; they may redraft it",
                field="number",
            )
    else:
        change = PlaybookChange(finding_id=finding.id, status=ChangeStatus.DRAFT.value)
        session.add(change)
        finding.changes.append(change)
    change.playbook_key = doc.key
    change.base_version = current.version if current is not None else None
    change.document = playbooks_service.document_data(doc)
    change.content_hash = digest
    change.rationale = rationale
    change.proposed_by = actor
    change.proposed_at = clock.now()
    session.flush()
    _ledger(session, clock, change, EntryType.PLAYBOOK_CHANGE_PROPOSED, actor, content_hash=digest)
    return change


def submit(
    session: Session, *, clock: Clock, ref: str | int, number: int, actor: str
) -> PlaybookChange:
    """Send the incident finding's draft change for review."""
    return submit_for(
        session, clock=clock, finding=get_finding_or_raise(session, ref, number), actor=actor
    )


def submit_for(session: Session, *, clock: Clock, finding: Finding, actor: str) -> PlaybookChange:
    """Send the finding's draft change for review."""
    change = _latest_or_raise(finding)
    check_change_move(ChangeStatus(change.status), ChangeStatus.IN_REVIEW)
    change.status = ChangeStatus.IN_REVIEW.value
    change.submitted_at = clock.now()
    session.flush()
    _ledger(session, clock, change, EntryType.PLAYBOOK_CHANGE_SUBMITTED, actor)
    return change


def approve(
    session: Session, *, clock: Clock, ref: str | int, number: int, note: str, actor: str
) -> PlaybookChange:
    """Approve the incident finding's change in review and publish it."""
    return approve_for(
        session,
        clock=clock,
        finding=get_finding_or_raise(session, ref, number),
        note=note,
        actor=actor,
    )


def approve_for(
    session: Session, *, clock: Clock, finding: Finding, note: str, actor: str
) -> PlaybookChange:
    """Approve the change in review and publish it as the playbook's next version."""
    change = _latest_or_raise(finding)
    session.refresh(change, with_for_update=True)
    check_change_move(ChangeStatus(change.status), ChangeStatus.APPROVED)
    check_approver(proposer=change.proposed_by, approver=actor)
    current = current_version(session, change.playbook_key)
    now_at = current.version if current is not None else None
    if now_at != change.base_version:
        raise Conflict(
            f"{change.playbook_key} is at v{now_at} but the change was written against "
            f"v{change.base_version}; reject it and propose again from the current version",
            field="base_version",
        )
    row, _created = playbooks_service.publish(
        session,
        clock=clock,
        data=dict(change.document),
        actor=actor,
        source=f"review {finding_ref(change.finding)}",
        finding=finding_ref(change.finding),
    )
    _decide(change, ChangeStatus.APPROVED, actor, note, clock.now())
    change.published_version_id = row.id
    session.flush()
    _ledger(session, clock, change, EntryType.PLAYBOOK_CHANGE_APPROVED, actor, version=row.version)
    return change


def reject(
    session: Session, *, clock: Clock, ref: str | int, number: int, note: str, actor: str
) -> PlaybookChange:
    """Reject the incident finding's change in review, saying why."""
    return reject_for(
        session,
        clock=clock,
        finding=get_finding_or_raise(session, ref, number),
        note=note,
        actor=actor,
    )


def reject_for(
    session: Session, *, clock: Clock, finding: Finding, note: str, actor: str
) -> PlaybookChange:
    """Reject the change in review, saying why; a new one may then be proposed."""
    change = _latest_or_raise(finding)
    check_change_move(ChangeStatus(change.status), ChangeStatus.REJECTED)
    if not note.strip():
        raise ValidationFailed("say why the change is rejected", field="note")
    _decide(change, ChangeStatus.REJECTED, actor, note, clock.now())
    session.flush()
    _ledger(session, clock, change, EntryType.PLAYBOOK_CHANGE_REJECTED, actor, note=note)
    return change


def _decide(
    change: PlaybookChange, status: ChangeStatus, actor: str, note: str, at: datetime
) -> None:
    change.status = status.value
    change.decided_by = actor
    change.decided_at = at
    change.decision_note = note or None


def pending(session: Session, *, statuses: Sequence[ChangeStatus] = ()) -> Sequence[PlaybookChange]:
    """Return proposed changes, newest first; default: those still a draft or in review."""
    wanted = statuses or sorted(ACTIVE_CHANGES)
    return repository.changes(session, statuses=[s.value for s in wanted])


def record_review(
    session: Session, *, clock: Clock, key: str, note: str, actor: str
) -> PlaybookReview:
    """Record that a playbook was reviewed and still stands: its review clock restarts."""
    current = playbooks_service.get_latest_or_raise(session, key)
    row = PlaybookReview(
        playbook_key=key,
        version=current.version,
        note=note,
        reviewed_by=actor,
        reviewed_at=clock.now(),
    )
    session.add(row)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.PLAYBOOK_REVIEWED,
        actor=actor,
        subject=f"playbook:{key}",
        payload={"key": key, "version": current.version, "note": note},
    )
    return row


def standings(
    session: Session, *, now: datetime, overdue_only: bool = False
) -> list[ReviewStanding]:
    """Return every playbook's review standing, most overdue first."""
    reviewed = repository.latest_reviews(session)
    found = [
        review_standing(
            key=row.key,
            title=row.title,
            version=row.version,
            interval_days=row.document.get("review_interval_days"),
            published_at=row.published_at,
            reviewed_at=reviewed.get(row.key),
            now=now,
        )
        for row in playbooks_service.list_latest(session)
    ]
    found.sort(key=lambda s: (s.due_at, s.key))
    return [s for s in found if s.overdue or not overdue_only]
