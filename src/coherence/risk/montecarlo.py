"""Monte Carlo availability over the dependency graph, vectorised with numpy bit arrays.

Non-sequential state sampling: each trial is the facility at a random instant. An asset is
down on its own with its steady-state unavailability q = x / (1 + x), x = failures per hour
x repair hours; it works when it is up and each of its redundancy groups has at least
``min_required`` working members. Trials are packed 64 to a machine word, so a group of
"1 of 2" over 100,000 trials is one OR of two 1,563-word rows.

Pure functions over plain data; nothing here touches the database or the clock.
"""

from __future__ import annotations

import zlib
from collections import deque
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from coherence.recovery import planning

Words = npt.NDArray[np.uint64]
ALL = np.uint64(0xFFFFFFFFFFFFFFFF)
_POPCOUNT = np.array([bin(i).count("1") for i in range(256)], dtype=np.uint8)
# Above this unavailability a plain comparison of uniforms beats drawing geometric gaps.
DENSE = 0.05


def unavailability(failures_per_year: float, repair_hours: float, hours_per_year: float) -> float:
    """Steady-state probability of being down: x / (1 + x), x = rate per hour x repair hours."""
    x = failures_per_year / hours_per_year * repair_hours
    return x / (1.0 + x)


@dataclass(frozen=True)
class Model:
    """A graph compiled for simulation: keys in dependency order, q and member indices."""

    keys: tuple[str, ...]
    q: npt.NDArray[np.float64]
    groups: tuple[tuple[tuple[npt.NDArray[np.intp], int], ...], ...]
    users: tuple[tuple[int, ...], ...]

    def index(self, key: str) -> int:
        """Position of an asset in the model."""
        return self.keys.index(key)


def compile_model(graph: Mapping[str, planning.Node], q: Mapping[str, float]) -> Model:
    """Check the graph (unknown members, impossible groups, cycles) and order it."""
    planning.check_graph(graph)
    edges = {k: {m for g in n.groups for m in g.members} for k, n in graph.items()}
    pending = {k: len(v) for k, v in edges.items()}
    users: dict[str, list[str]] = {k: [] for k in graph}
    for key, members in edges.items():
        for member in members:
            users[member].append(key)
    queue = deque(sorted(k for k, n in pending.items() if n == 0))
    order: list[str] = []
    while queue:
        key = queue.popleft()
        order.append(key)
        for user in sorted(users[key]):
            pending[user] -= 1
            if pending[user] == 0:
                queue.append(user)
    position = {k: i for i, k in enumerate(order)}
    groups = tuple(
        tuple(
            (np.array([position[m] for m in g.members], dtype=np.intp), g.min_required)
            for g in graph[key].groups
        )
        for key in order
    )
    return Model(
        keys=tuple(order),
        q=np.array([q[k] for k in order], dtype=np.float64),
        groups=groups,
        users=tuple(tuple(sorted(position[u] for u in users[k])) for k in order),
    )


@dataclass(frozen=True)
class Outcome:
    """Bit rows (asset x word) of trials: each asset's own failure, and whether it works."""

    trials: int
    own_down: Words
    works: Words
    valid: Words

    def down(self, index: int) -> Words:
        """Trials in which the asset does not work."""
        found: Words = ~self.works[index] & self.valid
        return found


def _bit_counts(rows: Words) -> npt.NDArray[np.int64]:
    """Set bits per row (along the last axis)."""
    if hasattr(np, "bitwise_count"):
        counted: npt.NDArray[np.int64] = np.bitwise_count(rows).sum(axis=-1, dtype=np.int64)
        return counted
    # numpy before 2.0: count bytes through a table.
    by_table: npt.NDArray[np.int64] = _POPCOUNT[rows.view(np.uint8)].sum(axis=-1, dtype=np.int64)
    return by_table


def popcount(row: Words) -> int:
    """Number of set bits."""
    return int(_bit_counts(row))


def _sample_down(q: float, trials: int, words: int, rng: np.random.Generator) -> Words:
    row = np.zeros(words, dtype=np.uint64)
    if q <= 0.0:
        return row
    if q >= DENSE:
        bits = np.zeros(words * 64, dtype=bool)
        bits[:trials] = rng.random(trials) < q
        return np.packbits(bits, bitorder="little").view(np.uint64)
    # A Bernoulli process: gaps between failed trials are geometric.
    expected = trials * q
    size = int(expected + 6.0 * np.sqrt(expected) + 16)
    positions = np.cumsum(rng.geometric(q, size=size)) - 1
    while positions[-1] < trials:
        more = np.cumsum(rng.geometric(q, size=size)) + positions[-1]
        positions = np.concatenate([positions, more])
    positions = positions[positions < trials]
    if positions.size == 0:
        return row
    word = positions >> 6
    bit = np.left_shift(np.uint64(1), (positions & 63).astype(np.uint64))
    starts = np.flatnonzero(np.r_[True, word[1:] != word[:-1]])
    row[word[starts]] = np.bitwise_or.reduceat(bit, starts)
    return row


