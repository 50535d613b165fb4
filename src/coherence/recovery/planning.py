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
    preds: dict[str, list[str]] = {}
    users: defaultdict[str, list[str]] = defaultdict(list)
    for key in down_set:
        groups = graph[key].groups
        if not groups:
            preds[key] = []
            continue
        members = [m for g in groups for m in g.members if m in down_set]
        if len(members) > 1:
            members = list(dict.fromkeys(members))
        preds[key] = members
        for member in members:
            users[member].append(key)
    pending = {k: len(v) for k, v in preds.items()}
    queue = deque(k for k, n in pending.items() if n == 0)
    wave: dict[str, float] = {}
    finish: dict[str, float] = {}
    inf = float("inf")
    rows: list[tuple[int, int, str, tuple[str, ...], tuple[str, ...], float, float, float]] = []
    pop, push, append = queue.popleft, queue.append, rows.append
    default = DEFAULT_HOURS
    while queue:
        key = pop()
        node = graph[key]
        level, ready = 0.0, 0.0
        chosen: list[str] = []
        notes: list[str] = []
        for group in node.groups:
            listed = group.members
            inside = [m for m in listed if m in down_set]
            need = group.min_required - (len(listed) - len(inside))
            if need <= 0:
                continue
            if need == len(inside):
                best = inside
            else:
                # The earliest-finishing members satisfy the group; take the first ``need``.
                best = sorted(inside, key=lambda m: (finish[m], wave[m], m))[:need]
            chosen.extend(best)
            for m in best:
                if wave[m] + 1 > level:
                    level = wave[m] + 1
                if finish[m] > ready:
                    ready = finish[m]
            if len(listed) > 1:
                names = ", ".join(inside)
                label = group.name or "group"
                notes.append(
                    f"{label}: {need} of {names} back"
                    if need < len(inside)
                    else f"{label}: {names} back"
                )
        hours = durations.get(node.kind, default)
        part = waits.get(key)
        if key in stopped or ready == inf:
            start = end = inf
        else:
            start = ready if part is None or part.hours < ready else part.hours
            end = start + hours
        wave[key], finish[key] = level, end
        append(
            (
                int(level),
                CRITICALITY_RANK.get(node.criticality, 2),
                key,
                tuple(chosen),
                tuple(notes),
                hours,
                start,
                end,
            )
        )
        for user in users.get(key, ()):
            pending[user] -= 1
            if pending[user] == 0:
                push(user)
    if len(rows) < len(down_set):
        left = [k for k, n in pending.items() if n > 0]
        edges = {k: preds[k] for k in left}
        cycle = _cycle(edges, left)
        raise _reject([{"path": "assets", "message": f"dependency cycle: {' -> '.join(cycle)}"}])
    rows.sort(key=lambda r: (r[0], r[1], r[2]))
    steps = []
    eta = 0.0
    for order, (level, _rank, key, waits_on, noted, hours, start, end) in enumerate(rows):
        node = graph[key]
        blocked = tuple(m for m in waits_on if finish[m] == inf)
        steps.append(
            PlannedStep(
                asset=key,
                kind=node.kind,
                criticality=node.criticality,
                wave=level,
                order=order,
                waits_for=waits_on,
                notes=noted,
                duration_hours=hours,
                part=waits.get(key),
                start_hours=None if start == inf else start,
                finish_hours=None if end == inf else end,
                blocked_by=blocked,
            )
        )
        eta = max(eta, end)
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
