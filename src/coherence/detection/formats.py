"""Telemetry request bodies to samples: JSON array, NDJSON and columnar, one refusal per bad item.

A bad item never costs its batch: it becomes a ``Rejection`` naming its index, the field and
what is wrong. Only a body that cannot be read at all (not JSON, wrong top-level shape, too
many items) raises ``ValidationFailed`` with field ``body`` (or the columnar header field).
"""

from __future__ import annotations

from typing import Any

from coherence.detection.alert_formats import parse_alertmanager, parse_generic_signal
from coherence.detection.metrics import (
    MAX_ABS_VALUE,
    MetricKind,
    MetricSpec,
    check_value,
    metric,
    unit_problem,
)
from coherence.detection.parsing import (
    EPICS_SEVERITIES,
    MAX_ITEMS,
    Invalid,
    check_key,
    epics_entry,
    epics_severity,
    load_json,
    parse_quality,
    parse_time,
    type_name,
    worse,
)
from coherence.detection.samples import Quality, Rejection, Sample
from coherence.errors import ValidationFailed

__all__ = [
    "EPICS_SEVERITIES",
    "MAX_ITEMS",
    "epics_severity",
    "parse_alertmanager",
    "parse_columnar",
    "parse_generic_signal",
    "parse_json_array",
    "parse_ndjson",
]

MAX_UNIT_CHARS = 16
ITEM_FIELDS = ("site", "asset", "metric", "value", "unit", "timestamp", "quality", "severity")
REQUIRED_ITEM_FIELDS = ITEM_FIELDS[:6]
COLUMNAR_FIELDS = ("site", "asset", "metric", "unit", "timestamps", "values", "quality")
_ITEM_FIELD_SET = frozenset(ITEM_FIELDS)
_REQUIRED_SET = frozenset(REQUIRED_ITEM_FIELDS)
_RESOLVED: dict[tuple[str, str], tuple[MetricSpec, float]] = {}

Parsed = tuple[list[Sample], list[Rejection]]


def parse_json_array(body: bytes) -> Parsed:
    """Parse a JSON array of sample objects into samples and per-item rejections."""
    data = load_json(body)
    if not isinstance(data, list):
        raise ValidationFailed(
            f"body must be a JSON array of sample objects, not {type_name(data)}", field="body"
        )
    _check_count(len(data))
    samples: list[Sample] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(data):
        _collect(raw, index, samples, rejections)
    return samples, rejections


def parse_ndjson(body: bytes) -> Parsed:
    """Parse one sample object per line; ``index`` is the 0-based line number, blanks skipped."""
    lines = body.removeprefix(b"\xef\xbb\xbf").splitlines()
    numbered = [(index, line) for index, line in enumerate(lines) if line.strip()]
    if not numbered:
        raise ValidationFailed("body is empty; send one JSON sample object per line", field="body")
    _check_count(len(numbered))
    samples: list[Sample] = []
    rejections: list[Rejection] = []
    for index, line in numbered:
        try:
            raw = load_json(line, field="line")
        except ValidationFailed as exc:
            rejections.append(Rejection(index, "line", exc.message))
            continue
        _collect(raw, index, samples, rejections)
    return samples, rejections


