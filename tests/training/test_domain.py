"""Qualification, reminder and readiness rules, without a database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from coherence.training import domain, readiness
from coherence.training.domain import Course, CourseKind, Curriculum, Entry, RecordKind, Standing

COMMAND = Course("command", "Incident command", CourseKind.COURSE, frozenset({"ic"}), 1000)
TABLETOP = Course("tabletop", "Tabletop", CourseKind.DRILL, frozenset({"ic"}), 365, 70)
CURRICULUM = Curriculum({"command": COMMAND, "tabletop": TABLETOP}, frozenset({"ic"}), (30, 7))
TODAY = date(2026, 1, 5)


def done(course: str, on: date) -> Entry:
    return Entry(RecordKind.COMPLETION, course, on)


def test_a_role_needs_every_course_that_qualifies_for_it_within_its_validity() -> None:
    found = domain.qualifications(
        CURRICULUM, [done("command", date(2025, 1, 1)), done("tabletop", date(2025, 6, 1))], TODAY
    )["ic"]
    assert found.standing is Standing.QUALIFIED
    # The drill lapses first: 2025-06-01 + 365 days.
    assert found.expires_on == date(2026, 6, 1)
    assert found.renew == ("tabletop",)
    assert found.valid_at(datetime(2026, 5, 31, 23, tzinfo=UTC))
    assert not found.valid_at(datetime(2026, 6, 1, tzinfo=UTC))


def test_missing_and_lapsed_courses_are_named() -> None:
    missing = domain.qualifications(CURRICULUM, [done("command", date(2025, 1, 1))], TODAY)["ic"]
    assert (missing.standing, missing.missing, missing.expires_on) == (
        Standing.UNQUALIFIED,
        ("tabletop",),
        None,
    )
    lapsed = domain.qualifications(
        CURRICULUM, [done("command", date(2025, 1, 1)), done("tabletop", date(2024, 6, 1))], TODAY
    )["ic"]
    assert lapsed.standing is Standing.LAPSED
    assert lapsed.lapsed == (("tabletop", date(2025, 6, 1)),)
    assert domain.problem(lapsed, "ic", at=datetime(2026, 1, 5, tzinfo=UTC)) == (
        "ic qualification lapsed on 2025-06-01 (tabletop)"
    )
    assert "has not completed" in (domain.problem(missing, "ic", at=datetime.now(UTC)) or "")


def test_an_exercise_renews_a_drill_only_at_its_pass_score() -> None:
    failed = Entry(RecordKind.EXERCISE, "tabletop", date(2025, 12, 1), 64)
    passed = Entry(RecordKind.EXERCISE, "tabletop", date(2025, 11, 1), 70)
    unscored = Entry(RecordKind.EXERCISE, "tabletop", date(2025, 12, 2), None)
    latest = domain.latest_completions(CURRICULUM, [failed, passed, unscored])
    assert latest == {"tabletop": date(2025, 11, 1)}
    free = Course("free", "Free drill", CourseKind.DRILL, frozenset({"x"}), 10)
    loose = Curriculum({"free": free}, frozenset(), ())
    assert domain.latest_completions(loose, [Entry(RecordKind.EXERCISE, "free", TODAY)]) == {
        "free": TODAY
    }


def test_reminders_are_planned_once_per_threshold_and_a_late_start_sends_only_the_nearest() -> None:
    assert domain.reminder_thresholds(date(2026, 3, 1), (30, 7), TODAY) == [30, 7]
    # 10 days left: the 30-day reminder is overdue (send it now), the 7-day one is to come.
    assert domain.reminder_thresholds(TODAY + timedelta(days=10), (30, 7), TODAY) == [30, 7]
    # 3 days left: only the nearest passed threshold, not both at once.
    assert domain.reminder_thresholds(TODAY + timedelta(days=3), (30, 7), TODAY) == [7]
    assert domain.reminder_thresholds(TODAY, (30, 7), TODAY) == []
    now = datetime(2026, 1, 5, 10, tzinfo=UTC)
    assert domain.reminder_due(date(2026, 3, 1), 30, now) == datetime(2026, 1, 30, 8, tzinfo=UTC)
    assert domain.reminder_due(TODAY + timedelta(days=3), 7, now) == now


START = datetime(2026, 1, 5, 7, tzinfo=UTC)
ROSTER = readiness.Roster("ic-rota", "lab", "ic", ("ana", "ben", "cy"), START, timedelta(hours=12))


def test_readiness_counts_who_could_take_each_shift_and_flags_single_points() -> None:
    qualified_people = {"ana", "ben"}

    def qualified(person: str, role: str, _start: datetime, _end: datetime) -> bool:
        return person in qualified_people

    now = START + timedelta(hours=1)
    found = readiness.readiness(
        ["lab"], ["ic"], [ROSTER], [], qualified, now=now, until=now + timedelta(hours=36)
    )[0]
    assert [s.on_call for s in found.shifts] == ["ana", "ben", "cy", "ana"]
    assert found.shifts[0].starts_at == now
    assert [s.on_call for s in found.gaps] == ["cy"]
    assert found.min_depth == 2
    assert not found.fragile
    qualified_people.discard("ben")
    fragile = readiness.readiness(
        ["lab"], ["ic"], [ROSTER], [], qualified, now=now, until=now + timedelta(hours=36)
    )[0]
    assert fragile.min_depth == 1
    assert len(fragile.fragile) == 4


def test_an_override_puts_its_person_on_call_and_another_site_lends_its_rotation() -> None:
    cover = readiness.Cover("ic-rota", "dan", START, START + timedelta(hours=12))

    def qualified(person: str, _role: str, _start: datetime, _end: datetime) -> bool:
        return person != "dan"

    found = readiness.readiness(
        ["lab", "annex"],
        ["ic"],
        [ROSTER],
        [cover],
        qualified,
        now=START,
        until=START + timedelta(hours=24),
    )
    assert found[0].shifts[0].on_call == "dan"
    assert not found[0].shifts[0].on_call_qualified
    assert found[0].shifts[0].depth == 3
    assert found[1].borrowed
    assert found[1].rotations == ("ic-rota",)
    nothing = readiness.readiness(["lab"], ["so"], [ROSTER], [], qualified, now=START, until=START)
    assert nothing[0].rotations == ()
    assert nothing[0].min_depth == 0
