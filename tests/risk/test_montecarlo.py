"""The Monte Carlo against graphs whose availability can be computed exactly."""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping

import pytest

from coherence.recovery.planning import Group, Node, PlanningError
from coherence.risk import montecarlo, reliability
from coherence.risk.reliability import AssetInput, WhatIf

TRIALS = 400_000


def node(key: str, *groups: Group) -> Node:
    return Node(key, "chiller", "standard", "site", tuple(groups))


def exact(graph: Mapping[str, Node], q: Mapping[str, float], target: str) -> float:
    """Availability of ``target`` by enumerating every combination of own failures."""
    keys = sorted(graph)
    total = 0.0
    for downs in itertools.product((False, True), repeat=len(keys)):
        own = dict(zip(keys, downs, strict=True))
        weight = math.prod(q[k] if own[k] else 1 - q[k] for k in keys)
        works: dict[str, bool] = {}

        def up(key: str, own: dict[str, bool] = own, works: dict[str, bool] = works) -> bool:
            if key not in works:
                works[key] = not own[key] and all(
                    sum(up(m) for m in g.members) >= g.min_required for g in graph[key].groups
                )
            return works[key]

        total += weight * up(target)
    return total


def within_sampling_error(estimate: float, truth: float, trials: int = TRIALS) -> bool:
    """Within five standard errors: a fixed seed makes this deterministic, not flaky."""
    spread = math.sqrt(truth * (1 - truth) / trials)
    return abs(estimate - truth) <= 5 * spread + 1e-12


def run(graph: Mapping[str, Node], q: Mapping[str, float], target: str, seed: int = 11) -> float:
    model = montecarlo.compile_model(graph, q)
    outcome = montecarlo.simulate(model, trials=TRIALS, seed=seed)
    return montecarlo.availability(outcome, model.index(target))


def test_two_independent_parallel_components() -> None:
    graph = {"a": node("a"), "b": node("b"), "s": node("s", Group("pair", ("a", "b"), 1))}
    q = {"a": 0.1, "b": 0.2, "s": 0.0}
    assert exact(graph, q, "s") == pytest.approx(1 - 0.1 * 0.2)
    assert within_sampling_error(run(graph, q, "s"), 0.98)


def test_a_series_pair() -> None:
    graph = {"a": node("a"), "b": node("b"), "s": node("s", Group("both", ("a", "b"), 2))}
    q = {"a": 0.03, "b": 0.01, "s": 0.002}
    truth = 0.97 * 0.99 * 0.998
    assert exact(graph, q, "s") == pytest.approx(truth)
    assert within_sampling_error(run(graph, q, "s"), truth)


def test_two_of_three_with_a_shared_feed() -> None:
    graph = {
        "feed": node("feed"),
        "x": node("x", Group("power", ("feed",), 1)),
        "y": node("y", Group("power", ("feed",), 1)),
        "z": node("z"),
        "s": node("s", Group("two", ("x", "y", "z"), 2)),
    }
    q = {"feed": 0.05, "x": 0.1, "y": 0.15, "z": 0.2, "s": 0.0}
    truth = exact(graph, q, "s")
    # By hand: feed up (0.95) needs 2 of 3 of x, y, z; feed down leaves only z.
    a, b, c = 0.9, 0.85, 0.8
    two_of_three = a * b + a * c + b * c - 2 * a * b * c
    assert truth == pytest.approx(0.95 * two_of_three)
    assert within_sampling_error(run(graph, q, "s"), truth)


def test_rare_failures_use_the_geometric_sampler_and_stay_unbiased() -> None:
    graph = {"a": node("a"), "b": node("b"), "s": node("s", Group("both", ("a", "b"), 2))}
    q = {"a": 0.004, "b": 0.001, "s": 0.0}
    assert within_sampling_error(run(graph, q, "s"), 0.996 * 0.999)


def test_the_same_seed_gives_the_same_answer_and_another_seed_another() -> None:
    graph = {"a": node("a"), "s": node("s", Group("g", ("a",), 1))}
    q = {"a": 0.1, "s": 0.01}
    assert run(graph, q, "s", seed=3) == run(graph, q, "s", seed=3)
    assert run(graph, q, "s", seed=3) != run(graph, q, "s", seed=4)


def test_downtime_attributable_to_each_member_of_a_series() -> None:
    # A trial is rescued by never failing a when a is down and b is up: q_a (1 - q_b).
    graph = {"a": node("a"), "b": node("b"), "s": node("s", Group("both", ("a", "b"), 2))}
    q = {"a": 0.03, "b": 0.01, "s": 0.0}
    model = montecarlo.compile_model(graph, q)
    outcome = montecarlo.simulate(model, trials=TRIALS, seed=5)
    shares = montecarlo.contributions(model, outcome, [model.index("s")], candidates=5)
    found = {model.keys[j]: v for j, v in shares[model.index("s")].items()}
    assert set(found) == {"a", "b"}
    assert within_sampling_error(found["a"], 0.03 * 0.99)
    assert within_sampling_error(found["b"], 0.01 * 0.97)


def test_a_redundant_twin_makes_a_single_point_of_failure_a_pair() -> None:
    graph = {
        "compressor": node("compressor"),
        "fridge": node("fridge", Group("pulse-tube", ("compressor",), 1)),
        "rack": node("rack", Group("all", ("compressor", "fridge"), 2)),
    }
    inputs = {
        k: AssetInput(k, "chiller", 8.766 if k == "compressor" else 0.0, 100.0, 0.0, "test")
        for k in graph
    }
    q = inputs["compressor"].unavailability
    assert q == pytest.approx(0.1 / 1.1)
    changed_graph, changed_inputs = reliability.apply(
        graph, inputs, WhatIf(redundant=("compressor",))
    )
    before = reliability.run(graph, inputs, services=["fridge", "rack"], trials=TRIALS, seed=2)
    after = reliability.run(
        changed_graph, changed_inputs, services=["fridge", "rack"], trials=TRIALS, seed=2
    )
    by_key = {s.key: s for s in after.services}
    assert within_sampling_error(by_key["fridge"].availability, 1 - q * q)
    # The rack needed the compressor and the fridge; now either compressor will do.
    assert within_sampling_error(by_key["rack"].availability, 1 - q * q)
    assert all(s.availability == pytest.approx(1 - q, abs=0.005) for s in before.services)
    assert by_key["fridge"].downtime_hours == pytest.approx(
        (1 - by_key["fridge"].availability) * 8766
    )


def test_a_cycle_or_an_unknown_member_is_refused_naming_the_assets() -> None:
    cyclic = {"a": node("a", Group("g", ("b",), 1)), "b": node("b", Group("g", ("a",), 1))}
    with pytest.raises(PlanningError, match="cycle"):
        montecarlo.compile_model(cyclic, {"a": 0.1, "b": 0.1})
    dangling = {"a": node("a", Group("g", ("ghost",), 1))}
    with pytest.raises(PlanningError, match="ghost"):
        montecarlo.compile_model(dangling, {"a": 0.1})


def test_steady_state_unavailability() -> None:
    # Twice a year, 438.3 h to repair: x = 2 / 8766 * 438.3 = 0.1; q = 0.1 / 1.1.
    assert montecarlo.unavailability(2.0, 438.3, 8766.0) == pytest.approx(0.1 / 1.1)
    assert montecarlo.unavailability(0.0, 100.0, 8766.0) == 0.0
