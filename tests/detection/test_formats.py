"""Telemetry bodies (JSON array, NDJSON, columnar): bad items are refused one by one."""

from __future__ import annotations

import json
from typing import Any

import orjson
import pytest

from coherence.detection.formats import (
    MAX_ITEMS,
    parse_columnar,
    parse_json_array,
    parse_ndjson,
)
from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed

T0 = 1_767_607_200.0  # 2026-01-05T10:00:00Z


def item(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "site": "lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "value": 0.012,
        "unit": "K",
        "timestamp": T0,
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not ...}


def array(*items: Any) -> bytes:
    # The standard library writes integers beyond 64 bits, which orjson refuses to.
    return json.dumps(list(items)).encode()


def one(**overrides: Any) -> Sample:
    samples, rejections = parse_json_array(array(item(**overrides)))
    assert rejections == []
    return samples[0]


def refused(**overrides: Any) -> tuple[str, str]:
    samples, rejections = parse_json_array(array(item(**overrides)))
    assert samples == []
    assert len(rejections) == 1
    assert rejections[0].index == 0
    return rejections[0].field, rejections[0].message


def test_a_good_item_becomes_a_sample() -> None:
    assert one() == Sample("lab", "fridge-1", "mxc_temperature_k", 0.012, "K", T0, Quality.GOOD)


def test_item_three_of_five_bad_gives_four_samples_and_one_rejection_naming_it() -> None:
    items = [item(value=0.010 + i / 1000) for i in range(5)]
    items[3]["value"] = "warm"
    samples, rejections = parse_json_array(array(*items))
    assert [s.value for s in samples] == [0.010, 0.011, 0.012, 0.014]
    assert len(rejections) == 1
    assert (rejections[0].index, rejections[0].field) == (3, "value")
    assert "numeric" in rejections[0].message


@pytest.mark.parametrize(
    "stamp",
    [
        "2026-01-05T10:00:00Z",
        "2026-01-05T11:00:00+01:00",
        "2026-01-05t10:00:00z",
        "2026-01-05 10:00:00.000+00:00",
        "2026-01-05T05:00:00.000000000-05:00",
        T0,
        int(T0),
    ],
)
def test_timestamps_are_rfc3339_with_offset_or_epoch_seconds(stamp: object) -> None:
    assert one(timestamp=stamp).timestamp == T0


@pytest.mark.parametrize(
    ("stamp", "says"),
    [
        ("2026-01-05T10:00:00", "no UTC offset"),
        ("2026-01-05", "not RFC 3339"),
        ("yesterday", "not RFC 3339"),
        ("2026-02-30T10:00:00Z", "not a real time"),
        (T0 * 1000, "milliseconds"),
        (0, "outside"),
        (-1.5, "outside"),
        (True, "a boolean"),
        (None, "null"),
        ("1767607200", "not RFC 3339"),
        ("2026-01-05T10:00:00Z" + "0" * 100, "not RFC 3339"),
    ],
)
def test_bad_timestamps_are_refused_per_item(stamp: object, says: str) -> None:
    field, message = refused(timestamp=stamp)
    assert field == "timestamp"
    assert says in message


@pytest.mark.parametrize(
    ("overrides", "field", "says"),
    [
        ({"value": True}, "value", "boolean"),
        ({"value": None}, "value", "null"),
        ({"value": {"a": {"b": [1, 2, {"c": 3}]}}}, "value", "object"),
        ({"value": [0.01]}, "value", "array"),
        ({"value": 1e308}, "value", "magnitude"),
        ({"value": 10**30}, "value", "magnitude"),
        ({"value": 18446744073709551615}, "value", "magnitude"),
        ({"metric": "qkd_link_state", "unit": "state", "value": "x" * 65}, "value", "1-64"),
        ({"metric": "qkd_link_state", "unit": "state", "value": ""}, "value", "1-64"),
        ({"metric": "qkd_link_state", "unit": "state", "value": "a\x07b"}, "value", "printable"),
        ({"site": "x" * 65}, "site", "not a key"),
        ({"site": "Lab"}, "site", "not a key"),
        ({"asset": "fridge 1"}, "asset", "not a key"),
        ({"asset": "fridge-1\x00"}, "asset", "not a key"),
        ({"asset": 7}, "asset", "must be a string"),
        ({"metric": "warp_core_temperature_k"}, "metric", "unknown metric"),
        ({"unit": "mbar"}, "unit", "measured in 'K'"),
        ({"unit": "K" * 17}, "unit", "1-16"),
        ({"unit": 1}, "unit", "1-16"),
        ({"quality": "great"}, "quality", "good, uncertain, invalid"),
        ({"quality": 1}, "quality", "good, uncertain, invalid"),
        ({"severity": "LOUD"}, "severity", "EPICS"),
        ({"severity": 9}, "severity", "EPICS"),
        ({"severity": True}, "severity", "EPICS"),
        ({"colour": "blue"}, "colour", "unknown field"),
        ({"timestamp": ...}, "timestamp", "required"),
        ({"unit": ...}, "unit", "required"),
    ],
)
def test_bad_fields_are_refused_naming_the_field(
    overrides: dict[str, Any], field: str, says: str
) -> None:
    got_field, message = refused(**overrides)
    assert got_field == field
    assert says in message


