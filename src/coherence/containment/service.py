"""Containment state changes: each applies a rule, appends its ledger entry and flushes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.clock import Clock
from coherence.containment import domain
from coherence.containment.domain import ChangeFacts, ChangeState, Precondition
from coherence.containment.models import ChangeRecord, ContainmentOverride
from coherence.containment.schemas import ChangeCreate
from coherence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Status
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.schemas import PlaybookDocument, ProcedureSpec


def get(session: Session, change_id: int) -> ChangeRecord | None:
    """Return a change record, or None."""
    return session.get(ChangeRecord, change_id)


def get_or_raise(session: Session, change_id: int, *, for_update: bool = False) -> ChangeRecord:
    """Return a change record, or raise NotFound."""
    change = session.get(ChangeRecord, change_id, with_for_update=for_update)
    if change is None:
        raise NotFound(
            f"no change record {change_id}; see `coherence change list INCIDENT`", field="change"
        )
    return change


def changes_for(session: Session, incident_id: int) -> list[ChangeRecord]:
    """Return an incident's change records, oldest first."""
    query = select(ChangeRecord).where(ChangeRecord.incident_id == incident_id)
    return list(session.scalars(query.order_by(ChangeRecord.id)))


def overrides_for(session: Session, incident_id: int) -> list[ContainmentOverride]:
    """Return an incident's containment overrides, oldest first."""
    query = select(ContainmentOverride).where(ContainmentOverride.incident_id == incident_id)
    return list(session.scalars(query.order_by(ContainmentOverride.id)))


def facts(change: ChangeRecord) -> ChangeFacts:
    """Return what the pure rules need to know about a change record."""
    return ChangeFacts(
        id=change.id,
        title=change.title,
        state=ChangeState(change.state),
        safety_critical=change.safety_critical,
        proposed_by=change.proposed_by,
        approvers=tuple(a["person"] for a in change.approvals),
        preconditions=tuple(
            Precondition(p["text"], bool(p["met"]), p.get("checked_by"))
            for p in change.preconditions
        ),
    )


def applicable_procedures(playbook: PlaybookDocument, asset_kind: str) -> list[ProcedureSpec]:
    """Return the playbook's procedures that apply to an asset of ``asset_kind``."""
    return [
        p
        for p in playbook.procedures
        if not p.asset_kinds or asset_kind in {k.value for k in p.asset_kinds}
    ]


def instantiate(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    playbook: PlaybookDocument,
    actor: str,
) -> list[ChangeRecord]:
    """Propose a change for each playbook procedure that fits the incident's asset."""
    return [
        _add(session, clock, incident, _from_procedure(p, [incident.asset.key]), actor)
        for p in applicable_procedures(playbook, incident.asset.kind)
    ]


def propose(
    session: Session, *, clock: Clock, ref: str | int, request: ChangeCreate, actor: str
) -> ChangeRecord:
    """Propose a change: from a procedure of the incident's playbook, or described ad hoc."""
    incident = _open_incident(session, ref)
    assets = [catalog_service.get_asset_or_raise(session, key).key for key in request.assets] or [
        incident.asset.key
    ]
    if request.procedure is not None:
        procedure = _procedure_of(session, incident, request.procedure)
        return _add(session, clock, incident, _from_procedure(procedure, assets), actor)
    fields: dict[str, Any] = {
        "procedure_key": None,
        "title": request.title,
        "what": request.what,
        "why": request.why,
        "expected_effect": request.expected_effect,
        "risk": request.risk.value if request.risk else None,
        "rollback_plan": request.rollback_plan,
        "safety_critical": request.safety_critical,
        "preconditions": list(request.preconditions),
        "assets": assets,
    }
    return _add(session, clock, incident, fields, actor)


