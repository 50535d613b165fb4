"""The pure containment rules, without a database."""

from __future__ import annotations

import pytest

from coherence.containment.domain import (
    ChangeFacts,
    ChangeState,
    Precondition,
    blocks_containment,
    check_approval,
    check_execution,
    check_transition,
    is_approved,
)
from coherence.errors import Conflict


def change(**overrides: object) -> ChangeFacts:
    fields: dict[str, object] = {
        "id": 1,
        "title": "Put fridge-1 into its safe state",
        "state": ChangeState.PROPOSED,
        "safety_critical": True,
        "proposed_by": "amara-osei",
    }
    return ChangeFacts(**(fields | overrides))  # type: ignore[arg-type]


def test_the_proposer_cannot_approve() -> None:
    with pytest.raises(Conflict, match="proposed change 1 and cannot approve"):
        check_approval(change(), "amara-osei")


def test_the_same_person_cannot_approve_twice() -> None:
    with pytest.raises(Conflict, match="already approved"):
        check_approval(change(approvers=("kwame-asante",)), "kwame-asante")


def test_safety_critical_needs_two_distinct_approvers() -> None:
    assert not is_approved(True, ["kwame-asante"])
    assert is_approved(True, ["kwame-asante", "priya-raman"])
    assert is_approved(False, ["kwame-asante"])


def test_one_approval_on_a_safety_critical_change_refuses_execution_naming_why() -> None:
    with pytest.raises(Conflict) as refused:
        check_execution(change(approvers=("kwame-asante",)))
    assert "two-person approval" in refused.value.message
    assert "1 of 2" in refused.value.message
    assert refused.value.field == "approvals"


def test_unmet_preconditions_refuse_execution_listing_them() -> None:
    approved = change(
        state=ChangeState.APPROVED,
        preconditions=(Precondition("UPS healthy", met=True), Precondition("P5 recorded")),
    )
    with pytest.raises(Conflict, match=r"2\. P5 recorded"):
        check_execution(approved)


def test_illegal_transitions_say_what_to_do() -> None:
    with pytest.raises(Conflict, match="verify it, or roll it back"):
        check_transition(change(state=ChangeState.EXECUTED), ChangeState.CANCELLED)
    check_transition(change(state=ChangeState.EXECUTED), ChangeState.ROLLED_BACK)


def test_executed_unverified_changes_block_containment_unless_overridden() -> None:
    changes = [
        change(id=1, state=ChangeState.EXECUTED),
        change(id=2, state=ChangeState.VERIFIED),
        change(id=3, state=ChangeState.PROPOSED),
    ]
    assert [c.id for c in blocks_containment(changes, False)] == [1]
    assert blocks_containment(changes, True) == []