def parse_columnar(body: bytes) -> Parsed:
    """Parse one series sent as parallel ``timestamps`` and ``values`` arrays."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"body must be a JSON object with {', '.join(COLUMNAR_FIELDS)}, not {type_name(data)}",
            field="body",
        )
    for name in data:
        if name not in COLUMNAR_FIELDS:
            raise ValidationFailed(
                f"unknown field {name[:64]!r}; a columnar body has {', '.join(COLUMNAR_FIELDS)}",
                field=name[:64] or "(empty name)",
            )
    for name in ("site", "asset", "metric", "unit", "timestamps", "values"):
        if name not in data:
            raise ValidationFailed(f"{name} is required", field=name)
    try:
        site, asset, key = (check_key(data[f], f) for f in ("site", "asset", "metric"))
        spec, factor = _resolve(key, data["unit"])
    except Invalid as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    timestamps, values = _array(data, "timestamps"), _array(data, "values")
    if len(values) != len(timestamps):
        raise ValidationFailed(
            f"values has {len(values)} elements and timestamps {len(timestamps)}; "
            "they must pair up one to one",
            field="values",
        )
    _check_count(len(values))
    shared, qualities = _column_qualities(data.get("quality"), len(values))
    samples: list[Sample] = []
    rejections: list[Rejection] = []
    append, unit = samples.append, spec.unit
    fast = spec.kind is MetricKind.NUMERIC and factor == 1.0
    for index, (raw_time, raw_value) in enumerate(zip(timestamps, values, strict=True)):
        try:
            stamp = parse_time(raw_time, "timestamps")
            # The common case (a plain float in the canonical unit) skips the general checks.
            if fast and type(raw_value) is float and -MAX_ABS_VALUE <= raw_value <= MAX_ABS_VALUE:
                value: float | str = raw_value
            else:
                value = _value(spec, factor, raw_value, "values")
            quality = shared if qualities is None else parse_quality(qualities[index], "quality")
        except Invalid as exc:
            rejections.append(Rejection(index, exc.field, exc.message))
            continue
        append(Sample(site, asset, key, value, unit, stamp, quality))
    return samples, rejections


def _array(data: dict[str, Any], name: str) -> list[Any]:
    column = data[name]
    if not isinstance(column, list):
        raise ValidationFailed(f"{name} must be an array, not {type_name(column)}", field=name)
    return column


def _column_qualities(raw: object, length: int) -> tuple[Quality, list[Any] | None]:
    if raw is None:
        return Quality.GOOD, None
    if isinstance(raw, list):
        if len(raw) != length:
            raise ValidationFailed(
                f"quality has {len(raw)} elements and values {length}; give one per value "
                "or a single string for all",
                field="quality",
            )
        return Quality.GOOD, raw
    try:
        return parse_quality(raw, "quality"), None
    except Invalid as exc:
        raise ValidationFailed(exc.message, field="quality") from None


def _check_count(count: int) -> None:
    if count > MAX_ITEMS:
        raise ValidationFailed(
            f"body holds {count} items; the limit is {MAX_ITEMS} per request, so split it",
            field="body",
        )


def parse_item(raw: object) -> Sample | Rejection:
    """Parse one sample object (as built from an MQTT topic and payload); index 0 if refused."""
    try:
        return _item(raw)
    except Invalid as exc:
        return Rejection(0, exc.field, exc.message)


def _collect(raw: object, index: int, samples: list[Sample], rejections: list[Rejection]) -> None:
    try:
        samples.append(_item(raw))
    except Invalid as exc:
        rejections.append(Rejection(index, exc.field, exc.message))


def _item(raw: object) -> Sample:
    if type(raw) is not dict:
        raise Invalid("item", f"each item must be a JSON object, not {type_name(raw)}")
    keys = raw.keys()
    if not keys <= _ITEM_FIELD_SET:
        unknown = sorted(keys - _ITEM_FIELD_SET)[0][:64] or "(empty name)"
        raise Invalid(unknown, f"unknown field; a sample has {', '.join(ITEM_FIELDS)}")
    if not keys >= _REQUIRED_SET:
        missing = next(name for name in REQUIRED_ITEM_FIELDS if name not in raw)
        raise Invalid(missing, f"{missing} is required")
    site = check_key(raw["site"], "site")
    asset = check_key(raw["asset"], "asset")
    spec, factor = _resolve(check_key(raw["metric"], "metric"), raw["unit"])
    value = raw["value"]
    # The common case (a plain float in the canonical unit) skips the general checks.
    if not (
        type(value) is float
        and factor == 1.0
        and spec.kind is MetricKind.NUMERIC
        and -MAX_ABS_VALUE <= value <= MAX_ABS_VALUE
    ):
        value = _value(spec, factor, value, "value")
    stamp = parse_time(raw["timestamp"], "timestamp")
    quality = Quality.GOOD
    if len(keys) > len(REQUIRED_ITEM_FIELDS):
        if "quality" in raw:
            quality = parse_quality(raw["quality"], "quality")
        if "severity" in raw:
            quality = worse(quality, _severity_quality(raw["severity"]))
    return Sample(site, asset, spec.key, value, spec.unit, stamp, quality)


def _resolve(key: str, unit: object) -> tuple[MetricSpec, float]:
    if type(unit) is str and (known := _RESOLVED.get((key, unit))) is not None:
        return known
    spec = metric(key)
    if spec is None:
        raise Invalid("metric", f"unknown metric {key!r}; it is not in the metric dictionary")
    if not isinstance(unit, str) or not 0 < len(unit) <= MAX_UNIT_CHARS:
        raise Invalid("unit", f"unit must be a string of 1-{MAX_UNIT_CHARS} characters")
    factor = spec.factor(unit)
    if factor is None:
        raise Invalid("unit", unit_problem(spec, unit))
    # Only accepted pairs are remembered, and the dictionary is finite, so this stays small.
    _RESOLVED[(key, unit)] = (spec, factor)
    return spec, factor


def _value(spec: MetricSpec, factor: float, raw: object, field: str) -> float | str:
    if isinstance(raw, bool) or not isinstance(raw, int | float | str):
        raise Invalid(field, f"value must be a number or a string, not {type_name(raw)}")
    value: float | str = raw if isinstance(raw, str) else float(raw) * factor
    problem = check_value(spec, value)
    if problem is not None:
        raise Invalid(field, problem)
    return value


def _severity_quality(raw: object) -> Quality:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        raise Invalid("severity", f"severity must be an EPICS name or 0-3, not {type_name(raw)}")
    try:
        return epics_entry(raw).quality
    except ValidationFailed as exc:
        raise Invalid("severity", exc.message) from None
