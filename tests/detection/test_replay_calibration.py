"""Qubit calibration snapshots: real IBM devices from qiskit-ibm-runtime, and crafted quirks."""

from __future__ import annotations

import copy
import statistics
from typing import Any

import orjson
import pytest

from coherence.detection.metrics import normalise
from coherence.detection.replay import ReplayResult, read_google_calibration, read_ibm_props
from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed
from tests.helpers import packaged_file

T0 = 1_767_607_200.0  # 2026-01-05T10:00:00Z


def ibm_snapshot(name: str) -> bytes:
    """Read a snapshot shipped in qiskit-ibm-runtime as a file; qiskit is never imported."""
    return packaged_file(
        "qiskit-ibm-runtime", f"qiskit_ibm_runtime/fake_provider/backends/{name}/props_{name}.json"
    ).read_bytes()


def google_calibration(name: str) -> bytes:
    """Read a calibration shipped in cirq-google as a file; cirq is never imported."""
    return packaged_file(
        "cirq-google", f"cirq_google/devices/calibrations/{name}_calibration.json"
    ).read_bytes()


def values(result: ReplayResult, metric: str) -> list[float]:
    return [float(s.value) for s in result.samples if s.metric == metric]


def of(result: ReplayResult, asset: str) -> dict[str, Sample]:
    return {s.metric: s for s in result.samples if s.asset == asset}


def test_ibm_fez_medians_match_the_published_figures() -> None:
    result = read_ibm_props(ibm_snapshot("fez"), site="lab", asset="ibm-fez")
    assert statistics.median(values(result, "t1_us")) == pytest.approx(145, abs=1)
    assert statistics.median(values(result, "t2_us")) == pytest.approx(88, abs=1)
    assert statistics.median(values(result, "readout_error_ratio")) == pytest.approx(
        0.008, abs=0.0005
    )
    assert len(values(result, "t1_us")) == 156
    assert statistics.median(values(result, "t1_ratio_to_median")) == pytest.approx(1.0)
    assert result.skipped == []


def test_ibm_kingston_q146_has_readout_but_no_t1_or_t2() -> None:
    result = read_ibm_props(ibm_snapshot("kingston"), site="lab", asset="ibm-kingston")
    q146 = of(result, "ibm-kingston.q146")
    assert set(q146) == {"readout_error_ratio", "readout_error_ratio_to_median"}
    assert q146["readout_error_ratio"].value == pytest.approx(0.507, abs=0.001)
    assert len(values(result, "t1_us")) == 155


def test_ibm_dead_couplers_are_emitted_at_exactly_one() -> None:
    result = read_ibm_props(ibm_snapshot("kingston"), site="lab", asset="ibm-kingston")
    dead = [s for s in result.samples if s.metric == "two_qubit_gate_error_ratio" and s.value == 1]
    assert dead
    assert all(s.asset.startswith("ibm-kingston.q") and "-q" in s.asset for s in dead)
    couplers = [s.asset for s in result.samples if s.metric == "two_qubit_gate_error_ratio"]
    assert len(couplers) == len(set(couplers))


def test_ibm_per_entry_dates_are_kept() -> None:
    result = read_ibm_props(ibm_snapshot("fez"), site="lab", asset="ibm-fez")
    q0 = of(result, "ibm-fez.q0")
    # 2025-02-26T06:56:41-05:00 (T1) and 2025-02-24T07:48:10-05:00 (readout) in the snapshot.
    assert q0["t1_us"].timestamp == 1_740_571_001.0
    assert q0["readout_error_ratio"].timestamp == 1_740_401_290.0
    stamps = [s.timestamp for s in result.samples]
    assert stamps == sorted(stamps)


def entry(
    name: str, value: Any, unit: str = "", date: str = "2026-01-05T10:00:00Z"
) -> dict[str, Any]:
    return {"date": date, "name": name, "unit": unit, "value": value}


def qubit(t1: float | None, t2: float | None, readout: float, unit: str = "us") -> list[Any]:
    found = [entry("readout_error", readout), entry("prob_meas0_prep1", readout)]
    if t1 is not None:
        found.append(entry("T1", t1, unit))
    if t2 is not None:
        found.append(entry("T2", t2, unit))
    return found


