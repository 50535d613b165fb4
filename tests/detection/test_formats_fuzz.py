"""Property tests: no input, however hostile, makes a parser fail other than by ValidationFailed."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from coherence.detection.formats import (
    parse_alertmanager,
    parse_columnar,
    parse_generic_signal,
    parse_json_array,
    parse_ndjson,
)
from coherence.detection.metrics import normalise
from coherence.detection.replay import read_bluefors, read_google_calibration, read_ibm_props
from coherence.detection.samples import Sample
from coherence.errors import ValidationFailed

PARSERS: list[Callable[[bytes], object]] = [
    parse_json_array,
    parse_ndjson,
    parse_columnar,
    parse_alertmanager,
    parse_generic_signal,
    lambda body: read_ibm_props(body, site="lab", asset="qpu-1"),
    lambda body: read_google_calibration(body, site="lab", asset="qpu-1", timestamp=1.7e9),
]

scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**30), max_value=10**30)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=80)
    | st.sampled_from(
        ["K", "mK", "state", "good", "INVALID", "4", "firing", "2026-01-05T10:00:00Z"]
    )
)
json_values = st.recursive(
    scalars,
    lambda inner: (
        st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
    ),
    max_leaves=30,
)
FIELDS = ["site", "asset", "metric", "value", "unit", "timestamp", "quality", "severity", "x"]
finite_scalars = (
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=70)
    | st.sampled_from(["lab", "fridge-1", "mxc_temperature_k", "compressor_state", "K", "mK"])
    | st.sampled_from(["state", "good", "INVALID", "2026-01-05T10:00:00Z", 1_767_607_200])
)
item_values = finite_scalars | st.lists(finite_scalars, max_size=2)
items = st.dictionaries(st.sampled_from(FIELDS), item_values, max_size=9)


def only_validation_failed(parse: Callable[[bytes], object], body: bytes) -> None:
    try:
        parse(body)
    except ValidationFailed as exc:
        failure = exc
    else:
        return
    assert failure.message
    assert failure.field


@settings(max_examples=120, deadline=None)
@given(body=st.binary(max_size=400))
@pytest.mark.parametrize("parse", PARSERS)
def test_arbitrary_bytes_never_raise_anything_else(
    parse: Callable[[bytes], object], body: bytes
) -> None:
    only_validation_failed(parse, body)


@settings(max_examples=120, deadline=None)
@given(value=json_values)
@pytest.mark.parametrize("parse", PARSERS)
def test_arbitrary_json_never_raises_anything_else(
    parse: Callable[[bytes], object], value: Any
) -> None:
    # The standard library writes NaN, Infinity and integers beyond 64 bits, as hostile
    # senders do; orjson must refuse them as a body error, not crash.
    only_validation_failed(parse, json.dumps(value).encode())


@settings(max_examples=150, deadline=None)
@given(batch=st.lists(items | finite_scalars, max_size=8))
def test_every_item_is_either_a_sample_or_a_rejection(batch: list[Any]) -> None:
    samples, rejections = parse_json_array(json.dumps(batch).encode())
    assert len(samples) + len(rejections) == len(batch)
    assert [r.index for r in rejections] == sorted({r.index for r in rejections})
    for sample in samples:
        assert isinstance(sample, Sample)
        assert normalise(sample) == sample


@settings(max_examples=150, deadline=None)
@given(
    lines=st.lists(st.text(max_size=120), max_size=8),
    name=st.sampled_from(
        [
            "CH1 T 26-01-05.log",
            "maxigauge 26-01-05.log",
            "Status_26-01-05.log",
            "Flowmeter 26-01-05.log",
        ]
    ),
)
def test_bluefors_never_fails_on_garbage_lines(lines: list[str], name: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        day = Path(folder) / "26-01-05"
        day.mkdir()
        (day / name).write_text("\n".join(lines), encoding="utf-8", errors="surrogateescape")
        result = read_bluefors(Path(folder), site="lab", asset="fridge-1")
    for sample in result.samples:
        assert normalise(sample) is sample


VALID = {
    "site": "lab",
    "asset": "fridge-1",
    "metric": "mxc_temperature_k",
    "value": 0.012,
    "unit": "K",
    "timestamp": 1_767_607_200,
}


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(FIELDS), value=item_values, position=st.integers(0, 4))
def test_one_bad_field_costs_only_its_own_item(field: str, value: Any, position: int) -> None:
    batch: list[dict[str, Any]] = [dict(VALID) for _ in range(5)]
    batch[position][field] = value
    samples, rejections = parse_json_array(json.dumps(batch).encode())
    assert len(samples) + len(rejections) == 5
    assert {r.index for r in rejections} <= {position}
    assert len(samples) >= 4
    for sample in samples:
        assert normalise(sample) == sample
