"""The lifecycle table, escalation steps and metrics, without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.errors import Conflict
from coherence.incidents import domain
from coherence.incidents.domain import Stamps, Status

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_the_normal_path_is_legal() -> None:
    path = [
        Status.DETECTED,
        Status.ACKNOWLEDGED,
        Status.CONTAINED,
        Status.RECOVERING,
        Status.RESOLVED,
        Status.CLOSED,
    ]
    for current, target in itertools.pairwise(path):
        domain.check_transition(current, target)


@pytest.mark.parametrize(
    ("current", "target"),
    [
        (Status.DETECTED, Status.CONTAINED),
        (Status.DETECTED, Status.CLOSED),
        (Status.ACKNOWLEDGED, Status.CLOSED),
        (Status.CLOSED, Status.ACKNOWLEDGED),
        (Status.RESOLVED, Status.RECOVERING),
    ],
)
def test_illegal_moves_name_the_allowed_ones(current: Status, target: Status) -> None:
    with pytest.raises(Conflict) as caught:
        domain.check_transition(current, target)
    assert caught.value.field == "status"
    assert current.value in caught.value.message
    for allowed in domain.TRANSITIONS[current]:
        assert allowed.value in caught.value.message


def test_a_detected_incident_must_be_acknowledged_first() -> None:
    with pytest.raises(Conflict, match="acknowledge it first"):
        domain.check_transition(Status.DETECTED, Status.RESOLVED)


def test_resolved_and_closed_point_to_reopen() -> None:
    with pytest.raises(Conflict, match="reopen"):
        domain.check_transition(Status.CLOSED, Status.RECOVERING)
    domain.check_reopen(Status.CLOSED)
    domain.check_reopen(Status.RESOLVED)
    with pytest.raises(Conflict):
        domain.check_reopen(Status.CONTAINED)


@given(st.lists(st.sampled_from(list(Status)), max_size=30))
def test_any_sequence_of_requests_only_follows_the_table(targets: list[Status]) -> None:
    current = Status.DETECTED
    for target in targets:
        try:
            domain.check_transition(current, target)
        except Conflict:
            assert target not in domain.TRANSITIONS[current]
            continue
        assert target in domain.TRANSITIONS[current]
        current = target


def test_same_status_is_refused() -> None:
    with pytest.raises(Conflict, match="already"):
        domain.check_transition(Status.CONTAINED, Status.CONTAINED)


def test_metrics_derive_from_raw_stamps() -> None:
    stamps = Stamps(
        occurred_at=T0 - timedelta(minutes=2),
        detected_at=T0,
        acknowledged_at=T0 + timedelta(minutes=3),
        contained_at=T0 + timedelta(minutes=20),
        recovering_at=T0 + timedelta(minutes=30),
        resolved_at=T0 + timedelta(hours=2),
        closed_at=None,
    )
    metrics = domain.incident_metrics(stamps)
    assert metrics == {
        "time_to_detect": 120.0,
        "time_to_acknowledge": 180.0,
        "time_to_contain": 1200.0,
        "time_to_recover": 7200.0,
        "time_to_close": None,
    }


def test_aggregate_skips_unreached_metrics() -> None:
    summary = domain.aggregate_metrics(
        [
            {"time_to_acknowledge": 60.0},
            {"time_to_acknowledge": 180.0},
            {"time_to_acknowledge": None},
        ]
    )
    assert summary["time_to_acknowledge"]["count"] == 2
    assert summary["time_to_acknowledge"]["mean"] == 120.0
    assert summary["time_to_contain"]["count"] == 0
    assert summary["time_to_contain"]["mean"] is None


def test_escalation_walks_the_levels_then_stops() -> None:
    levels: list[dict[str, object]] = [
        {"ack_within_minutes": 5},
        {"ack_within_minutes": 10},
        {"ack_within_minutes": 15},
    ]
    first = domain.next_escalation(levels, current_level=0, paged_at=T0)
    assert first == domain.EscalationStep(level=1, due_at=T0 + timedelta(minutes=5))
    second = domain.next_escalation(levels, current_level=1, paged_at=first.due_at)
    assert second is not None
    assert second.due_at == T0 + timedelta(minutes=15)
    assert domain.next_escalation(levels, current_level=2, paged_at=second.due_at) is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("INC-00042", 42),
        ("inc-7", 7),
        ("42", 42),
        (" 3 ", 3),
        ("INC-", None),
        ("abc", None),
        ("9" * 40, None),
        ("-1", None),
    ],
)
def test_references_parse(text: str, expected: int | None) -> None:
    assert domain.parse_reference(text) == expected


def test_reference_round_trips() -> None:
    assert domain.parse_reference(domain.reference(42)) == 42


def test_moving_back_and_forth_keeps_the_first_containment() -> None:
    assert domain.stamp_to_set(Status.CONTAINED, {"contained_at": None}) == "contained_at"
    assert domain.stamp_to_set(Status.CONTAINED, {"contained_at": T0}) is None
    assert domain.stamp_to_set(Status.RESOLVED, {"resolved_at": T0}) == "resolved_at"


def test_classification_falls_back_to_the_playbook_and_names_missing_fields() -> None:
    from coherence.errors import ValidationFailed
    from coherence.playbooks.domain import standard_scheme

    scheme = standard_scheme()
    defaults = ("cryogenic", "major", "high")
    picked = domain.classify(
        scheme, category=None, impact=None, urgency="immediate", defaults=defaults
    )
    assert (picked.category, picked.impact, picked.urgency) == ("cryogenic", "major", "immediate")
    assert picked.severity == scheme.severity_for(impact="major", urgency="immediate")
    for kwargs, field in (
        ({"category": None, "impact": "major", "urgency": "high"}, "category"),
        ({"category": "vacuum", "impact": None, "urgency": "high"}, "impact"),
        ({"category": "vacuum", "impact": "major", "urgency": None}, "urgency"),
    ):
        with pytest.raises(ValidationFailed) as caught:
            domain.classify(scheme, defaults=None, **kwargs)
        assert caught.value.field == field
