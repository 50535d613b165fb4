"""The detector's rules: hold times, hysteresis, rates, states, bits, silence and baselines."""

from __future__ import annotations

import random

import yaml

from coherence.detection.domain import Detector, FlapGuard, dedup_key
from coherence.detection.rules import Rule, compile_rules
from coherence.detection.samples import Quality, Sample
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.schemas import Operator, PlaybookDocument

FRIDGE = "dilution_refrigerator"


def rule(**overrides: object) -> Rule:
    base: dict[str, object] = {
        "playbook": "warm-up",
        "trigger": "mxc-major",
        "kind": "threshold",
        "metric": "mxc_temperature_k",
        "asset_kinds": frozenset({FRIDGE}),
        "impact": "major",
        "urgency": "high",
        "operator": Operator.GT,
        "value": 0.05,
        "clear_value": 0.05,
    }
    base.update(overrides)
    return Rule(**base)  # type: ignore[arg-type]


def feed(
    detector: Detector,
    values: list[tuple[float, float | str]],
    *,
    metric: str = "mxc_temperature_k",
    asset: str = "fridge-1",
    quality: Quality = Quality.GOOD,
) -> list[tuple[float, bool]]:
    changes = []
    for at, value in values:
        sample = Sample("sc-lab", asset, metric, value, "K", at, quality)
        changes += [(c.at, c.raised) for c in detector.observe(sample, FRIDGE)]
    return changes


def test_threshold_waits_for_its_hold_time() -> None:
    detector = Detector([rule(hold_seconds=30)])
    assert feed(detector, [(0, 0.06), (10, 0.07), (29, 0.08)]) == []
    assert feed(detector, [(30, 0.08)]) == [(30, True)]


def test_a_dip_restarts_the_hold() -> None:
    detector = Detector([rule(hold_seconds=30)])
    assert feed(detector, [(0, 0.06), (20, 0.04), (25, 0.06), (50, 0.06)]) == []
    assert feed(detector, [(55, 0.06)]) == [(55, True)]


def test_hysteresis_stops_a_value_at_the_line_from_flapping() -> None:
    detector = Detector([rule(clear_value=0.04)])
    hovering = [(t, 0.0505 if t % 2 else 0.0495) for t in range(20)]
    assert feed(detector, hovering) == [(1, True)]
    assert feed(detector, [(30, 0.039)]) == [(30, False)]


def test_without_hysteresis_the_same_series_flaps() -> None:
    detector = Detector([rule()])
    hovering = [(t, 0.0505 if t % 2 else 0.0495) for t in range(10)]
    assert len(feed(detector, hovering)) == 9


def test_clear_hold_keeps_firing_through_a_brief_recovery() -> None:
    detector = Detector([rule(clear_hold_seconds=60)])
    assert feed(detector, [(0, 0.06), (10, 0.01), (20, 0.06), (30, 0.01)]) == [(0, True)]
    assert feed(detector, [(91, 0.01)]) == [(91, False)]


def test_rate_of_change_over_a_window() -> None:
    detector = Detector([rule(kind="rate", value=0.001, window_seconds=60)])
    assert feed(detector, [(t, 0.010 + 0.0001 * t) for t in range(0, 60, 10)]) == []
    warming = feed(detector, [(60 + t, 0.016 + 0.02 * t) for t in range(0, 30, 5)])
    assert warming[0][1] is True


def test_rate_forgets_what_left_its_window() -> None:
    detector = Detector([rule(kind="rate", value=0.001, window_seconds=60)])
    changes = feed(detector, [(0, 0.0)] + [(t, 1.0) for t in range(5, 200, 5)])
    # The step counts while it lies in the window, then the flat line after it clears.
    assert changes == [(30, True), (65, False)]


def test_states_match_numbers_and_names_alike() -> None:
    detector = Detector(
        [rule(kind="state", metric="compressor_state", states=frozenset({"6", "7", "MAJOR"}))]
    )
    assert feed(detector, [(0, 3.0)], metric="compressor_state") == []
    assert feed(detector, [(1, 6.0)], metric="compressor_state") == [(1, True)]
    assert feed(detector, [(2, "3")], metric="compressor_state") == [(2, False)]
    assert feed(detector, [(3, "major")], metric="compressor_state") == [(3, True)]