def approve(
    session: Session, *, clock: Clock, change_id: int, note: str, actor: str
) -> ChangeRecord:
    """Add an approval; the change is approved once it has as many distinct approvers as needed."""
    change = _writable(session, change_id)
    domain.check_approval(facts(change), actor)
    now = clock.now()
    change.approvals = [*change.approvals, {"person": actor, "at": now.isoformat(), "note": note}]
    approvers = [a["person"] for a in change.approvals]
    approved = domain.is_approved(change.safety_critical, approvers)
    if approved:
        change.state = ChangeState.APPROVED.value
    return _ledger(
        session,
        clock,
        change,
        EntryType.CHANGE_APPROVED,
        actor,
        approver=actor,
        approvals=approvers,
        needed=domain.approvals_needed(change.safety_critical),
        approved=approved,
        note=note,
    )


def check_precondition(
    session: Session, *, clock: Clock, change_id: int, number: int, note: str, actor: str
) -> ChangeRecord:
    """Check precondition ``number`` (counted from 1) as met."""
    change = _writable(session, change_id)
    domain.check_precondition_number(facts(change), number)
    items = [dict(p) for p in change.preconditions]
    item = items[number - 1]
    if item["met"]:
        raise Conflict(
            f"precondition {number} of change {change.id} was already checked by "
            f"{item['checked_by']}",
            field="precondition",
        )
    item.update(met=True, checked_by=actor, checked_at=clock.now().isoformat(), note=note)
    change.preconditions = items
    return _ledger(
        session,
        clock,
        change,
        EntryType.CHANGE_PRECONDITION_CHECKED,
        actor,
        number=number,
        text=item["text"],
        note=note,
    )


def execute(
    session: Session, *, clock: Clock, change_id: int, note: str, actor: str
) -> ChangeRecord:
    """Mark a change executed; refused until approved and every precondition is met."""
    change = _writable(session, change_id)
    domain.check_execution(facts(change))
    change.state = ChangeState.EXECUTED.value
    change.executed_by, change.executed_at = actor, clock.now()
    return _ledger(
        session,
        clock,
        change,
        EntryType.CHANGE_EXECUTED,
        actor,
        title=change.title,
        approvers=[a["person"] for a in change.approvals],
        note=note,
    )


def verify(session: Session, *, clock: Clock, change_id: int, how: str, actor: str) -> ChangeRecord:
    """Mark an executed change verified, recording how its effect was confirmed."""
    change = _writable(session, change_id)
    domain.check_transition(facts(change), ChangeState.VERIFIED)
    change.state = ChangeState.VERIFIED.value
    change.verified_by, change.verified_at, change.verification = actor, clock.now(), how
    return _ledger(session, clock, change, EntryType.CHANGE_VERIFIED, actor, how=how)


def roll_back(
    session: Session, *, clock: Clock, change_id: int, reason: str, actor: str
) -> ChangeRecord:
    """Record that an executed change was undone, and why."""
    return _end(session, clock, change_id, ChangeState.ROLLED_BACK, reason, actor)


def cancel(
    session: Session, *, clock: Clock, change_id: int, reason: str, actor: str
) -> ChangeRecord:
    """Cancel a change that was not executed, and say why."""
    return _end(session, clock, change_id, ChangeState.CANCELLED, reason, actor)


def record_override(
    session: Session, *, clock: Clock, ref: str | int, reason: str, actor: str
) -> ContainmentOverride:
    """Let the incident become contained despite unverified changes; only its commander may."""
    incident = _open_incident(session, ref)
    commander = next(
        (r.person.key for r in incident.roles if r.role == IcsRole.INCIDENT_COMMANDER.value), None
    )
    if actor != commander:
        raise PermissionDenied(
            "only the incident commander"
            + (f" ({commander})" if commander else ", once one is assigned,")
            + " may override the containment gate",
            field="actor",
        )
    if not reason.strip():
        raise ValidationFailed("say why containment may proceed unverified", field="reason")
    unverified = [c.id for c in changes_for(session, incident.id) if c.state == "executed"]
    row = ContainmentOverride(
        incident_id=incident.id,
        reason=reason,
        unverified=unverified,
        recorded_by=actor,
        recorded_at=clock.now(),
    )
    session.add(row)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.CONTAINMENT_OVERRIDDEN,
        actor=actor,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={"override": row.id, "reason": reason, "unverified": unverified},
    )
    return row


