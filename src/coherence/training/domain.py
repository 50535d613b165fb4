"""Qualification rules without I/O: what a person's completed training qualifies them for."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum

# Reminders are sent at this hour (UTC) on their day, not at midnight.
REMIND_AT = time(8, 0)


class CourseKind(StrEnum):
    """A taught course, or a drill that an exercise can also pass."""

    COURSE = "course"
    DRILL = "drill"


class RecordKind(StrEnum):
    """What a training record says happened."""

    COMPLETION = "completion"
    EXERCISE = "exercise"


class Standing(StrEnum):
    """Where a person stands for one role."""

    QUALIFIED = "qualified"
    LAPSED = "lapsed"
    UNQUALIFIED = "unqualified"


@dataclass(frozen=True)
class Course:
    """One course or drill: the roles it is required for and how long it stays valid."""

    key: str
    title: str
    kind: CourseKind
    roles: frozenset[str]
    validity_days: int
    pass_score: float | None = None


@dataclass(frozen=True)
class Curriculum:
    """The courses, the roles whose assignment is checked, and the reminder thresholds."""

    courses: Mapping[str, Course]
    checked_roles: frozenset[str]
    reminder_days: tuple[int, ...]

    def required_for(self, role: str) -> list[Course]:
        """The courses a role needs, by key."""
        return sorted((c for c in self.courses.values() if role in c.roles), key=lambda c: c.key)

    @property
    def roles(self) -> list[str]:
        """Every role some course qualifies for, sorted."""
        return sorted({role for course in self.courses.values() for role in course.roles})


@dataclass(frozen=True)
class Entry:
    """A record as the rules see it: a completion, or an exercise with its drill and score."""

    kind: RecordKind
    course: str | None
    on: date
    score: float | None = None


@dataclass(frozen=True)
class Qualification:
    """One role: standing, the day it lapses (or lapsed), and what is missing or out of date."""

    role: str
    standing: Standing
    expires_on: date | None
    missing: tuple[str, ...] = ()
    lapsed: tuple[tuple[str, date], ...] = ()
    renew: tuple[str, ...] = ()

    def valid_at(self, moment: datetime) -> bool:
        """Whether the qualification holds at ``moment``."""
        return self.expires_on is not None and moment < start_of(self.expires_on)


def start_of(day: date) -> datetime:
    """The first instant of ``day`` in UTC: a qualification that lapses on it ends here."""
    return datetime.combine(day, time(0), UTC)


def counts(course: Course, entry: Entry) -> bool:
    """Whether ``entry`` completes ``course``: a completion does; an exercise must meet the pass
    score of the drill it names (a drill without a pass score takes any participation)."""
    if entry.course != course.key:
        return False
    if entry.kind is RecordKind.COMPLETION or course.pass_score is None:
        return True
    return entry.score is not None and entry.score >= course.pass_score


def latest_completions(curriculum: Curriculum, entries: Iterable[Entry]) -> dict[str, date]:
    """The latest day each course was completed (or its drill passed)."""
    latest: dict[str, date] = {}
    for entry in entries:
        course = curriculum.courses.get(entry.course or "")
        if (
            course is not None
            and counts(course, entry)
            and entry.on > latest.get(course.key, date.min)
        ):
            latest[course.key] = entry.on
    return latest


def qualification(
    curriculum: Curriculum, role: str, latest: Mapping[str, date], today: date
) -> Qualification:
    """A role's qualification: every course it needs completed, each within its validity."""
    required = curriculum.required_for(role)
    missing = tuple(c.key for c in required if c.key not in latest)
    expiries = {
        c.key: latest[c.key] + timedelta(days=c.validity_days) for c in required if c.key in latest
    }
    if not required or missing:
        return Qualification(role, Standing.UNQUALIFIED, None, missing, (), missing)
    expires_on = min(expiries.values())
    lapsed = tuple(sorted((k, d) for k, d in expiries.items() if d <= today))
    standing = Standing.LAPSED if lapsed else Standing.QUALIFIED
    renew = tuple(k for k in sorted(expiries) if expiries[k] == expires_on)
    return Qualification(role, standing, expires_on, (), lapsed, renew)


def qualifications(
    curriculum: Curriculum, entries: Iterable[Entry], today: date
) -> dict[str, Qualification]:
    """Every role the curriculum knows, as this person's records stand on ``today``."""
    latest = latest_completions(curriculum, entries)
    return {role: qualification(curriculum, role, latest, today) for role in curriculum.roles}


def problem(found: Qualification | None, role: str, *, at: datetime) -> str | None:
    """Why someone may not fill ``role`` at ``at`` (None when they may), in words."""
    label = role.replace("_", " ")
    if found is None or found.standing is Standing.UNQUALIFIED or found.expires_on is None:
        needed = ", ".join(found.missing) if found and found.missing else "no course"
        return f"has not completed the training for {label} ({needed})"
    if found.valid_at(at):
        return None
    return f"{label} qualification lapsed on {found.expires_on} ({', '.join(found.renew)})"


def reminder_thresholds(expires_on: date, thresholds: Sequence[int], today: date) -> list[int]:
    """The reminders still worth sending before ``expires_on``: each threshold yet to come,
    and of those already passed only the nearest (one reminder, not a burst of them)."""
    left = (expires_on - today).days
    if left <= 0:
        return []
    passed = [t for t in thresholds if t > left]
    coming = [t for t in thresholds if t <= left]
    return sorted(set(coming + ([min(passed)] if passed else [])), reverse=True)


def reminder_due(expires_on: date, days_before: int, now: datetime) -> datetime:
    """When the reminder ``days_before`` a lapse goes out: that morning, or now if passed."""
    return max(datetime.combine(expires_on - timedelta(days=days_before), REMIND_AT, UTC), now)
