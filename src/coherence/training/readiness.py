"""Readiness without I/O: who is on call for each checked role, shift by shift, and how many
qualified people could take each shift if the one rostered were away."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from coherence.catalog.domain import RotationShape, next_handoff, on_call_member

# Whether a person holds a role through a whole span: (person, role, start, end) -> bool.
Qualified = Callable[[str, str, datetime, datetime], bool]


@dataclass(frozen=True)
class Roster:
    """A rotation as readiness needs it: members by key, in order."""

    key: str
    site: str
    role: str
    members: tuple[str, ...]
    starts_at: datetime
    shift: timedelta


@dataclass(frozen=True)
class Cover:
    """An on-call override: ``person`` covers ``rotation`` from ``starts_at`` to ``ends_at``."""

    rotation: str
    person: str
    starts_at: datetime
    ends_at: datetime


@dataclass(frozen=True)
class Shift:
    """One shift: who is on call, whether they are qualified, and who else qualified could go."""

    rotation: str
    starts_at: datetime
    ends_at: datetime
    on_call: str
    on_call_qualified: bool
    qualified: tuple[str, ...]

    @property
    def depth(self) -> int:
        """How many qualified people could take this shift."""
        return len(self.qualified)

    @property
    def fragile(self) -> bool:
        """A single absence leaves the role without a qualified person."""
        return self.depth < 2


@dataclass(frozen=True)
class RoleReadiness:
    """One checked role at one site over the horizon."""

    site: str
    role: str
    rotations: tuple[str, ...]
    borrowed: bool
    shifts: tuple[Shift, ...]

    @property
    def min_depth(self) -> int:
        """The fewest qualified people on any shift (0 without a rotation)."""
        return min((s.depth for s in self.shifts), default=0)

    @property
    def gaps(self) -> tuple[Shift, ...]:
        """Shifts whose on-call person is not qualified."""
        return tuple(s for s in self.shifts if not s.on_call_qualified)

    @property
    def fragile(self) -> tuple[Shift, ...]:
        """Shifts a single absence would leave uncovered."""
        return tuple(s for s in self.shifts if s.fragile)


def _shape(roster: Roster) -> RotationShape:
    # Members by position: the on-call rule hands back a position, read as a key below.
    return RotationShape(tuple(range(len(roster.members))), roster.starts_at, roster.shift)


def _covering(covers: Sequence[Cover], rotation: str, at: datetime) -> str | None:
    # The latest override made wins, as on-call resolution decides.
    found = [c for c in covers if c.rotation == rotation and c.starts_at <= at < c.ends_at]
    return found[-1].person if found else None


def shifts(
    roster: Roster,
    covers: Sequence[Cover],
    qualified: Qualified,
    *,
    now: datetime,
    until: datetime,
) -> list[Shift]:
    """The rotation's shifts from the one running ``now`` to ``until``, each with its cover."""
    shape = _shape(roster)
    at = max(now, roster.starts_at)
    found: list[Shift] = []
    while at < until and roster.members:
        end = next_handoff(shape, at)
        position = on_call_member(shape, at)
        if end is None or position is None:
            break
        person = _covering(covers, roster.key, at) or roster.members[position]
        pool = dict.fromkeys([person, *roster.members])
        ok = tuple(p for p in pool if qualified(p, roster.role, at, end))
        found.append(Shift(roster.key, at, end, person, person in ok, ok))
        at = end
    return found


def readiness(
    sites: Sequence[str],
    roles: Sequence[str],
    rosters: Sequence[Roster],
    covers: Sequence[Cover],
    qualified: Qualified,
    *,
    now: datetime,
    until: datetime,
) -> list[RoleReadiness]:
    """Each checked role at each site: its own rotations, else (as on-call resolution does)
    any other site's rotations for the role."""
    result: list[RoleReadiness] = []
    for site in sites:
        for role in roles:
            own = [r for r in rosters if r.site == site and r.role == role]
            used = own or [r for r in rosters if r.role == role]
            found = [s for r in used for s in shifts(r, covers, qualified, now=now, until=until)]
            found.sort(key=lambda s: (s.starts_at, s.rotation))
            keys = tuple(r.key for r in used)
            result.append(RoleReadiness(site, role, keys, bool(used) and not own, tuple(found)))
    return result
