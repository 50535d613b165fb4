"""Restoration ordering: which assets are down, in what waves they come back, and when.

Pure functions over plain data; nothing here touches the database or the clock.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from coherence.errors import ValidationFailed

CRITICALITY_RANK = {"safety_critical": 0, "high_value_research": 1, "standard": 2}
DEFAULT_HOURS = 1.0


class PlanningError(ValidationFailed):
    """The dependency data cannot be planned over: a cycle, an unknown asset, a bad group."""

    code = "plan_rejected"


@dataclass(frozen=True, slots=True)
class Group:
    """A redundancy group: the asset needs ``min_required`` of ``members`` up."""

    name: str
    members: tuple[str, ...]
    min_required: int


@dataclass(frozen=True, slots=True)
class Node:
    """An asset as the planner sees it."""

    key: str
    kind: str
    criticality: str
    site: str
    groups: tuple[Group, ...] = ()
    vendors: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class PartWait:
    """How long a step waits for a part, and where the part comes from."""

    part: str
    hours: float
    source: str
    detail: str


class PlannedStep(NamedTuple):
    """One asset to bring back: its wave, what it waits for and its estimated times.

    A named tuple rather than a dataclass: a plan of 100,000 steps builds fast.
    """

    asset: str
    kind: str
    criticality: str
    wave: int
    order: int
    waits_for: tuple[str, ...]
    notes: tuple[str, ...]
    duration_hours: float
    part: PartWait | None
    start_hours: float | None
    finish_hours: float | None
    blocked_by: tuple[str, ...] = ()


@dataclass(frozen=True)
class Plan:
    """Steps in order (wave, then criticality, then key) and the time to full service."""

    steps: tuple[PlannedStep, ...]
    eta_hours: float | None
    waves: int = field(default=0)


def graph_problems(graph: Mapping[str, Node]) -> list[dict[str, str]]:
    """List unknown members, impossible groups and self-dependencies, naming the assets."""
    problems: list[dict[str, str]] = []
    for key, node in graph.items():
        for index, group in enumerate(node.groups):
            where = f"assets.{key}.depends_on[{index}]"
            unknown = [m for m in group.members if m not in graph]
            if unknown:
                problems.append(
                    {"path": where, "message": f"{key} depends on unknown asset(s) {unknown}"}
                )
            if key in group.members:
                problems.append({"path": where, "message": f"{key} depends on itself"})
            if group.min_required < 1 or group.min_required > len(group.members):
                problems.append(
                    {
                        "path": where,
                        "message": f"{key}: group {group.name or index} needs "
                        f"{group.min_required} but lists {len(group.members)} asset(s)",
                    }
                )
    return problems


def _reject(problems: list[dict[str, str]]) -> PlanningError:
    first = "; ".join(p["message"] for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return PlanningError(
        f"dependency data cannot be planned: {first}{more}", field="assets", problems=problems
    )


def _cycle(edges: Mapping[str, Sequence[str]], remaining: Collection[str]) -> list[str]:
    """Walk from any remaining node along remaining edges until a node repeats."""
    left = set(remaining)
    node = min(left)
    seen: dict[str, int] = {}
    path: list[str] = []
    while node not in seen:
        seen[node] = len(path)
        path.append(node)
        node = next(m for m in edges[node] if m in left)
    return [*path[seen[node] :], node]


def check_graph(graph: Mapping[str, Node]) -> None:
    """Raise PlanningError on inconsistent data or a dependency cycle (iterative Kahn)."""
    problems = graph_problems(graph)
    if problems:
        raise _reject(problems)
    edges = {k: [m for g in n.groups for m in g.members] for k, n in graph.items()}
    pending = {k: len(set(v)) for k, v in edges.items()}
    users: dict[str, list[str]] = {}
    for key, members in edges.items():
        for member in set(members):
            users.setdefault(member, []).append(key)
    queue = deque(k for k, n in pending.items() if n == 0)
    seen = 0
    while queue:
        key = queue.popleft()
        seen += 1
        for user in users.get(key, ()):
            pending[user] -= 1
            if pending[user] == 0:
                queue.append(user)
    if seen < len(graph):
        cycle = _cycle(edges, [k for k, n in pending.items() if n > 0])
        raise _reject([{"path": "assets", "message": f"dependency cycle: {' -> '.join(cycle)}"}])


def affected(graph: Mapping[str, Node], roots: Collection[str]) -> set[str]:
    """Return ``roots`` plus every asset left without enough of a redundancy group."""
    unknown = sorted(set(roots) - graph.keys())
    if unknown:
        raise PlanningError(f"no asset(s) {unknown} in the catalog", field="affected")
    users: dict[str, list[tuple[str, int]]] = {}
    for key, node in graph.items():
        for index, group in enumerate(node.groups):
            for member in group.members:
                users.setdefault(member, []).append((key, index))
    down = set(roots)
    lost: dict[tuple[str, int], int] = {}
    queue = deque(down)
    while queue:
        member = queue.popleft()
        for user, index in users.get(member, ()):
            if user in down:
                continue
            count = lost.get((user, index), 0) + 1
            lost[(user, index)] = count
            group = graph[user].groups[index]
            if len(group.members) - count < group.min_required:
                down.add(user)
                queue.append(user)
    return down


def plan(
    graph: Mapping[str, Node],
    down: Collection[str],
    *,
    durations: Mapping[str, float],
    part_waits: Mapping[str, PartWait] | None = None,
    paused: Collection[str] = (),
    check: bool = True,
) -> Plan:
    """Order the ``down`` assets into waves over "needs" edges and estimate their times.

    A group is satisfied once ``min_required`` members are up; members not in ``down`` are up.
    Within a wave: safety-critical first, then high-value research, then standard. A step
    whose group can only be met through a ``paused`` asset is blocked and has no estimate.
    """
    if check:
        # Unknown members and impossible groups anywhere; cycles among the assets planned
        # are found by the layering below (the catalog refuses cycles when it is loaded).
        problems = graph_problems(graph)
        if problems:
            raise _reject(problems)
    down_set = set(down)
    unknown = sorted(down_set - graph.keys())
    if unknown:
        raise PlanningError(f"no asset(s) {unknown} in the catalog", field="affected")
    waits = part_waits or {}
    stopped = set(paused) & down_set
    short, notes, preds, users = _shortfalls(graph, down_set)
    pending = {k: len(v) for k, v in preds.items()}
    queue = deque(k for k, n in pending.items() if n == 0)
    wave: dict[str, int] = {}
    finish: dict[str, float] = {}
    chosen_for: dict[str, tuple[str, ...]] = {}
    inf = float("inf")
    rows: list[tuple[int, int, str, float, float, float]] = []
    pop, push, append = queue.popleft, queue.append, rows.append
    rank, default, no_users = CRITICALITY_RANK, DEFAULT_HOURS, ()
    while queue:
        key = pop()
        node = graph[key]
        level, ready = 0, 0.0
        chosen: tuple[str, ...] = ()
        for inside, need in short.get(key, no_users):
            if need == len(inside):
                best = inside
            elif need == 1:
                best = (_earliest(inside, finish, wave),)
            else:
                # The earliest-finishing members satisfy the group; take the first ``need``.
                best = tuple(sorted(inside, key=lambda m: (finish[m], wave[m], m))[:need])
            chosen += best
            for m in best:
                if wave[m] >= level:
                    level = wave[m] + 1
                if finish[m] > ready:
                    ready = finish[m]
        hours = durations.get(node.kind, default)
        part = waits.get(key)
        if key in stopped or ready == inf:
            start = end = inf
        else:
            start = ready if part is None or part.hours < ready else part.hours
            end = start + hours
        wave[key], finish[key], chosen_for[key] = level, end, chosen
        append((level, rank.get(node.criticality, 2), key, hours, start, end))
        for user in users.get(key, no_users):
            pending[user] -= 1
            if pending[user] == 0:
                push(user)
    if len(rows) < len(down_set):
        left = [k for k, n in pending.items() if n > 0]
        cycle = _cycle({k: preds[k] for k in left}, left)
        raise _reject([{"path": "assets", "message": f"dependency cycle: {' -> '.join(cycle)}"}])
    rows.sort()
    return _assemble(graph, rows, chosen_for, notes, finish, waits)


def _shortfalls(
    graph: Mapping[str, Node], down: set[str]
) -> tuple[
    dict[str, list[tuple[tuple[str, ...], int]]],
    dict[str, tuple[str, ...]],
    dict[str, list[str]],
    dict[str, list[str]],
]:
    """Per down asset: its groups still short (down members, how many needed) and their notes.

    Also the "needs" edges among down assets, both ways, for the layering.
    """
    short: dict[str, list[tuple[tuple[str, ...], int]]] = {}
    notes: dict[str, tuple[str, ...]] = {}
    preds: dict[str, list[str]] = {}
    users: defaultdict[str, list[str]] = defaultdict(list)
    for key in down:
        groups = graph[key].groups
        if not groups:
            preds[key] = []
            continue
        members: list[str] = []
        gaps, said = [], []
        for group in groups:
            listed = group.members
            inside = tuple(m for m in listed if m in down)
            members += inside
            need = group.min_required - (len(listed) - len(inside))
            if need <= 0:
                continue
            gaps.append((inside, need))
            if len(listed) > 1:
                names, label = ", ".join(inside), group.name or "group"
                said.append(
                    f"{label}: {need} of {names} back"
                    if need < len(inside)
                    else f"{label}: {names} back"
                )
        if len(groups) > 1:
            members = list(dict.fromkeys(members))
        preds[key] = members
        for member in members:
            users[member].append(key)
        if gaps:
            short[key] = gaps
        if said:
            notes[key] = tuple(said)
    return short, notes, preds, users


def _earliest(inside: Sequence[str], finish: Mapping[str, float], wave: Mapping[str, int]) -> str:
    """The member that is back first (then the lower wave, then the key): enough for need 1."""
    best = inside[0]
    for m in inside[1:]:
        if (finish[m], wave[m], m) < (finish[best], wave[best], best):
            best = m
    return best


def _assemble(
    graph: Mapping[str, Node],
    rows: Sequence[tuple[int, int, str, float, float, float]],
    chosen_for: Mapping[str, tuple[str, ...]],
    notes: Mapping[str, tuple[str, ...]],
    finish: Mapping[str, float],
    waits: Mapping[str, PartWait],
) -> Plan:
    """Turn the sorted rows into steps and the time to full service."""
    inf, none = float("inf"), ()
    steps: list[PlannedStep] = []
    new, append = tuple.__new__, steps.append
    eta = 0.0
    for order, (level, _rank, key, hours, start, end) in enumerate(rows):
        node = graph[key]
        waits_on = chosen_for[key]
        blocked = tuple(m for m in waits_on if finish[m] == inf) if end == inf else none
        # tuple.__new__ skips the named tuple's keyword handling: 100,000 steps build faster.
        append(
            new(
                PlannedStep,
                (
                    key,
                    node.kind,
                    node.criticality,
                    level,
                    order,
                    waits_on,
                    notes.get(key, none),
                    hours,
                    waits.get(key),
                    None if start == inf else start,
                    None if end == inf else end,
                    blocked,
                ),
            )
        )
        if end > eta:
            eta = end
    waves = (rows[-1][0] + 1) if rows else 0
    return Plan(tuple(steps), None if eta == inf else eta, waves)


def branch(graph: Mapping[str, Node], start: str, among: Collection[str]) -> set[str]:
    """Return ``start`` and every asset in ``among`` that depends on it, directly or not."""
    pool = set(among)
    users: dict[str, list[str]] = {}
    for key in pool:
        for group in graph[key].groups:
            for member in group.members:
                users.setdefault(member, []).append(key)
    found = {start}
    queue = deque([start])
    while queue:
        for user in users.get(queue.popleft(), ()):
            if user not in found:
                found.add(user)
                queue.append(user)
    return found
