"""The metric dictionary: every playbook metric is in it, and units are checked, never guessed."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from coherence.detection.metrics import MetricKind, dictionary, metric, normalise, parse_dictionary
from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed

LIBRARY = Path(__file__).resolve().parents[2] / "src" / "coherence" / "playbooks" / "library"
REPLAY_METRICS = {
    "t1_us",
    "t2_us",
    "readout_error_ratio",
    "two_qubit_gate_error_ratio",
    "t1_ratio_to_median",
    "t2_ratio_to_median",
    "readout_error_ratio_to_median",
    "flange_50k_temperature_k",
    "flange_4k_temperature_k",
    "still_temperature_k",
    "mxc_temperature_k",
    "mixture_flow_mmol_per_s",
    "cooling_water_in_temperature_c",
    "cooling_water_out_temperature_c",
    "compressor_oil_temperature_c",
    "compressor_helium_temperature_c",
    "qber_ratio",
    "channel_loss_db",
    *(f"pressure_p{n}_mbar" for n in range(1, 7)),
}


def sample(metric_key: str, value: float | str, unit: str) -> Sample:
    return Sample("lab", "fridge-1", metric_key, value, unit, 1_767_607_200.0)


def playbook_metrics() -> set[str]:
    found = set()
    for path in LIBRARY.glob("*.yaml"):
        for trigger in yaml.safe_load(path.read_text()).get("triggers", []):
            found.add(trigger["metric"])
    return found


def test_every_playbook_and_replay_metric_is_in_the_dictionary() -> None:
    metrics = playbook_metrics()
    assert len(metrics) > 30
    assert metrics | REPLAY_METRICS <= set(dictionary())


def test_a_reading_in_the_canonical_unit_or_an_alias_passes_unchanged() -> None:
    reading = sample("mxc_temperature_k", 0.012, "K")
    assert normalise(reading) is reading
    aliased = normalise(sample("mxc_temperature_k", 0.012, "kelvin"))
    assert isinstance(aliased, Sample)
    assert (aliased.value, aliased.unit) == (0.012, "K")


@pytest.mark.parametrize(
    ("metric_key", "value", "unit", "expected"),
    [
        ("mxc_temperature_k", 12.0, "mK", 0.012),
        ("vacuum_pressure_mbar", 1e-8, "Pa", 1e-10),
        ("t1_us", 0.15, "ms", 150.0),
        ("qber_ratio", 4.0, "%", 0.04),
        ("ups_runtime_remaining_minutes", 900, "s", 15.0),
    ],
)
def test_explicit_conversions_rewrite_value_and_unit(
    metric_key: str, value: float, unit: str, expected: float
) -> None:
    converted = normalise(sample(metric_key, value, unit))
    assert isinstance(converted, Sample)
    assert converted.value == pytest.approx(expected)
    assert converted.unit == metric(metric_key).unit  # type: ignore[union-attr]


def test_a_wrong_unit_is_refused_naming_the_expected_one() -> None:
    problem = normalise(sample("mxc_temperature_k", 12.0, "mbar"))
    assert isinstance(problem, str)
    assert "'K'" in problem
    assert "mbar" in problem


def test_an_unknown_metric_is_refused() -> None:
    assert "unknown metric" in str(normalise(sample("flux_capacitance", 1.0, "K")))


def test_values_must_fit_the_metric_kind() -> None:
    assert "numeric" in str(normalise(sample("mxc_temperature_k", "cold", "K")))
    assert "integer" in str(normalise(sample("compressor_state", 3.5, "state")))
    assert "finite" in str(normalise(sample("mxc_temperature_k", float("nan"), "K")))
    assert "magnitude" in str(normalise(sample("mxc_temperature_k", 1e300, "K")))
    assert "magnitude" in str(normalise(sample("t1_us", 1e12, "s")))
    state = normalise(sample("compressor_state", 3.0, "state"))
    assert isinstance(state, Sample)
    assert isinstance(normalise(sample("qkd_link_state", "security_abort", "state")), Sample)
    assert "printable" in str(normalise(sample("qkd_link_state", "a\x00b", "state")))


def test_quality_survives_normalisation() -> None:
    reading = Sample("lab", "fridge-1", "mxc_temperature_k", 12.0, "mK", 1.0, Quality.UNCERTAIN)
    converted = normalise(reading)
    assert isinstance(converted, Sample)
    assert converted.quality is Quality.UNCERTAIN


def test_states_and_kinds_are_documented() -> None:
    spec = metric("compressor_state")
    assert spec is not None
    assert spec.kind is MetricKind.STATE
    assert spec.states["6"] == "error lockout"
    assert metric("nope") is None


def test_a_broken_dictionary_is_refused_at_load() -> None:
    with pytest.raises(ValidationFailed, match="undeclared units"):
        parse_dictionary(
            "units: {K: {aliases: [K]}}\n"
            "metrics: [{key: a, unit: mbar, kind: numeric, description: x}]\n",
            source="test",
        )
    with pytest.raises(ValidationFailed, match="finite and positive"):
        parse_dictionary(
            "units: {K: {aliases: [K], conversions: {mK: 0}}}\nmetrics: []\n", source="test"
        )
