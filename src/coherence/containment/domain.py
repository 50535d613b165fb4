"""Pure rules for containment change records: states, approvals, preconditions and the gate."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum

from coherence.errors import Conflict


class ChangeState(StrEnum):
    """Where a change record stands."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    EXECUTED = "executed"
    VERIFIED = "verified"
    CANCELLED = "cancelled"
    ROLLED_BACK = "rolled_back"


class Risk(StrEnum):
    """How much could go wrong if the change misbehaves."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


TRANSITIONS: dict[ChangeState, frozenset[ChangeState]] = {
    ChangeState.PROPOSED: frozenset({ChangeState.APPROVED, ChangeState.CANCELLED}),
    ChangeState.APPROVED: frozenset({ChangeState.EXECUTED, ChangeState.CANCELLED}),
    ChangeState.EXECUTED: frozenset({ChangeState.VERIFIED, ChangeState.ROLLED_BACK}),
    ChangeState.VERIFIED: frozenset({ChangeState.ROLLED_BACK}),
    ChangeState.CANCELLED: frozenset(),
    ChangeState.ROLLED_BACK: frozenset(),
}

STATE_WORDS: dict[ChangeState, str] = {
    ChangeState.PROPOSED: "Proposed, awaiting approval",
    ChangeState.APPROVED: "Approved, not yet executed",
    ChangeState.EXECUTED: "Executed, not yet verified",
    ChangeState.VERIFIED: "Executed and verified",
    ChangeState.CANCELLED: "Cancelled before execution",
    ChangeState.ROLLED_BACK: "Rolled back",
}

# What to do next from each state, for refusal messages.
_NEXT_STEP: dict[ChangeState, str] = {
    ChangeState.PROPOSED: "approve it first",
    ChangeState.APPROVED: "execute it next, or cancel it",
    ChangeState.EXECUTED: "verify it, or roll it back",
    ChangeState.VERIFIED: "it is finished; roll it back if it must be undone",
    ChangeState.CANCELLED: "it was cancelled; propose a new change instead",
    ChangeState.ROLLED_BACK: "it was rolled back; propose a new change instead",
}


@dataclass(frozen=True)
class Precondition:
    """One condition that must be checked as met before the change is executed."""

    text: str
    met: bool = False
    checked_by: str | None = None


@dataclass(frozen=True)
class ChangeFacts:
    """What the rules need to know about one change record."""

    id: int
    title: str
    state: ChangeState
    safety_critical: bool
    proposed_by: str
    approvers: tuple[str, ...] = ()
    preconditions: tuple[Precondition, ...] = ()


def check_transition(change: ChangeFacts, target: ChangeState) -> None:
    """Raise Conflict unless the change may move to ``target``, saying what to do instead."""
    if target not in TRANSITIONS[change.state]:
        raise Conflict(
            f"change {change.id} is {change.state.value} and cannot become {target.value}; "
            f"{_NEXT_STEP[change.state]}",
            field="state",
        )


def approvals_needed(safety_critical: bool) -> int:
    """Two distinct approvers for a safety-critical change, one otherwise."""
    return 2 if safety_critical else 1


def check_approval(change: ChangeFacts, approver: str) -> None:
    """Raise Conflict unless ``approver`` may add an approval to ``change``."""
    if change.state is not ChangeState.PROPOSED:
        raise Conflict(
            f"change {change.id} is {change.state.value}; only a proposed change takes approvals",
            field="state",
        )
    if approver == change.proposed_by:
        raise Conflict(
            f"{approver} proposed change {change.id} and cannot approve it; "
            "another responder must approve",
            field="approver",
        )
    if approver in change.approvers:
        raise Conflict(
            f"{approver} has already approved change {change.id}; a safety-critical change "
            "needs two different people",
            field="approver",
        )


def is_approved(safety_critical: bool, approvers: Sequence[str]) -> bool:
    """Return whether enough distinct approvers have signed."""
    return len(set(approvers)) >= approvals_needed(safety_critical)


def check_execution(change: ChangeFacts) -> None:
    """Raise Conflict unless the change is approved and every precondition is checked met."""
    if change.state is ChangeState.PROPOSED:
        needed = approvals_needed(change.safety_critical)
        have = len(set(change.approvers))
        by = f" (by {', '.join(change.approvers)})" if change.approvers else ""
        rule = (
            "it is safety-critical and needs two-person approval: two different people, "
            "neither of them the proposer"
            if change.safety_critical
            else "it needs approval by someone other than the proposer"
        )
        raise Conflict(
            f"change {change.id} cannot be executed: {rule}; it has {have} of {needed} "
            f"approval(s){by}",
            field="approvals",
        )
    check_transition(change, ChangeState.EXECUTED)
    unmet = [(n, p) for n, p in enumerate(change.preconditions, start=1) if not p.met]
    if unmet:
        listed = "; ".join(f"{n}. {p.text}" for n, p in unmet)
        raise Conflict(
            f"change {change.id} cannot be executed: {len(unmet)} precondition(s) not checked "
            f"as met: {listed}. Check each one first (`coherence change check`)",
            field="preconditions",
        )


def check_precondition_number(change: ChangeFacts, number: int) -> None:
    """Raise Conflict unless ``number`` (counted from 1) names a precondition still checkable."""
    if change.state not in (ChangeState.PROPOSED, ChangeState.APPROVED):
        raise Conflict(
            f"change {change.id} is {change.state.value}; preconditions are checked before "
            "execution",
            field="state",
        )
    if not 1 <= number <= len(change.preconditions):
        count = len(change.preconditions)
        raise Conflict(
            f"change {change.id} has {count} precondition(s); give a number from 1 to {count}"
            if count
            else f"change {change.id} has no preconditions",
            field="precondition",
        )


def blocks_containment(changes: Iterable[ChangeFacts], override: bool) -> list[ChangeFacts]:
    """Return the changes that keep the incident from becoming contained (none if overridden).

    A change executed but not verified blocks: nobody yet knows it had the effect expected.
    """
    if override:
        return []
    return [c for c in changes if c.state is ChangeState.EXECUTED]


def containment_refusal(blocking: Sequence[ChangeFacts]) -> str:
    """Explain why the incident cannot be contained yet and how to proceed."""
    listed = "; ".join(f"#{c.id} {c.title}" for c in blocking)
    return (
        f"{len(blocking)} containment change(s) are executed but not verified: {listed}. "
        "Verify them (`coherence change verify`), roll them back, or have the incident "
        "commander record an override with a reason (`coherence change override`)"
    )
