"""Restoration layering on random graphs: every plan keeps the planner's promises."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from coherence.recovery import planning
from coherence.recovery.planning import CRITICALITY_RANK, Group, Node, PartWait

KINDS = ("chiller", "ups", "fridge")
CRITICALITY = tuple(CRITICALITY_RANK)


def random_graph(seed: int, size: int) -> dict[str, Node]:
    """A random DAG: each asset needs one or two groups of assets listed before it."""
    rng = random.Random(seed)
    graph: dict[str, Node] = {}
    keys: list[str] = []
    for n in range(size):
        key = f"a{n:03d}"
        groups = []
        for g in range(rng.choice((0, 1, 1, 2)) if keys else 0):
            members = tuple(rng.sample(keys, min(len(keys), rng.randint(1, 3))))
            groups.append(Group(f"g{g}", members, rng.randint(1, len(members))))
        graph[key] = Node(key, rng.choice(KINDS), rng.choice(CRITICALITY), "s", tuple(groups))
        keys.append(key)
    return graph


@settings(max_examples=60, deadline=None)
@given(
    seed=st.integers(0, 10_000),
    size=st.integers(1, 40),
    down_share=st.floats(0.2, 1.0),
    pause=st.booleans(),
)
def test_every_plan_orders_waves_meets_groups_and_times_steps(
    seed: int, size: int, down_share: float, pause: bool
) -> None:
    graph = random_graph(seed, size)
    rng = random.Random(seed)
    down = {k for k in graph if rng.random() < down_share} or {next(iter(graph))}
    paused = {rng.choice(sorted(down))} if pause else set()
    parts = {k: PartWait("p", rng.uniform(0, 30), "vendor", "") for k in down if rng.random() < 0.2}
    durations = {"chiller": 2.0, "ups": 1.0, "fridge": 36.0}
    plan = planning.plan(graph, down, durations=durations, part_waits=parts, paused=paused)
    steps = {s.asset: s for s in plan.steps}
    assert set(steps) == down
    assert [s.order for s in plan.steps] == list(range(len(down)))
    ranks = [(s.wave, CRITICALITY_RANK[s.criticality], s.asset) for s in plan.steps]
    assert ranks == sorted(ranks)
    for step in plan.steps:
        for member in step.waits_for:
            assert steps[member].wave < step.wave
        assert len(set(step.waits_for)) == len(step.waits_for)
        for group in graph[step.asset].groups:
            inside = [m for m in group.members if m in down]
            need = group.min_required - (len(group.members) - len(inside))
            assert len(set(step.waits_for) & set(inside)) >= need
        if step.finish_hours is None:
            assert step.start_hours is None
            assert step.asset in paused or step.blocked_by
            continue
        assert step.asset not in paused
        assert step.finish_hours == step.start_hours + step.duration_hours
        for member in step.waits_for:
            assert steps[member].finish_hours is not None
            assert step.start_hours >= steps[member].finish_hours
        if step.part is not None:
            assert step.start_hours >= step.part.hours
    finishes = [s.finish_hours for s in plan.steps]
    expected = None if None in finishes else max(f for f in finishes if f is not None)
    assert plan.eta_hours == expected