def test_alarm_bits() -> None:
    detector = Detector([rule(kind="bits", metric="compressor_alarm_bits", mask=0b0110)])
    assert feed(detector, [(0, 0b1001)], metric="compressor_alarm_bits") == []
    assert feed(detector, [(1, 0b0100)], metric="compressor_alarm_bits") == [(1, True)]
    assert feed(detector, [(2, 2.5)], metric="compressor_alarm_bits") == [(2, False)]


def test_silence_is_a_signal_and_data_clears_it() -> None:
    detector = Detector([rule(kind="absence", silence_seconds=120)])
    feed(detector, [(0, 0.01)])
    assert detector.sweep(100) == []
    raised = detector.sweep(130)
    assert [(c.asset, c.raised) for c in raised] == [("fridge-1", True)]
    assert detector.sweep(200) == []
    assert feed(detector, [(210, 0.01)]) == [(210, False)]


def test_invalid_readings_neither_raise_nor_clear() -> None:
    detector = Detector([rule()])
    assert feed(detector, [(0, 9.9)], quality=Quality.INVALID) == []
    assert feed(detector, [(1, 0.06)]) == [(1, True)]
    assert feed(detector, [(2, 0.01)], quality=Quality.INVALID) == []


def test_late_samples_do_not_rewrite_history() -> None:
    detector = Detector([rule()])
    assert feed(detector, [(10, 0.06)]) == [(10, True)]
    assert feed(detector, [(5, 0.01)]) == []


def test_anomaly_learns_the_series_then_catches_a_drop() -> None:
    noise = random.Random(7)
    detector = Detector(
        [
            rule(
                kind="anomaly",
                metric="t1_us",
                direction="low",
                deviations=6.0,
                smoothing=0.02,
                min_samples=30,
            )
        ]
    )
    steady = [(t, 150 + noise.gauss(0, 5)) for t in range(500)]
    assert feed(detector, steady, metric="t1_us") == []
    dropped = feed(detector, [(500 + t, 60 + noise.gauss(0, 5)) for t in range(5)], metric="t1_us")
    assert dropped[0] == (500, True)


def test_components_share_their_assets_key() -> None:
    assert dedup_key("qpu-1.q17", "qubit-decoherence") == "qpu-1:qubit-decoherence"
    assert dedup_key("fridge-1", "warm-up") == "fridge-1:warm-up"


def test_flap_guard() -> None:
    guard = FlapGuard(changes=3, within_seconds=60)
    assert not any(guard.flapping("k", t) for t in (0, 10, 20))
    assert guard.flapping("k", 30)
    assert not guard.flapping("k", 200)


def test_every_shipped_trigger_compiles() -> None:
    documents = [
        PlaybookDocument.model_validate(yaml.safe_load(text))
        for _name, text in playbooks_service.library_sources()
    ]
    rules = compile_rules(documents)
    assert len(rules) == sum(len(d.triggers) for d in documents)
    assert {r.kind for r in rules} >= {"threshold", "rate", "state"}
    assert all(r.impact and r.urgency for r in rules)


def test_a_device_wide_drop_is_one_event_for_the_whole_asset() -> None:
    correlated = rule(
        kind="correlated",
        metric="t1_us",
        operator=Operator.LT,
        value=30.0,
        fraction=0.2,
        min_parts=10,
        asset_kinds=frozenset({"qubit_processor"}),
    )
    detector = Detector([correlated])

    def qubits(at: float, bad: int) -> list[tuple[str, bool]]:
        changes = []
        for q in range(20):
            value = 10.0 if q >= 20 - bad else 150.0
            sample = Sample("sc-lab", f"qpu-1.q{q}", "t1_us", value, "us", at)
            changes += [(c.asset, c.raised) for c in detector.observe(sample, "qubit_processor")]
        return changes

    assert qubits(0, bad=3) == []
    assert qubits(10, bad=8) == [("qpu-1", True)]
    assert qubits(20, bad=8) == []
    assert qubits(30, bad=1) == [("qpu-1", False)]


def test_a_held_rule_says_when_the_condition_began() -> None:
    detector = Detector([rule(hold_seconds=30)])
    feed(detector, [(0, 0.01), (10, 0.06), (25, 0.07)])
    sample = Sample("sc-lab", "fridge-1", "mxc_temperature_k", 0.08, "K", 40)
    (change,) = detector.observe(sample, FRIDGE)
    assert change.at == 40
    assert change.began == 10
