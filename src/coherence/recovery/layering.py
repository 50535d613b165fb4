"""Restoration layering over arrays: a whole wave of assets is placed in one step.

Pure: plain data and numpy in, arrays out. The planner (planning.py) flattens the graph once
in Python, then this places every asset of a wave together, so a 100,000-asset plan costs a
handful of array operations per wave rather than Python work per dependency.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

if TYPE_CHECKING:
    from coherence.recovery.planning import Node

Ints = npt.NDArray[np.int64]
Floats = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]


@dataclass
class Flat:
    """The down assets' shortfalls as flat arrays, indexed by position in ``keys``.

    A group is "short" when its members still up are not enough; its down members are its
    entries. ``pairs`` are the distinct "needs" edges between down assets, for ordering.
    """

    keys: list[str]
    group_owner: list[int] = field(default_factory=list)
    group_need: list[int] = field(default_factory=list)
    entry_group: list[int] = field(default_factory=list)
    entry_member: list[int] = field(default_factory=list)
    pair_user: list[int] = field(default_factory=list)
    pair_member: list[int] = field(default_factory=list)
    notes: dict[int, tuple[str, ...]] = field(default_factory=dict)


def flatten(graph: Mapping[str, Node], down: set[str]) -> Flat:
    """Collect each down asset's short groups, their down members, notes and edges."""
    keys = list(down)
    index = {key: i for i, key in enumerate(keys)}
    flat = Flat(keys)
    owners, needs = flat.group_owner, flat.group_need
    entry_group, entry_member = flat.entry_group, flat.entry_member
    pair_user, pair_member = flat.pair_user, flat.pair_member
    for i, key in enumerate(keys):
        groups = graph[key].groups
        if not groups:
            continue
        members: list[int] = []
        said = []
        for group in groups:
            listed = group.members
            places = [index[m] for m in listed if m in index]
            members += places
            need = group.min_required - (len(listed) - len(places))
            if need <= 0:
                continue
            entry_group += [len(owners)] * len(places)
            entry_member += places
            owners.append(i)
            needs.append(need)
            if len(listed) > 1:
                inside = listed if len(places) == len(listed) else [keys[p] for p in places]
                names, label = ", ".join(inside), group.name or "group"
                said.append(
                    f"{label}: {need} of {names} back"
                    if need < len(places)
                    else f"{label}: {names} back"
                )
        if len(groups) > 1:
            members = list(dict.fromkeys(members))
        pair_user += [i] * len(members)
        pair_member += members
        if said:
            flat.notes[i] = tuple(said)
    return flat


@dataclass(frozen=True)
class Layers:
    """Where each asset landed: wave, start and finish hours, and what it waits for."""

    wave: Ints
    start: Floats
    finish: Floats
    waits_for: list[tuple[str, ...]]
    placed: Bools


def layer(
    flat: Flat,
    *,
    hours: Floats,
    part_hours: Floats,
    stopped: Bools,
    key_rank: Ints,
) -> Layers:
    """Place assets wave by wave; an asset is placed once everything it needs is placed.

    A short group is met by all its down members, or, when it needs fewer, by the ones back
    first (then lower wave, then key). An asset starts when what it waits for is back and its
    part has arrived; a stopped asset, or one waiting on one, never starts (infinite hours).
    Assets on a cycle are left unplaced.
    """
    n = len(flat.keys)
    owner = np.asarray(flat.group_owner, dtype=np.int64)
    need = np.asarray(flat.group_need, dtype=np.int64)
    entry_group = np.asarray(flat.entry_group, dtype=np.int64)
    entry_member = np.asarray(flat.entry_member, dtype=np.int64)
    pair_user = np.asarray(flat.pair_user, dtype=np.int64)
    pair_member = np.asarray(flat.pair_member, dtype=np.int64)
    size = np.bincount(entry_group, minlength=len(need))
    first = np.concatenate(([0], np.cumsum(size)[:-1])).astype(np.int64)
    whole = need == size
    # Where an entry stands among its group's chosen: listed order, or order of return.
    position = np.arange(len(entry_group), dtype=np.int64) - first[entry_group]
    chosen = np.zeros(len(entry_group), dtype=bool)
    pending = np.bincount(pair_user, minlength=n).astype(np.int64)
    wave = np.zeros(n, dtype=np.int64)
    level = np.zeros(n, dtype=np.int64)
    ready = np.zeros(n, dtype=np.float64)
    start = np.zeros(n, dtype=np.float64)
    finish = np.zeros(n, dtype=np.float64)
    placed = np.zeros(n, dtype=bool)
    frontier = np.flatnonzero(pending == 0)
    while frontier.size:
        here = np.zeros(n, dtype=bool)
        here[frontier] = True
        entries = np.flatnonzero(here[owner][entry_group])
        _choose(
            entries,
            entry_group,
            entry_member,
            whole,
            need,
            position,
            chosen,
            finish,
            wave,
            key_rank,
        )
        taken = entries[chosen[entries]]
        members = entry_member[taken]
        owners = owner[entry_group[taken]]
        np.maximum.at(level, owners, wave[members] + 1)
        np.maximum.at(ready, owners, finish[members])
        begin = np.maximum(ready[frontier], part_hours[frontier])
        end = begin + hours[frontier]
        never = stopped[frontier] | np.isinf(ready[frontier])
        begin[never] = np.inf
        end[never] = np.inf
        wave[frontier], start[frontier], finish[frontier] = level[frontier], begin, end
        placed[frontier] = True
        released = np.bincount(pair_user[here[pair_member]], minlength=n)
        pending -= released
        frontier = np.flatnonzero((pending == 0) & (released > 0))
    return Layers(
        wave,
        start,
        finish,
        _waits_for(flat.keys, owner, entry_group, entry_member, chosen, position),
        placed,
    )


def _choose(
    entries: Ints,
    entry_group: Ints,
    entry_member: Ints,
    whole: Bools,
    need: Ints,
    position: Ints,
    chosen: Bools,
    finish: Floats,
    wave: Ints,
    key_rank: Ints,
) -> None:
    """Mark the entries that meet each of these groups, and their order of return."""
    full = whole[entry_group[entries]]
    chosen[entries[full]] = True
    partial = entries[~full]
    if not partial.size:
        return
    member, group = entry_member[partial], entry_group[partial]
    order = np.lexsort((key_rank[member], wave[member], finish[member], group))
    ranked, groups = partial[order], group[order]
    place = np.arange(len(groups), dtype=np.int64) - np.searchsorted(groups, groups)
    position[ranked] = place
    chosen[ranked[place < need[groups]]] = True


def _waits_for(
    keys: list[str],
    owner: Ints,
    entry_group: Ints,
    entry_member: Ints,
    chosen: Bools,
    position: Ints,
) -> list[tuple[str, ...]]:
    """Per asset, the members it waits for: group by group, each group in its own order."""
    taken = np.flatnonzero(chosen)
    taken = taken[np.lexsort((position[taken], entry_group[taken]))]
    owners = owner[entry_group[taken]]
    members = np.array(keys, dtype=object)[entry_member[taken]].tolist()
    found: list[tuple[str, ...]] = [()] * len(keys)
    starts = np.flatnonzero(np.diff(owners, prepend=-1)).tolist()
    ends = [*starts[1:], len(members)] if starts else []
    for who, begin, end in zip(owners[starts].tolist(), starts, ends, strict=True):
        # An asset listed in two of the groups is waited for once.
        found[who] = (
            tuple(dict.fromkeys(members[begin:end])) if end - begin > 1 else (members[begin],)
        )
    return found