def gate(kind: str, pair: list[int], error: float) -> dict[str, Any]:
    return {
        "qubits": pair,
        "gate": kind,
        "name": kind + "_".join(str(q) for q in pair),
        "parameters": [entry("gate_error", error), entry("gate_length", 68, "ns")],
    }


CRAFTED: dict[str, Any] = {
    "backend_name": "ibm_crafted",
    "backend_version": "1.0.0",
    "last_update_date": "2026-01-05T10:00:00+00:00",
    "qubits": [
        qubit(100.0, 80.0, 0.01),
        qubit(200.0, 150.0, 0.02),
        qubit(None, None, 0.5),  # no T1/T2 fit at all
        qubit(50.0, 140.0, 0.01, unit="µs"),  # T2 > 2·T1
        qubit(0.3, 0.2, 0.03, unit="ms"),
    ],
    "gates": [
        gate("cx", [0, 1], 0.01),
        gate("cx", [1, 0], 0.02),  # the other direction: the worse one counts
        gate("ecr", [3, 2], 1.0),  # out of service
        gate("rzz", [0, 1], 1.0),  # fractional gate: not a coupler reading
        gate("sx", [0], 0.0003),
    ],
    "general": [],
}


def crafted(**changes: Any) -> dict[str, Any]:
    data = copy.deepcopy(CRAFTED)
    data.update(changes)
    return data


def test_crafted_ibm_snapshot_with_every_quirk() -> None:
    result = read_ibm_props(orjson.dumps(CRAFTED), site="lab", asset="qpu-1")
    assert result.skipped == []
    assert values(result, "t1_us") == [100.0, 200.0, 50.0, 300.0]
    assert of(result, "qpu-1.q2").keys() == {"readout_error_ratio", "readout_error_ratio_to_median"}
    q3 = of(result, "qpu-1.q3")
    assert q3["t2_us"].quality is Quality.UNCERTAIN
    assert q3["t2_ratio_to_median"].quality is Quality.UNCERTAIN
    assert q3["t1_us"].quality is Quality.GOOD
    assert q3["t1_ratio_to_median"].value == pytest.approx(50 / 150)
    assert of(result, "qpu-1.q1")["readout_error_ratio_to_median"].value == pytest.approx(1.0)
    couplers = {
        s.asset: s.value for s in result.samples if s.metric == "two_qubit_gate_error_ratio"
    }
    assert couplers == {"qpu-1.q0-q1": 0.02, "qpu-1.q2-q3": 1.0}
    for sample in result.samples:
        assert normalise(sample) is sample


@pytest.mark.parametrize("revision", [7, "7", None])
def test_revision_as_int_or_string_is_fine(revision: object) -> None:
    result = read_ibm_props(crafted(revision=revision), site="lab", asset="qpu-1")
    assert len(values(result, "t1_us")) == 4


def test_bad_entries_are_skipped_with_reasons() -> None:
    data = crafted()
    data["qubits"][0][2]["value"] = "n/a"
    data["qubits"][1][2]["unit"] = "fortnights"
    data["qubits"][4] = "not a qubit"
    data["qubits"][3][0]["date"] = "yesterday"  # falls back to the snapshot's date
    data["gates"][0]["qubits"] = [0]
    data["gates"][0]["gate"] = "cz"
    result = read_ibm_props(data, site="lab", asset="qpu-1")
    assert [line.split(":")[0] for line in result.skipped] == [
        "qubits[0].T1",
        "qubits[1].T1",
        "qubits[4]",
        "gates[0]",
    ]
    assert of(result, "qpu-1.q3")["readout_error_ratio"].timestamp == T0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        (b"{", "file"),
        (b"[]", "file"),
        (orjson.dumps({"qubits": {}}), "qubits"),
        (orjson.dumps({"qubits": [], "gates": 3}), "gates"),
    ],
)
def test_unusable_ibm_files_are_refused(data: bytes, field: str) -> None:
    with pytest.raises(ValidationFailed) as caught:
        read_ibm_props(data, site="lab", asset="qpu-1")
    assert caught.value.field == field