def _at_least(rows: Words, need: int) -> Words:
    combined: Words
    if need == 1:
        combined = np.bitwise_or.reduce(rows, axis=0)
        return combined
    if need == len(rows):
        combined = np.bitwise_and.reduce(rows, axis=0)
        return combined
    # counts[j]: trials with at least j of the members seen so far working.
    counts = [np.full(rows.shape[1], ALL)] + [np.zeros(rows.shape[1], np.uint64)] * need
    for row in rows:
        for j in range(need, 0, -1):
            counts[j] = counts[j] | (counts[j - 1] & row)
    return counts[need]


def _propagate(model: Model, own_up: Words, works: Words, nodes: Sequence[int]) -> None:
    for i in nodes:
        state = own_up[i]
        for members, need in model.groups[i]:
            state = state & _at_least(works[members], need)
        works[i] = state


def simulate(model: Model, *, trials: int, seed: int) -> Outcome:
    """Sample every asset's own state in ``trials`` trials and propagate through the groups.

    Each asset draws from its own stream, seeded by ``seed`` and its key, so two runs with the
    same seed share the draws of the assets they share (a what-if differs only where it must).
    """
    words = (trials + 63) // 64
    own_down = np.empty((len(model.keys), words), dtype=np.uint64)
    for i, key in enumerate(model.keys):
        rng = np.random.default_rng([seed, zlib.crc32(key.encode())])
        own_down[i] = _sample_down(float(model.q[i]), trials, words, rng)
    valid_bits = np.zeros(words * 64, dtype=bool)
    valid_bits[:trials] = True
    valid = np.packbits(valid_bits, bitorder="little").view(np.uint64)
    works = np.empty_like(own_down)
    _propagate(model, ~own_down, works, range(len(model.keys)))
    return Outcome(trials, own_down, works, valid)


def availability(outcome: Outcome, index: int) -> float:
    """Fraction of trials in which the asset works."""
    return 1.0 - popcount(outcome.down(index)) / outcome.trials


def _dependents(model: Model, start: int) -> list[int]:
    seen = {start}
    queue = deque([start])
    while queue:
        for user in model.users[queue.popleft()]:
            if user not in seen:
                seen.add(user)
                queue.append(user)
    return sorted(seen)


def _ancestors(model: Model, start: int) -> list[int]:
    seen = {start}
    queue = deque([start])
    while queue:
        for members, _need in model.groups[queue.popleft()]:
            for member in members.tolist():
                if member not in seen:
                    seen.add(member)
                    queue.append(member)
    return sorted(seen)


def _overlaps(outcome: Outcome, down: Words, assets: Sequence[int]) -> npt.NDArray[np.int64]:
    """For each asset, the trials in which it failed on its own while ``down`` is set."""
    return _bit_counts(outcome.own_down[assets] & down)


def contributions(
    model: Model, outcome: Outcome, services: Collection[int], *, candidates: int
) -> dict[int, dict[int, float]]:
    """Service downtime attributable to each asset: the share of trials that would have
    worked had that asset never failed (criticality importance x unavailability).

    For each service, the ``candidates`` assets it depends on whose own failures coincide
    most with it being down are re-propagated, each over its dependents only, on the same
    draws.
    """
    result: dict[int, dict[int, float]] = {s: {} for s in services}
    chosen: set[int] = set()
    for s in services:
        assets = _ancestors(model, s)
        counts = _overlaps(outcome, outcome.down(s), assets)
        ranked = sorted(zip(counts.tolist(), assets, strict=True), key=lambda t: (-t[0], t[1]))
        chosen.update(j for count, j in ranked[:candidates] if count)
    own_up = ~outcome.own_down
    # One scratch copy, restored row by row: copying every row per candidate costs more.
    works = outcome.works.copy()
    wanted = set(services)
    for j in sorted(chosen):
        nodes = _dependents(model, j)
        own_up[j] = ALL
        _propagate(model, own_up, works, nodes)
        own_up[j] = ~outcome.own_down[j]
        for s in wanted.intersection(nodes):
            rescued = popcount(outcome.down(s) & works[s])
            if rescued:
                result[s][j] = rescued / outcome.trials
        works[nodes] = outcome.works[nodes]
    return result