def test_state_metrics_take_names_or_integer_codes() -> None:
    assert one(metric="compressor_state", unit="state", value=6).value == 6.0
    assert one(metric="qkd_link_state", unit="state", value="security_abort").value == (
        "security_abort"
    )


def test_units_are_converted_only_where_the_dictionary_says() -> None:
    converted = one(value=12, unit="mK")
    assert (converted.value, converted.unit) == (pytest.approx(0.012), "K")


@pytest.mark.parametrize(
    ("extra", "quality"),
    [
        ({}, Quality.GOOD),
        ({"quality": "uncertain"}, Quality.UNCERTAIN),
        ({"severity": "NO_ALARM"}, Quality.GOOD),
        ({"severity": "MINOR"}, Quality.GOOD),
        ({"severity": "major"}, Quality.GOOD),
        ({"severity": 2}, Quality.GOOD),
        ({"severity": "INVALID"}, Quality.INVALID),
        ({"severity": 3}, Quality.INVALID),
        ({"quality": "uncertain", "severity": "INVALID"}, Quality.INVALID),
        ({"quality": "invalid", "severity": "NO_ALARM"}, Quality.INVALID),
    ],
)
def test_quality_comes_from_quality_or_an_epics_severity(
    extra: dict[str, Any], quality: Quality
) -> None:
    assert one(**extra).quality is quality


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"   \n ",
        b"[",
        b'[{"site": "lab"',
        b"[NaN]",
        b'[{"value": Infinity}]',
        b'[{"value": -Infinity}]',
        b"[1e400]",
        b'["\xff\xfe"]',
        b'["a\x01b"]',
        b"[" * 2000 + b"]" * 2000,
        b"[] []",
        b"{}",
        b"null",
        b'"a string"',
        b"42",
    ],
)
def test_an_unreadable_body_or_wrong_top_level_raises_naming_body(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_json_array(body)
    assert caught.value.field == "body"


def test_a_byte_order_mark_is_tolerated() -> None:
    samples, _ = parse_json_array(b"\xef\xbb\xbf" + array(item()))
    assert len(samples) == 1


def test_an_empty_array_is_an_empty_batch() -> None:
    assert parse_json_array(b"[]") == ([], [])


def test_more_than_max_items_is_refused_whole() -> None:
    body = array(*([item()] * (MAX_ITEMS + 1)))
    with pytest.raises(ValidationFailed, match=str(MAX_ITEMS)) as caught:
        parse_json_array(body)
    assert caught.value.field == "body"
    samples, rejections = parse_json_array(array(*([item()] * MAX_ITEMS)))
    assert (len(samples), rejections) == (MAX_ITEMS, [])


def test_ndjson_reads_each_line_and_names_bad_lines_by_index() -> None:
    lines = [
        orjson.dumps(item()),
        b"",
        b"this is not json",
        b"   ",
        orjson.dumps(item(value="warm")),
        b'{"site": "lab", "truncated',
        b"\xff\xfe\xfd",
        b"[1, 2]",
        orjson.dumps(item(value=0.013)),
    ]
    samples, rejections = parse_ndjson(b"\r\n".join(lines) + b"\r\n")
    assert [s.value for s in samples] == [0.012, 0.013]
    assert [(r.index, r.field) for r in rejections] == [
        (2, "line"),
        (4, "value"),
        (5, "line"),
        (6, "line"),
        (7, "item"),
    ]
    assert "not valid JSON" in rejections[0].message


@pytest.mark.parametrize("body", [b"", b"\n\n", b"\r\n  \r\n", b"\xef\xbb\xbf"])
def test_ndjson_with_no_lines_is_refused(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_ndjson(body)
    assert caught.value.field == "body"


def test_ndjson_over_max_items_is_refused() -> None:
    line = orjson.dumps(item())
    with pytest.raises(ValidationFailed) as caught:
        parse_ndjson(b"\n".join([line] * (MAX_ITEMS + 1)))
    assert caught.value.field == "body"


def columnar(**overrides: Any) -> bytes:
    base: dict[str, Any] = {
        "site": "lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "unit": "K",
        "timestamps": [T0, T0 + 1, T0 + 2],
        "values": [0.010, 0.011, 0.012],
    }
    base.update(overrides)
    return orjson.dumps({k: v for k, v in base.items() if v is not ...})


def test_columnar_pairs_timestamps_with_values() -> None:
    samples, rejections = parse_columnar(columnar())
    assert rejections == []
    assert [(s.timestamp, s.value) for s in samples] == [
        (T0, 0.010),
        (T0 + 1, 0.011),
        (T0 + 2, 0.012),
    ]
    assert {(s.site, s.asset, s.metric, s.unit, s.quality) for s in samples} == {
        ("lab", "fridge-1", "mxc_temperature_k", "K", Quality.GOOD)
    }


def test_columnar_refuses_bad_elements_by_index() -> None:
    body = columnar(
        timestamps=[T0, "2026-01-05T10:00:01Z", "2026-01-05T10:00:02", T0 + 3, T0 + 4, T0 + 5],
        values=[0.01, 0.011, 0.012, None, True, 12],
    )
    samples, rejections = parse_columnar(body)
    assert [s.timestamp for s in samples] == [T0, T0 + 1, T0 + 5]
    assert [(r.index, r.field) for r in rejections] == [
        (2, "timestamps"),
        (3, "values"),
        (4, "values"),
    ]


def test_columnar_converts_and_carries_quality() -> None:
    samples, _ = parse_columnar(columnar(unit="mK", values=[10, 11, 12], quality="uncertain"))
    assert [s.value for s in samples] == pytest.approx([0.010, 0.011, 0.012])
    assert {s.unit for s in samples} == {"K"}
    assert {s.quality for s in samples} == {Quality.UNCERTAIN}
    samples, rejections = parse_columnar(columnar(quality=["good", "invalid", "meh"]))
    assert [s.quality for s in samples] == [Quality.GOOD, Quality.INVALID]
    assert [(r.index, r.field) for r in rejections] == [(2, "quality")]


def test_columnar_state_series() -> None:
    body = columnar(metric="compressor_state", unit="state", values=[3, "running", 6.5])
    samples, rejections = parse_columnar(body)
    assert [s.value for s in samples] == [3.0, "running"]
    assert [(r.index, r.field) for r in rejections] == [(2, "values")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"values": [0.01, 0.02]}, "values"),
        ({"timestamps": [T0]}, "values"),
        ({"values": "0.01"}, "values"),
        ({"timestamps": {"0": T0}}, "timestamps"),
        ({"quality": ["good"]}, "quality"),
        ({"quality": "shiny"}, "quality"),
        ({"site": "LAB"}, "site"),
        ({"asset": ...}, "asset"),
        ({"metric": "nope"}, "metric"),
        ({"unit": "Pa"}, "unit"),
        ({"labels": {}}, "labels"),
    ],
)
def test_columnar_header_problems_refuse_the_body_naming_the_field(
    overrides: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_columnar(columnar(**overrides))
    assert caught.value.field == field


@pytest.mark.parametrize("body", [b"", b"[]", b"[1,2,3]", b"{", b'{"site": NaN}'])
def test_columnar_unreadable_body_names_body(body: bytes) -> None:
    with pytest.raises(ValidationFailed) as caught:
        parse_columnar(body)
    assert caught.value.field == "body"


def test_columnar_over_max_items_is_refused() -> None:
    stamps = [T0 + i for i in range(MAX_ITEMS + 1)]
    with pytest.raises(ValidationFailed) as caught:
        parse_columnar(columnar(timestamps=stamps, values=[0.01] * len(stamps)))
    assert caught.value.field == "body"