def test_asset_names_that_would_be_too_long_are_skipped() -> None:
    result = read_ibm_props(CRAFTED, site="lab", asset="q" * 62)
    assert result.samples == []
    assert result.skipped


def google_metric(name: str, targets: list[str], value: float) -> dict[str, Any]:
    return {"name": name, "targets": targets, "values": [{"doubleVal": value}]}


# The shape cirq-google ships (cirq_google/devices/calibrations/*_calibration.json).
GOOGLE: dict[str, Any] = {
    "cirq_type": "Calibration",
    "metrics": {
        "metrics": [
            google_metric("single_qubit_idle_t1_micros", ["3_2"], 14.0),
            google_metric("single_qubit_idle_t1_micros", ["4_1"], 16.0),
            google_metric("single_qubit_idle_t1_micros", ["4_2"], 30.0),
            google_metric("single_qubit_p00_error", ["3_2"], 0.01),
            google_metric("single_qubit_p11_error", ["3_2"], 0.03),
            google_metric("single_qubit_p00_error", ["4_1"], 0.02),
            google_metric(
                "two_qubit_sycamore_gate_xeb_pauli_error_per_cycle", ["3_2", "4_2"], 0.01
            ),
            {"name": "single_qubit_idle_t1_micros", "targets": ["4_3"], "values": []},
        ]
    },
}


def test_google_calibration_gives_t1_and_readout_per_grid_qubit() -> None:
    result = read_google_calibration(
        orjson.dumps(GOOGLE), site="lab", asset="sycamore", timestamp=T0
    )
    assert {s.asset: s.value for s in result.samples if s.metric == "t1_us"} == {
        "sycamore.q3_2": 14.0,
        "sycamore.q4_1": 16.0,
        "sycamore.q4_2": 30.0,
    }
    assert of(result, "sycamore.q4_2")["t1_ratio_to_median"].value == pytest.approx(30 / 16)
    assert of(result, "sycamore.q3_2")["readout_error_ratio"].value == pytest.approx(0.02)
    assert "readout_error_ratio" not in of(result, "sycamore.q4_1")
    assert [line.split(":")[0] for line in result.skipped] == ["metrics[7]", "q4_1"]
    assert {s.timestamp for s in result.samples} == {T0}


def test_google_calibration_time_comes_from_the_file_or_the_caller() -> None:
    with_time = copy.deepcopy(GOOGLE)
    with_time["metrics"]["timestampMs"] = str(int(T0 * 1000))
    result = read_google_calibration(with_time, site="lab", asset="sycamore")
    assert {s.timestamp for s in result.samples} == {T0}
    with pytest.raises(ValidationFailed) as caught:
        read_google_calibration(GOOGLE, site="lab", asset="sycamore")
    assert caught.value.field == "timestamp"
    with_time["metrics"]["timestampMs"] = "soon"
    with pytest.raises(ValidationFailed) as caught:
        read_google_calibration(with_time, site="lab", asset="sycamore")
    assert caught.value.field == "timestampMs"


@pytest.mark.parametrize(
    ("name", "qubits", "median_t1"),
    [
        ("rainbow_2021_11_16", 23, 15.9),
        ("weber_2021_11_03", 53, 15.2),
        ("willow_pink_d7v1-2024_08_16", 105, 70.2),
    ],
)
def test_real_google_calibrations_give_every_qubit(
    name: str, qubits: int, median_t1: float
) -> None:
    result = read_google_calibration(
        google_calibration(name), site="lab", asset="sycamore", timestamp=T0
    )
    assert len(values(result, "t1_us")) == qubits
    assert len(values(result, "readout_error_ratio")) == qubits
    assert statistics.median(values(result, "t1_us")) == pytest.approx(median_t1, abs=0.1)
    assert result.skipped == []
    # No T2 in Google's files: nothing is invented for it.
    assert values(result, "t2_us") == []


def test_a_weak_qubit_in_real_google_data_stands_out_against_its_median() -> None:
    result = read_google_calibration(
        google_calibration("weber_2021_11_03"), site="lab", asset="weber", timestamp=T0
    )
    ratios = values(result, "t1_ratio_to_median")
    assert min(ratios) < 0.2
    assert statistics.median(ratios) == pytest.approx(1.0)
