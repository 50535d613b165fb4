"""Restoration planning on a synthetic 100,000-asset graph, beside a plain topological sort.

    .venv/bin/python bench/recovery.py              # 100,000 assets, best of 5
    .venv/bin/python bench/recovery.py --assets 20000 --repeat 3

The graph is layered like a campus: power feeds, then UPSes and chillers fed by redundant
pairs (needs 1 of 2), then compressors, fridges and processors, each depending on one or two
groups below. Every asset is down (the worst case), so the planner checks the whole graph for
bad data and cycles, layers it into waves, orders each wave by criticality and estimates
times. The baseline is ``graphlib.TopologicalSorter.static_order`` over the same edges in the
same run. Targets: planning under 1 s, and within 5x the bare sort. Figures vary with the
machine; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import graphlib
import random
import time

from coherence.recovery import gates, planning

KINDS = (
    "power_feed",
    "ups",
    "chiller",
    "pulse_tube_compressor",
    "dilution_refrigerator",
    "qubit_processor",
)
CRITICALITY = ("safety_critical", "high_value_research", "standard", "standard")


def synthetic(assets: int, seed: int = 7) -> dict[str, planning.Node]:
    """A layered graph with redundancy groups; edges only point to earlier layers."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible graph, not a secret
    per_layer = assets // len(KINDS)
    graph: dict[str, planning.Node] = {}
    layers: list[list[str]] = []
    for depth, kind in enumerate(KINDS):
        count = per_layer if depth < len(KINDS) - 1 else assets - per_layer * depth
        keys = [f"{kind[:4]}-{depth}-{i}" for i in range(count)]
        for key in keys:
            groups: tuple[planning.Group, ...] = ()
            if depth:
                below = layers[depth - 1]
                pair = tuple(rng.sample(below, 2))
                groups = (planning.Group("redundant", pair, 1),)
                if depth > 1 and rng.random() < 0.5:
                    groups += (planning.Group("direct", (rng.choice(layers[depth - 2]),), 1),)
            graph[key] = planning.Node(key, kind, rng.choice(CRITICALITY), "site", groups)
        layers.append(keys)
    return graph


def main() -> None:
    """Time planning against the bare sort and print both with the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    graph = synthetic(args.assets)
    edges = {k: [m for g in n.groups for m in g.members] for k, n in graph.items()}
    durations = gates.durations()
    sort_times, plan_times = [], []
    result = None
    for _ in range(args.repeat):
        started = time.perf_counter()
        order = list(graphlib.TopologicalSorter(edges).static_order())
        sort_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        result = planning.plan(graph, graph.keys(), durations=durations)
        plan_times.append(time.perf_counter() - started)
    assert result is not None
    assert len(result.steps) == len(order) == args.assets
    sort, plan = min(sort_times), min(plan_times)
    ratio = plan / sort
    print(f"assets: {args.assets:,}; waves: {result.waves}; ETA {result.eta_hours:g} h")
    print(f"topological sort (graphlib, baseline): {sort * 1000:.0f} ms")
    print(f"restoration plan (check + waves + order + ETA): {plan * 1000:.0f} ms")
    print(
        f"plan {'under' if plan < 1 else 'OVER'} 1 s target; "
        f"{ratio:.2f}x the bare sort ({'within' if ratio <= 5 else 'OVER'} the 5x target)"
    )


if __name__ == "__main__":
    main()
