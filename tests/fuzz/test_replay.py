"""Recorded telemetry: Bluefors folders and calibration JSON fail only by ValidationFailed."""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.detection.metrics import normalise
from coherence.detection.parsing import ReplayResult
from coherence.detection.replay import read_bluefors, read_google_calibration, read_ibm_props
from coherence.errors import ValidationFailed
from tests.fuzz.strategies import bounded, finite_scalars, mutated, outcome
from tests.helpers import packaged_file

# Digits str.isdigit() accepts that int() refuses, and numbers too large for a date.
DIGITS = st.sampled_from(["05", "26", "01", "2026", "²", "0²", "٣", "99999999999999999999", "-1"])
NUMBERS = st.sampled_from(["0.012", "1e400", "nan", "-inf", "1,5", "", "0x10"]) | st.floats().map(
    str
)
NAMES = [
    "CH1 T 26-01-05.log",
    "CH6 T 26-01-05.log",
    "CH6 R 26-01-05.log",
    "maxigauge 26-01-05.log",
    "Status_26-01-05.log",
    "Flowmeter 26-01-05.log",
    "CH6 T 26-99-05.log",
    "CH99999999999999999999 T 26-01-05.log",
]


@st.composite
def bluefors_lines(draw: st.DrawFn) -> str:
    """A line shaped like a Bluefors log line, with any part of it damaged."""
    day = "-".join(draw(st.lists(DIGITS, min_size=2, max_size=4)))
    time = ":".join(draw(st.lists(DIGITS, min_size=2, max_size=4)))
    rest = draw(
        st.lists(NUMBERS | st.sampled_from(["CH1", "CH6", "1", "0", "cpatempwi", "cpastate"]))
    )
    line = ",".join([day, time, *rest])
    return draw(st.sampled_from([line, " " + line, line + "\r"]) | st.text(max_size=60))


def _read(files: dict[str, bytes]) -> ReplayResult:
    with tempfile.TemporaryDirectory() as folder:
        day = Path(folder) / "26-01-05"
        day.mkdir()
        for name, content in files.items():
            (day / name).write_bytes(content)
        return read_bluefors(Path(folder), site="lab", asset="fridge-1")


def _check(result: ReplayResult) -> None:
    for sample in result.samples:
        assert normalise(sample) is sample
        assert isinstance(sample.value, str) or math.isfinite(sample.value)
    assert all(reason for reason in result.skipped)


@bounded(150)
@given(
    content=st.dictionaries(
        st.sampled_from(NAMES), st.lists(bluefors_lines(), max_size=6), min_size=1, max_size=3
    )
)
def test_bluefors_lines_are_samples_or_skipped(content: dict[str, list[str]]) -> None:
    _check(_read({name: "\n".join(lines).encode() for name, lines in content.items()}))


@bounded(60)
@given(name=st.sampled_from(NAMES), content=st.binary(max_size=300))
def test_bluefors_files_of_arbitrary_bytes_are_read(name: str, content: bytes) -> None:
    _check(_read({name: content}))


@pytest.mark.parametrize(
    "line",
    [
        "05-01-26,10:00:0²,0.012",  # str.isdigit() is true for '²'; int() refuses it
        "0²-01-26,10:00:00,0.012",
        "05-01-26,99999999999999999999:00:00,0.012",  # beyond a C long
        "05-01-99999999999999999999,10:00:00,0.012",
    ],
)
def test_a_date_or_time_no_clock_can_hold_skips_its_line(line: str) -> None:
    result = _read({"CH6 T 26-01-05.log": f"{line}\n05-01-26,10:00:01,0.012\n".encode()})
    assert len(result.samples) == 1
    assert any(reason.startswith("26-01-05/CH6 T 26-01-05.log:1: ") for reason in result.skipped)


def _ibm() -> dict[str, Any]:
    path = "qiskit_ibm_runtime/fake_provider/backends/manila/props_manila.json"
    document: dict[str, Any] = orjson.loads(packaged_file("qiskit-ibm-runtime", path).read_bytes())
    return document


def _google() -> dict[str, Any]:
    path = "cirq_google/devices/calibrations/rainbow_2021_11_16_calibration.json"
    document: dict[str, Any] = orjson.loads(packaged_file("cirq-google", path).read_bytes())
    # A slice keeps every kind of entry and keeps each mutation quick to draw.
    document["metrics"]["metrics"] = document["metrics"]["metrics"][:40]
    return document


READERS = {
    "ibm": (_ibm, lambda body: read_ibm_props(body, site="lab", asset="qpu-1")),
    "google": (
        _google,
        lambda body: read_google_calibration(body, site="lab", asset="qpu-1", timestamp=1.7e9),
    ),
}
CALIBRATION_FIELDS = ("name", "value", "unit", "date", "gate", "qubits", "parameters", "targets")


@bounded(100)
@given(data=st.data(), kind=st.sampled_from(sorted(READERS)))
def test_a_mutated_real_calibration_is_samples_or_a_validation_error(
    data: st.DataObject, kind: str
) -> None:
    load, read = READERS[kind]
    document = data.draw(mutated(load(), leaves=finite_scalars, names=CALIBRATION_FIELDS))
    result = outcome(lambda: read(orjson.dumps(document)))
    if isinstance(result, ValidationFailed):
        assert result.field
        assert result.message
    else:
        _check(result)


@pytest.mark.parametrize(
    "document",
    [
        {"qubits": [[{"name": ["T1"], "value": 1}]]},  # a list where a name should be
        {"qubits": [], "gates": [{"gate": ["cx"], "qubits": [0, 1]}]},
        {"qubits": [], "gates": [{"gate": "cx", "qubits": [0, 1], "parameters": 5}]},
        {
            "qubits": [
                [{"name": "T1", "unit": "s", "value": 1.7e308, "date": "2026-01-05T10:00:00Z"}]
            ]
        },
    ],
)
def test_ibm_properties_with_misplaced_types_are_read_or_refused(document: Any) -> None:
    result = outcome(lambda: read_ibm_props(orjson.dumps(document), site="lab", asset="qpu-1"))
    if isinstance(result, ValidationFailed):
        assert result.field
    else:
        _check(result)


def test_a_google_metric_named_by_a_list_is_passed_over() -> None:
    document = {"metrics": [{"name": ["single_qubit_idle_t1_micros"], "targets": ["1_2"]}]}
    result = read_google_calibration(
        orjson.dumps(document), site="lab", asset="qpu-1", timestamp=1.7e9
    )
    assert result.samples == []
