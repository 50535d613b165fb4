"""Repair times from spares and vendor SLAs, failure rates raised by advisories, what-ifs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coherence.recovery.planning import Group, Node
from coherence.recovery.supply import Contract, Spare
from coherence.risk import reliability
from coherence.risk.domain import Advisory
from coherence.risk.rates import Prior, PriorTable
from coherence.risk.reliability import WhatIf

NOW = datetime(2026, 1, 5, tzinfo=UTC)
PRIORS = PriorTable(Prior(0.5, 2.0, "default"), {}, {"default": 8.0, "ups": 3.0})
GRAPH = {
    "ups": Node("ups", "ups", "standard", "lab"),
    "compressor": Node(
        "compressor",
        "pulse_tube_compressor",
        "high_value_research",
        "lab",
        (Group("power", ("ups",), 1),),
        ("coldhead",),
    ),
    "fridge": Node(
        "fridge",
        "dilution_refrigerator",
        "high_value_research",
        "lab",
        (Group("pulse-tube", ("compressor",), 1),),
        ("polar",),
    ),
    "laser": Node("laser", "laser_system", "high_value_research", "lab", (), ("lumen",)),
}
CONTRACTS = {
    "coldhead": Contract("coldhead", 24, 72, {"rotary-valve": 72}),
    "polar": Contract("polar", 24, 120, {}),
    "lumen": Contract("lumen", 48, 96, {"laser-diode": 168}),
}
SPARES = [
    Spare("lab", "rotary-valve", 1, frozenset({"pulse_tube_compressor"})),
    Spare("elsewhere", "laser-diode", 2, frozenset({"laser_system"})),
]
RESTORE = {"pulse_tube_compressor": 2.0, "dilution_refrigerator": 36.0, "laser_system": 3.0}


def inputs(advisories: list[Advisory] | None = None) -> dict[str, reliability.AssetInput]:
    return reliability.inputs_for(
        GRAPH,
        kind_rates={"dilution_refrigerator": 2.0, "laser_system": 1.0},
        priors=PRIORS,
        spares=SPARES,
        contracts=CONTRACTS,
        restore_hours=RESTORE,
        advisories=advisories or [],
        now=NOW,
    )


def test_repair_time_comes_from_spares_vendors_or_in_house_work() -> None:
    found = inputs()
    assert found["compressor"].repair_hours == 2.0
    assert found["compressor"].repair_detail.startswith("spare rotary-valve on site at lab")
    assert found["fridge"].repair_hours == 120 + 36
    assert "polar: repair SLA" in found["fridge"].repair_detail
    # The fitting diode is stocked at another site: the vendor's lead time beats its SLA.
    assert found["laser"].repair_hours == 168 + 3
    assert "laser-diode lead time 168 h" in found["laser"].repair_detail
    assert found["ups"].repair_hours == 3.0 + 1.0
    assert found["ups"].repair_detail.startswith("in-house repair")
    # Kinds without a learned rate fall back to the default prior's mean.
    assert found["ups"].failures_per_year == 0.25


def test_advisories_in_force_multiply_the_rate_and_say_why() -> None:
    cve = Advisory(
        "cve-9",
        "advisory",
        "fridge control software flaw",
        3.0,
        frozenset({"fridge"}),
        frozenset(),
        NOW + timedelta(days=1),
    )
    lapsed = Advisory(
        "old", "advisory", "lapsed", 10.0, frozenset(), frozenset({"dilution_refrigerator"}), NOW
    )
    found = inputs([cve, lapsed])
    assert found["fridge"].failures_per_year == pytest.approx(6.0)
    assert found["fridge"].advisories == ("cve-9 (x3): fridge control software flaw",)
    assert found["laser"].advisories == ()


def test_what_ifs_override_repair_and_add_a_twin_behind_a_pool() -> None:
    base = inputs()
    what_if = WhatIf(
        redundant=("compressor",),
        spares={"fridge": "pulse-tube-head"},
        repair_hours={"laser": 10.0},
    )
    graph, changed = reliability.apply(GRAPH, base, what_if)
    assert changed["fridge"].repair_hours == 36.0
    assert "spare pulse-tube-head" in changed["fridge"].repair_detail
    assert changed["laser"].repair_hours == 10.0
    assert graph["fridge"].groups[0].members == ("compressor~pool",)
    assert graph["compressor~pool"].groups[0].members == ("compressor", "compressor~twin")
    assert graph["compressor~twin"].groups == GRAPH["compressor"].groups
    assert changed["compressor~twin"].failures_per_year == base["compressor"].failures_per_year
    assert changed["compressor~pool"].unavailability == 0.0
    assert reliability.unknown_assets(GRAPH, WhatIf(redundant=("ghost",))) == [
        ("add_redundant", "ghost")
    ]
    assert not WhatIf()