def containment_refusal(session: Session, incident_id: int) -> str | None:
    """Return why the incident may not become contained yet, or None if it may."""
    overridden = bool(overrides_for(session, incident_id))
    blocking = domain.blocks_containment(
        [facts(c) for c in changes_for(session, incident_id)], overridden
    )
    return domain.containment_refusal(blocking) if blocking else None


def _open_incident(session: Session, ref: str | int) -> Incident:
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    if Status(incident.status) == Status.CLOSED:
        raise Conflict(
            "the incident is closed; reopen it to change its containment", field="incident"
        )
    return incident


def _writable(session: Session, change_id: int) -> ChangeRecord:
    change = get_or_raise(session, change_id, for_update=True)
    _open_incident(session, change.incident_id)
    return change


def procedures_of(session: Session, incident: Incident) -> list[ProcedureSpec]:
    """The procedures of the playbook version the incident runs (none without a playbook)."""
    if not incident.playbook_key or incident.playbook_version is None:
        return []
    row = playbooks_service.get_version_or_raise(
        session, incident.playbook_key, incident.playbook_version
    )
    return list(playbooks_service.document_of(row).procedures)


def _procedure_of(session: Session, incident: Incident, key: str) -> ProcedureSpec:
    if not incident.playbook_key or incident.playbook_version is None:
        raise ValidationFailed(
            "the incident runs no playbook; describe the change ad hoc instead",
            field="procedure",
        )
    procedures = procedures_of(session, incident)
    found = next((p for p in procedures if p.key == key), None)
    if found is None:
        known = ", ".join(p.key for p in procedures) or "none"
        raise ValidationFailed(
            f"playbook {incident.playbook_key!r} has no procedure {key!r}; it has: {known}",
            field="procedure",
        )
    return found


def _from_procedure(procedure: ProcedureSpec, assets: Sequence[str]) -> dict[str, Any]:
    return {
        "procedure_key": procedure.key,
        "title": procedure.title,
        "what": procedure.what,
        "why": procedure.why,
        "expected_effect": procedure.expected_effect,
        "risk": procedure.risk,
        "rollback_plan": procedure.rollback_plan,
        "safety_critical": procedure.safety_critical,
        "preconditions": list(procedure.preconditions),
        "assets": list(assets),
    }


def _add(
    session: Session, clock: Clock, incident: Incident, fields: dict[str, Any], actor: str
) -> ChangeRecord:
    now = clock.now()
    texts: list[str] = fields.pop("preconditions")
    change = ChangeRecord(
        incident_id=incident.id,
        state=ChangeState.PROPOSED.value,
        preconditions=[{"text": t, "met": False} for t in texts],
        approvals=[],
        proposed_by=actor,
        proposed_at=now,
        updated_at=now,
        **fields,
    )
    session.add(change)
    session.flush()
    return _ledger(
        session,
        clock,
        change,
        EntryType.CHANGE_PROPOSED,
        actor,
        procedure=change.procedure_key,
        title=change.title,
        assets=change.assets,
        risk=change.risk,
        safety_critical=change.safety_critical,
        preconditions=texts,
    )


def _end(
    session: Session,
    clock: Clock,
    change_id: int,
    target: ChangeState,
    reason: str,
    actor: str,
) -> ChangeRecord:
    change = _writable(session, change_id)
    was = change.state
    domain.check_transition(facts(change), target)
    change.state = target.value
    change.ended_by, change.ended_at, change.ended_reason = actor, clock.now(), reason
    entry = (
        EntryType.CHANGE_ROLLED_BACK
        if target is ChangeState.ROLLED_BACK
        else EntryType.CHANGE_CANCELLED
    )
    return _ledger(session, clock, change, entry, actor, **{"from": was, "reason": reason})


def _ledger(
    session: Session,
    clock: Clock,
    change: ChangeRecord,
    entry_type: EntryType,
    actor: str,
    **payload: Any,
) -> ChangeRecord:
    change.updated_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=f"change:{change.id}",
        incident_id=change.incident_id,
        payload={"change": change.id, **payload},
    )
    session.flush()
    return change
