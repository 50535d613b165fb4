"""Pure restoration ordering: waves, priorities, waits for parts, bad data refused."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
import yaml

from coherence.recovery import gates, planning
from coherence.recovery.planning import Group, Node, PlanningError
from coherence.recovery.supply import AidOffer, Contract, Spare, source_parts

FACILITY = Path(__file__).resolve().parents[2] / "examples" / "facility.yaml"
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday


def sample_graph() -> dict[str, Node]:
    data = yaml.safe_load(FACILITY.read_text())
    graph = {}
    for raw in data["assets"]:
        groups = tuple(
            Group(g.get("group", ""), tuple(g["assets"]), g.get("needs") or len(g["assets"]))
            for g in raw.get("depends_on", [])
        )
        graph[raw["key"]] = Node(
            raw["key"],
            raw["kind"],
            raw.get("criticality", "standard"),
            raw["site"],
            groups,
            tuple(raw.get("vendors", [])),
        )
    return graph


def test_cooling_water_loss_takes_down_both_fridges_and_orders_the_return() -> None:
    graph = sample_graph()
    down = planning.affected(graph, ["sc-chiller-1", "sc-chiller-2"])
    assert down == {
        "sc-chiller-1",
        "sc-chiller-2",
        "compressor-1",
        "compressor-2",
        "fridge-1",
        "fridge-2",
        "qpu-1",
        "qpu-2",
    }
    plan = planning.plan(graph, down, durations=gates.durations())
    waves = {s.asset: s.wave for s in plan.steps}
    assert waves["sc-chiller-1"] == waves["sc-chiller-2"] == 0
    assert waves["compressor-1"] == waves["compressor-2"] == 1
    assert waves["fridge-1"] == waves["fridge-2"] == 2
    assert waves["qpu-1"] == waves["qpu-2"] == 3
    fridge = next(s for s in plan.steps if s.asset == "fridge-1")
    assert fridge.waits_for == ("compressor-1",)
    compressor = next(s for s in plan.steps if s.asset == "compressor-1")
    # One chiller of the cooling-water pair is enough: the compressor waits for one.
    assert len(compressor.waits_for) == 1
    assert any("cooling-water: 1 of" in n for n in compressor.notes)
    assert plan.waves == 4
    assert plan.eta_hours == 1.0 + 2.0 + 36.0 + 8.0


def test_one_chiller_lost_takes_nothing_else_down() -> None:
    assert planning.affected(sample_graph(), ["sc-chiller-1"]) == {"sc-chiller-1"}


def test_safety_critical_first_within_a_wave() -> None:
    graph = sample_graph()
    down = planning.affected(graph, ["ion-feed", "helium-store"])
    plan = planning.plan(graph, down, durations=gates.durations())
    first = [s for s in plan.steps if s.wave == 0]
    assert first[0].criticality == "safety_critical"
    magnet = next(s for s in plan.steps if s.asset == "ion-magnet")
    others = [s for s in plan.steps if s.wave == magnet.wave]
    assert others[0].asset == "ion-magnet"


def test_a_cycle_is_refused_naming_the_assets() -> None:
    graph = {
        "a": Node("a", "chiller", "standard", "s", (Group("g", ("b",), 1),)),
        "b": Node("b", "chiller", "standard", "s", (Group("g", ("a",), 1),)),
    }
    with pytest.raises(PlanningError, match=r"dependency cycle: a -> b -> a"):
        planning.plan(graph, {"a", "b"}, durations={})


@pytest.mark.parametrize(
    ("group", "message"),
    [
        (Group("g", ("ghost",), 1), "unknown asset"),
        (Group("g", ("b",), 2), "needs 2 but lists 1"),
        (Group("g", ("a",), 1), "a depends on itself"),
    ],
)
def test_inconsistent_data_is_refused(group: Group, message: str) -> None:
    graph = {
        "a": Node("a", "chiller", "standard", "s", (group,)),
        "b": Node("b", "chiller", "standard", "s"),
    }
    with pytest.raises(PlanningError, match=message) as caught:
        planning.check_graph(graph)
    assert caught.value.details["problems"][0]["path"] == "assets.a.depends_on[0]"


def test_a_paused_branch_has_no_estimate() -> None:
    graph = sample_graph()
    down = planning.affected(graph, ["sc-chiller-1", "sc-chiller-2"])
    plan = planning.plan(graph, down, durations=gates.durations(), paused={"compressor-1"})
    steps = {s.asset: s for s in plan.steps}
    assert steps["fridge-1"].finish_hours is None
    assert steps["fridge-1"].blocked_by == ("compressor-1",)
    assert steps["fridge-2"].finish_hours is not None
    assert plan.eta_hours is None


CONTRACTS = {
    "coldhead-compressors": Contract("coldhead-compressors", 24, 72, {"adsorber-cartridge": 96})
}
AID = [AidOffer("nb-coldhead", "coldhead-compressors", "compressor adsorber cartridge", 1)]


def test_a_spare_on_site_means_no_wait() -> None:
    graph = sample_graph()
    stock = [Spare("sc-lab", "adsorber-cartridge", 1, frozenset({"pulse_tube_compressor"}))]
    waits = source_parts(
        {"compressor-1": "adsorber-cartridge"},
        graph,
        spares=stock,
        contracts=CONTRACTS,
        aid=AID,
        aid_hours=24,
        now=START,
    )
    assert waits["compressor-1"].hours == 0
    assert waits["compressor-1"].source == "spare"


def test_without_a_spare_the_fastest_of_vendor_and_mutual_aid_says_which() -> None:
    graph = sample_graph()
    waits = source_parts(
        {"compressor-1": "adsorber-cartridge", "compressor-2": "adsorber-cartridge"},
        graph,
        spares=[],
        contracts=CONTRACTS,
        aid=AID,
        aid_hours=24,
        now=START,
    )
    assert waits["compressor-1"].source == "mutual_aid"
    assert "mutual aid from coldhead-compressors under nb-coldhead" in waits["compressor-1"].detail
    # The single aid offer is used up: the second compressor waits for the vendor.
    assert waits["compressor-2"].source == "vendor"
    assert waits["compressor-2"].hours == 96
    assert "96 h lead time" in waits["compressor-2"].detail
    plan = planning.plan(graph, {"compressor-1"}, durations=gates.durations(), part_waits=waits)
    assert plan.steps[0].start_hours == 24
    assert plan.eta_hours == 26
