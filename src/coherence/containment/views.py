"""Read models of change records and overrides."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from coherence.containment.domain import STATE_WORDS, ChangeState, Risk, approvals_needed
from coherence.containment.models import ChangeRecord, ContainmentOverride
from coherence.containment.schemas import ApprovalRead, ChangeRead, OverrideRead, PreconditionRead
from coherence.incidents.domain import reference


def _time(value: Any) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def change_read(change: ChangeRecord) -> ChangeRead:
    """Return a change record's read model."""
    state = ChangeState(change.state)
    return ChangeRead(
        id=change.id,
        incident=reference(change.incident_id),
        procedure=change.procedure_key,
        title=change.title,
        what=change.what,
        why=change.why,
        assets=list(change.assets),
        expected_effect=change.expected_effect,
        risk=Risk(change.risk),
        rollback_plan=change.rollback_plan,
        safety_critical=change.safety_critical,
        state=state,
        state_text=STATE_WORDS[state],
        approvals=[
            ApprovalRead(person=a["person"], at=datetime.fromisoformat(a["at"]), note=a["note"])
            for a in change.approvals
        ],
        approvals_needed=approvals_needed(change.safety_critical),
        preconditions=[
            PreconditionRead(
                number=number,
                text=p["text"],
                met=p["met"],
                checked_by=p.get("checked_by"),
                checked_at=_time(p.get("checked_at")),
                note=p.get("note", ""),
            )
            for number, p in enumerate(change.preconditions, start=1)
        ],
        proposed_by=change.proposed_by,
        proposed_at=change.proposed_at,
        executed_by=change.executed_by,
        executed_at=change.executed_at,
        verified_by=change.verified_by,
        verified_at=change.verified_at,
        verification=change.verification,
        ended_by=change.ended_by,
        ended_at=change.ended_at,
        ended_reason=change.ended_reason,
    )


def override_read(row: ContainmentOverride) -> OverrideRead:
    """Return an override's read model."""
    return OverrideRead(
        id=row.id,
        incident=reference(row.incident_id),
        reason=row.reason,
        unverified=list(row.unverified),
        recorded_by=row.recorded_by,
        recorded_at=row.recorded_at,
    )
