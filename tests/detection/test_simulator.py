"""The facility simulator against the shipped playbooks: quiet when healthy, each fault caught."""

from __future__ import annotations

import pytest
import yaml

from coherence.detection.domain import Detector
from coherence.detection.rules import compile_rules
from coherence.detection.simulator import FAULTS, Simulator
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.schemas import PlaybookDocument

ASSETS = [
    ("fridge-1", "dilution_refrigerator", "sc-lab"),
    ("compressor-1", "pulse_tube_compressor", "sc-lab"),
    ("laser-397", "laser_system", "ion-lab"),
    ("ion-vacuum", "vacuum_system", "ion-lab"),
    ("ion-magnet", "superconducting_magnet", "ion-lab"),
    ("qkd-link-metro", "qkd_link", "harbour-dc"),
    ("helium-store", "helium_supply", "sc-lab"),
    ("sc-feed-a", "power_feed", "sc-lab"),
]
KINDS = {asset: kind for asset, kind, _site in ASSETS}
STEP = 5.0
T0 = 1_767_607_200.0


def detector() -> Detector:
    documents = [
        PlaybookDocument.model_validate(yaml.safe_load(text))
        for _name, text in playbooks_service.library_sources()
    ]
    return Detector(compile_rules(documents))


def run(
    simulator: Simulator, engine: Detector, start: float, seconds: float
) -> list[tuple[str, str, bool]]:
    changes = []
    at = start
    while at < start + seconds:
        for sample in simulator.tick(at):
            changes += [
                (c.asset, c.rule.playbook, c.raised)
                for c in engine.observe(sample, KINDS[sample.asset])
            ]
        changes += [(c.asset, c.rule.playbook, c.raised) for c in engine.sweep(at)]
        at += STEP
    return changes


def test_a_healthy_facility_raises_nothing_for_a_day() -> None:
    simulator = Simulator(ASSETS, origin=T0)
    assert run(simulator, detector(), T0, 24 * 3600) == []


@pytest.mark.parametrize(
    ("fault", "asset", "playbook", "within"),
    [
        ("cooling-outage", "fridge-1", "dilution-refrigerator-warm-up", 600),
        ("compressor-trip", "compressor-1", "pulse-tube-compressor-fault", 120),
        ("laser-lock-loss", "laser-397", "laser-lock-loss", 300),
        ("vacuum-leak", "ion-vacuum", "ion-trap-vacuum-loss", 900),
        ("qber-step", "qkd-link-metro", "qkd-error-rate-spike", 600),
        ("magnet-quench", "ion-magnet", "magnet-quench", 60),
        ("sensor-silent", "fridge-1", "dilution-refrigerator-warm-up", 600),
    ],
)
def test_each_fault_is_caught_by_its_playbook(
    fault: str, asset: str, playbook: str, within: float
) -> None:
    simulator = Simulator(ASSETS, origin=T0)
    engine = detector()
    assert run(simulator, engine, T0, 600) == []
    simulator.inject(fault, asset, T0 + 600)
    raised = [c for c in run(simulator, engine, T0 + 600, within) if c[2]]
    assert (asset, playbook, True) in raised, raised


def test_every_fault_is_described_and_bad_injections_are_refused() -> None:
    assert all(f.description for f in FAULTS.values())
    simulator = Simulator(ASSETS)
    with pytest.raises(ValueError, match="choose from"):
        simulator.inject("meteor", "fridge-1", 0)
    with pytest.raises(ValueError, match="no asset"):
        simulator.inject("cooling-outage", "fridge-9", 0)
    with pytest.raises(ValueError, match="strikes"):
        simulator.inject("cooling-outage", "laser-397", 0)


def test_the_same_seed_gives_the_same_run() -> None:
    assert Simulator(ASSETS, seed=3).tick(T0) == Simulator(ASSETS, seed=3).tick(T0)
