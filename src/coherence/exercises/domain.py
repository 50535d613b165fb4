"""Pure exercise rules: the exercise clock, inject timing, complications and page routing."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from coherence.errors import Conflict

# Channel names the dispatcher always has: exercise pages print to the console under the
# first; the second refuses every message, standing in for a channel the scenario took down.
EXERCISE_CHANNEL = "exercise"
DOWN_CHANNEL = "exercise-down"


class ClockMode(StrEnum):
    """How exercise time moves."""

    STEPPED = "stepped"
    ACCELERATED = "accelerated"
    REALTIME = "realtime"


class Milestone(StrEnum):
    """The points of the response an exercise times."""

    DETECTED = "detected"
    ACKNOWLEDGED = "acknowledged"
    IC_ASSIGNED = "ic_assigned"
    CONTAINED = "contained"
    RESOLVED = "resolved"


class Complication(StrEnum):
    """Troubles a scenario can throw at the team."""

    CHANNEL_DOWN = "channel_down"
    ROLE_UNREACHABLE = "role_unreachable"
    SPARE_BACKORDERED = "spare_backordered"


@dataclass(frozen=True)
class Segment:
    """From wall time ``wall`` on, exercise time is ``at`` seconds plus ``rate`` times the wall
    seconds since ``wall``; a stepped clock has rate 0 and moves only by new segments."""

    wall: datetime
    at: float
    rate: float

    def as_json(self) -> dict[str, Any]:
        """The segment as stored."""
        return {"wall": self.wall.isoformat(), "at": self.at, "rate": self.rate}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Segment:
        """A stored segment."""
        return cls(
            datetime.fromisoformat(str(data["wall"])), float(data["at"]), float(data["rate"])
        )


def rate_of(mode: ClockMode, speed: float) -> float:
    """Exercise seconds per wall second for a clock mode."""
    return {ClockMode.STEPPED: 0.0, ClockMode.ACCELERATED: speed, ClockMode.REALTIME: 1.0}[mode]


def elapsed_at(segments: Sequence[Segment], wall: datetime) -> float:
    """Exercise seconds at wall time ``wall``; before the start it is 0."""
    current = None
    for segment in segments:
        if segment.wall <= wall:
            current = segment
    if current is None:
        return 0.0
    return current.at + current.rate * max(0.0, (wall - current.wall).total_seconds())


def wall_for(segments: Sequence[Segment], at: float) -> datetime | None:
    """The wall time the exercise clock reaches ``at`` seconds, or None if only a step will."""
    last = segments[-1]
    if at <= last.at:
        return last.wall
    if last.rate <= 0:
        return None
    return last.wall + timedelta(seconds=(at - last.at) / last.rate)


def stepped(segments: Sequence[Segment], *, now: datetime, to: float) -> list[Segment]:
    """Move a stepped clock to ``to`` exercise seconds at wall time ``now``."""
    current = elapsed_at(segments, now)
    if to <= current:
        raise Conflict(
            f"the exercise clock is already at {current / 60:g} min; step forward", field="minutes"
        )
    return [*segments, Segment(now, to, 0.0)]


def frozen(segments: Sequence[Segment], *, now: datetime) -> list[Segment]:
    """Stop the clock at ``now`` (the exercise ended)."""
    return [*segments, Segment(now, elapsed_at(segments, now), 0.0)]


def sample_times(count: int, *, every: float, now: float, after: float | None) -> list[float]:
    """Timestamps for ``count`` samples ``every`` seconds apart ending at ``now``, shifted
    later if needed so they follow the series' previous inject (the detector drops late ones)."""
    start = now - (count - 1) * every
    if after is not None:
        start = max(start, after + every)
    return [start + i * every for i in range(count)]


@dataclass(frozen=True)
class ActiveComplication:
    """A complication in force: what it affects and when it lapses (None: never)."""

    kind: Complication
    channel: str | None
    people: frozenset[str]
    part: str | None
    until: float | None


def active(complications: Iterable[ActiveComplication], *, at: float) -> list[ActiveComplication]:
    """The complications still in force at exercise second ``at``."""
    return [c for c in complications if c.until is None or at < c.until]


def rehearsed(
    contacts: Sequence[Mapping[str, Any]],
    *,
    person: str,
    page_real: bool,
    complications: Sequence[ActiveComplication],
) -> list[dict[str, Any]]:
    """An exercise page's contact points: to the exercise channel unless real paging is on;
    through the failing channel where a complication took a channel or the person out."""
    down = {c.channel for c in complications if c.kind is Complication.CHANNEL_DOWN}
    unreachable = any(
        c.kind is Complication.ROLE_UNREACHABLE and person in c.people for c in complications
    )
    routed = []
    for contact in contacts:
        channel, address = str(contact["channel"]), str(contact["address"])
        if unreachable or channel in down:
            routed.append({"channel": DOWN_CHANNEL, "address": f"{channel}:{address}"})
        elif page_real:
            routed.append({"channel": channel, "address": address})
        else:
            routed.append({"channel": EXERCISE_CHANNEL, "address": f"{channel}:{address}"})
    return routed


def reference(exercise_id: int) -> str:
    """The human reference of an exercise, e.g. EX-00003."""
    return f"EX-{exercise_id:05d}"


def parse_reference(text: str) -> int | None:
    """The id in ``EX-00003`` or ``3``, or None."""
    digits = text.strip().upper().removeprefix("EX-")
    # isdecimal, not isdigit: int() refuses digits such as "²" that isdigit() accepts.
    if not digits.isdecimal() or len(digits) > 12:
        return None
    return int(digits)


def default_dependencies(steps: Sequence[str]) -> dict[str, list[str]]:
    """Without a scenario saying otherwise, each playbook step waits for the one before it."""
    return {key: [steps[i - 1]] if i else [] for i, key in enumerate(steps)}


def dependency_problems(
    steps: Sequence[str], declared: Mapping[str, Sequence[str]]
) -> list[dict[str, str]]:
    """Unknown steps and cycles in a scenario's step dependencies."""
    known = set(steps)
    problems = [
        {"path": f"step_dependencies.{key}", "message": f"{key!r} is not a step of the playbook"}
        for key in declared
        if key not in known
    ]
    for key, after in declared.items():
        for index, other in enumerate(after):
            if other not in known:
                problems.append(
                    {
                        "path": f"step_dependencies.{key}[{index}]",
                        "message": f"{other!r} is not a step of the playbook",
                    }
                )
    if problems:
        return problems
    graph = {**default_dependencies(steps), **{k: list(v) for k, v in declared.items()}}
    state: dict[str, int] = {}

    def cyclic(node: str) -> bool:
        state[node] = 1
        for nxt in graph.get(node, []):
            if state.get(nxt) == 1 or (state.get(nxt) is None and cyclic(nxt)):
                return True
        state[node] = 2
        return False

    for key in steps:
        if state.get(key) is None and cyclic(key):
            return [{"path": "step_dependencies", "message": f"the dependencies loop at {key!r}"}]
    return []
