"""Pure exercise rules and scoring: the clock, page routing, dependencies, the critical path."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coherence.errors import Conflict
from coherence.exercises import domain, scoring
from coherence.exercises.domain import ActiveComplication, Complication, Segment

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


def test_a_stepped_clock_stands_still_between_steps() -> None:
    clock = [Segment(T0, 0.0, 0.0)]
    assert domain.elapsed_at(clock, T0 + timedelta(minutes=7)) == 0
    clock = domain.stepped(clock, now=T0 + timedelta(minutes=1), to=600)
    assert domain.elapsed_at(clock, T0 + timedelta(seconds=30)) == 0
    assert domain.elapsed_at(clock, T0 + timedelta(hours=3)) == 600
    assert domain.wall_for(clock, 900) is None
    with pytest.raises(Conflict):
        domain.stepped(clock, now=T0 + timedelta(minutes=2), to=300)


def test_an_accelerated_clock_runs_faster_and_says_when_an_inject_falls_due() -> None:
    clock = [Segment(T0, 0.0, domain.rate_of(domain.ClockMode.ACCELERATED, 10))]
    assert domain.elapsed_at(clock, T0 + timedelta(seconds=30)) == 300
    assert domain.wall_for(clock, 600) == T0 + timedelta(seconds=60)
    stopped = domain.frozen(clock, now=T0 + timedelta(seconds=30))
    assert domain.elapsed_at(stopped, T0 + timedelta(hours=1)) == 300


def test_readings_follow_the_series_previous_inject() -> None:
    assert domain.sample_times(3, every=30, now=1000.0, after=None) == [940.0, 970.0, 1000.0]
    assert domain.sample_times(2, every=30, now=1000.0, after=990.0) == [1020.0, 1050.0]


def test_exercise_pages_go_to_the_exercise_channel_or_fail_where_a_complication_says() -> None:
    contacts = [{"channel": "sms", "address": "+1555"}, {"channel": "email", "address": "a@b"}]
    quiet = domain.rehearsed(contacts, person="p", page_real=False, complications=[])
    assert quiet == [
        {"channel": "exercise", "address": "sms:+1555"},
        {"channel": "exercise", "address": "email:a@b"},
    ]
    down = ActiveComplication(Complication.CHANNEL_DOWN, "sms", frozenset(), None, None)
    real = domain.rehearsed(contacts, person="p", page_real=True, complications=[down])
    assert real == [{"channel": "exercise-down", "address": "sms:+1555"}, contacts[1]]
    gone = ActiveComplication(Complication.ROLE_UNREACHABLE, None, frozenset({"p"}), None, 600)
    cut_off = domain.rehearsed(contacts, person="p", page_real=False, complications=[gone])
    assert {c["channel"] for c in cut_off} == {"exercise-down"}
    assert domain.active([gone], at=600) == []


def test_step_dependencies_must_name_steps_and_not_loop() -> None:
    steps = ["a", "b", "c"]
    assert domain.dependency_problems(steps, {"b": ["a"], "c": []}) == []
    assert domain.dependency_problems(steps, {"x": ["a"]})[0]["path"] == "step_dependencies.x"
    assert domain.dependency_problems(steps, {"b": ["y"]})[0]["path"] == "step_dependencies.b[0]"
    assert "loop" in domain.dependency_problems(steps, {"a": ["c"]})[0]["message"]


PLAN = (
    scoring.StepPlan("triage", "Triage", "operations", 5, ()),
    scoring.StepPlan("isolate", "Isolate", "operations", 10, ("triage",)),
    scoring.StepPlan("brief", "Brief", "public_information_officer", 15, ()),
    scoring.StepPlan("restore", "Restore", "operations", 30, ("isolate",)),
)


def facts(**tasks: tuple[str, float | None]) -> scoring.Facts:
    return scoring.Facts(
        steps=PLAN,
        targets={"acknowledged": 5, "resolved": 30},
        onset=0.0,
        milestones={"detected": 1.0, "acknowledged": 3.0, "resolved": 50.0},
        tasks={k: scoring.TaskFact(s, at, "someone") for k, (s, at) in tasks.items()},
        now=60.0,
        sent=(
            scoring.Sent("public", "Update", "The lab lost cooling. Nobody is hurt.", 5.0),
            scoring.Sent(
                "media",
                "Jargon",
                "The mixing chamber stage warmed when the pulse-tube cryocooler tripped; the "
                "dilution refrigerator is above base temperature.",
                6.0,
            ),
        ),
        decisions=(scoring.Decision("Warm up", "ok", "kwame-asante", 4.0),),
    )


def test_the_slowest_step_on_the_critical_path_is_the_bottleneck() -> None:
    result = scoring.score(
        facts(
            triage=("done", 2.0),
            isolate=("done", 41.0),
            brief=("done", 4.0),
            restore=("done", 42.0),
        )
    )
    assert [s.key for s in result.critical_path] == ["triage", "isolate", "restore"]
    assert result.bottleneck is not None
    assert result.bottleneck.key == "isolate"
    assert result.bottleneck.wait == 39
    assert result.bottleneck.verdict == "late"
    assert result.by_role[0].role == "operations"
    milestones = {m.name: m for m in result.milestones}
    assert milestones["acknowledged"].verdict == "on time"
    assert milestones["resolved"].verdict == "late"
    assert milestones["resolved"].took == 49
    assert result.scores["decisions"] == 0
    assert any("Decision without a rationale" in f for f in result.findings)
    assert any(f.startswith("Unclear message to media") for f in result.findings)


def test_checklist_verdicts_and_order() -> None:
    result = scoring.score(
        facts(triage=("open", None), isolate=("done", 5.0), brief=("skipped", 3.0))
    )
    steps = {s.key: s for s in result.steps}
    assert steps["triage"].verdict == "missed"
    assert steps["isolate"].out_of_order
    assert steps["isolate"].verdict == "on time"
    assert steps["brief"].verdict == "skipped"
    assert steps["restore"].verdict == "missed"
    assert steps["restore"].wait == 55
    assert result.scores["checklist"] == 0


def test_no_incident_means_nothing_to_score_but_the_misses() -> None:
    empty = scoring.Facts(PLAN, {"acknowledged": 5}, None, {}, {}, 20.0)
    result = scoring.score(empty)
    assert result.steps == ()
    assert result.bottleneck is None
    assert "No decision was recorded." in result.findings
