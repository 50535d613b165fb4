"""Monte Carlo availability on a synthetic 1,000-asset facility, beside a plain-Python loop.

    .venv/bin/python bench/risk.py                      # 1,000 assets, 100,000 trials, best of 3
    .venv/bin/python bench/risk.py --assets 5000 --trials 20000 --repeat 1

The facility is layered like a campus: power feeds, then UPSes and chillers fed by redundant
pairs (needs 1 of 2), then compressors, fridges and processors, each depending on one or two
groups below, some of them "2 of 3". Failure rates (0.1 to 3 a year) and repair times (2 to
200 h) are drawn per asset. The processors are the research services. The figure is the
vectorised simulation (sampling, propagation, availability of every service); it is also
timed with the contribution analysis (downtime attributable to each asset). The baseline is
the same model simulated trial by trial in plain Python over a few hundred trials,
extrapolated to the same number of trials, in the same run. Target: under 2 s for 100,000
trials. Figures vary with the machine; nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import random
import time

from coherence.recovery import planning
from coherence.risk import montecarlo
from coherence.risk.rates import HOURS_PER_YEAR

KINDS = (
    "power_feed",
    "ups",
    "chiller",
    "pulse_tube_compressor",
    "dilution_refrigerator",
    "qubit_processor",
)


def synthetic(assets: int, seed: int = 7) -> tuple[dict[str, planning.Node], dict[str, float]]:
    """A layered graph with redundancy groups, and each asset's unavailability."""
    rng = random.Random(seed)  # noqa: S311 - a reproducible facility, not a secret
    per_layer = assets // len(KINDS)
    graph: dict[str, planning.Node] = {}
    q: dict[str, float] = {}
    layers: list[list[str]] = []
    for depth, kind in enumerate(KINDS):
        count = per_layer if depth < len(KINDS) - 1 else assets - per_layer * depth
        keys = [f"{kind[:4]}-{depth}-{i}" for i in range(count)]
        for key in keys:
            groups: tuple[planning.Group, ...] = ()
            if depth:
                below = layers[depth - 1]
                if rng.random() < 0.2 and len(below) >= 3:
                    groups = (planning.Group("two-of-three", tuple(rng.sample(below, 3)), 2),)
                else:
                    groups = (planning.Group("redundant", tuple(rng.sample(below, 2)), 1),)
                if depth > 1 and rng.random() < 0.5:
                    groups += (planning.Group("direct", (rng.choice(layers[depth - 2]),), 1),)
            criticality = "high_value_research" if kind == "qubit_processor" else "standard"
            graph[key] = planning.Node(key, kind, criticality, "site", groups)
            q[key] = montecarlo.unavailability(
                rng.uniform(0.1, 3.0), rng.uniform(2.0, 200.0), HOURS_PER_YEAR
            )
        layers.append(keys)
    return graph, q


def plain_python(model: montecarlo.Model, trials: int, seed: int) -> list[int]:
    """The same model, one trial at a time: counts of trials each asset works in."""
    rng = random.Random(seed)  # noqa: S311 - simulation draws, not a secret
    q = model.q.tolist()
    groups = [[(members.tolist(), need) for members, need in g] for g in model.groups]
    works_count = [0] * len(q)
    for _ in range(trials):
        works = [False] * len(q)
        for i, p in enumerate(q):
            state = rng.random() >= p
            for members, need in groups[i]:
                if state and sum(works[m] for m in members) < need:
                    state = False
            works[i] = state
            works_count[i] += state
    return works_count


def main() -> None:
    """Time the vectorised simulation against the plain loop and print both with the ratio."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--assets", type=int, default=1000)
    parser.add_argument("--trials", type=int, default=100_000)
    parser.add_argument("--baseline-trials", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    graph, q = synthetic(args.assets)
    started = time.perf_counter()
    model = montecarlo.compile_model(graph, q)
    compile_time = time.perf_counter() - started
    services = [i for i, k in enumerate(model.keys) if graph[k].kind == "qubit_processor"]
    sim_times, full_times = [], []
    worst = 1.0
    for _ in range(args.repeat):
        started = time.perf_counter()
        outcome = montecarlo.simulate(model, trials=args.trials, seed=1)
        worst = min(montecarlo.availability(outcome, s) for s in services)
        sim_times.append(time.perf_counter() - started)
        started = time.perf_counter()
        outcome = montecarlo.simulate(model, trials=args.trials, seed=1)
        montecarlo.contributions(model, outcome, services, candidates=5)
        full_times.append(time.perf_counter() - started)
    started = time.perf_counter()
    plain_python(model, args.baseline_trials, seed=1)
    per_trial = (time.perf_counter() - started) / args.baseline_trials
    baseline = per_trial * args.trials
    simulation, full = min(sim_times), min(full_times)
    print(
        f"assets: {args.assets:,}; services: {len(services)}; trials: {args.trials:,}; "
        f"lowest service availability {worst * 100:.3f} %"
    )
    print(f"compile graph (check + order): {compile_time * 1000:.0f} ms")
    print(
        f"plain-Python loop (baseline): {per_trial * 1e6:.0f} us/trial over "
        f"{args.baseline_trials} trials, extrapolated to {args.trials:,}: {baseline:.1f} s"
    )
    print(f"vectorised simulation (sample + propagate + availability): {simulation:.3f} s")
    print(f"with downtime attributed to assets (top 5 per service): {full:.3f} s")
    print(
        f"simulation {'under' if simulation < 2 else 'OVER'} the 2 s target; "
        f"{baseline / simulation:.0f}x faster than the plain loop"
    )


if __name__ == "__main__":
    main()
