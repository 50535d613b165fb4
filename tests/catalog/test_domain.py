"""On-call resolution and dependency cycles, without a database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from coherence.catalog.domain import RotationShape, find_dependency_cycle, on_call_member

START = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
ROTATION = RotationShape(member_ids=[1, 2, 3], starts_at=START, shift=timedelta(hours=12))


def test_members_take_shifts_in_turn() -> None:
    assert on_call_member(ROTATION, START) == 1
    assert on_call_member(ROTATION, START + timedelta(hours=11, minutes=59)) == 1
    assert on_call_member(ROTATION, START + timedelta(hours=12)) == 2
    assert on_call_member(ROTATION, START + timedelta(hours=36)) == 1


def test_nobody_is_on_call_before_the_rotation_starts_or_when_empty() -> None:
    assert on_call_member(ROTATION, START - timedelta(seconds=1)) is None
    empty = RotationShape(member_ids=[], starts_at=START, shift=timedelta(hours=12))
    assert on_call_member(empty, START) is None


def test_cycles_are_found_with_their_path() -> None:
    assert find_dependency_cycle({"a": ["b"], "b": ["c"], "c": []}) is None
    cycle = find_dependency_cycle({"a": ["b"], "b": ["c"], "c": ["a"]})
    assert cycle is not None
    assert cycle[0] == cycle[-1]
    assert set(cycle) == {"a", "b", "c"}
