"""Read qubit calibration snapshots: IBM ``props_*.json`` and Google (cirq-google) JSON.

Per-qubit samples go to asset ``<processor>.q<n>`` (Google grid qubits ``<processor>.q<r>_<c>``)
and per-coupler samples to ``<processor>.q<a>-q<b>``, so the metric keys stay those of the
dictionary and a rule written for ``t1_ratio_to_median`` covers every qubit.
"""

from __future__ import annotations

import math
import re
import statistics
from collections.abc import Mapping
from typing import Any

from coherence.detection.metrics import dictionary, metric
from coherence.detection.parsing import (
    Invalid,
    ReplayResult,
    check_key,
    load_json,
    parse_time,
    rfc3339_epoch,
)
from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed

IBM_TWO_QUBIT_GATES = frozenset({"cx", "ecr", "cz"})
# (entry name, metric whose unit the value is converted to, series); "" keeps the value as is.
IBM_QUBIT_READINGS = (
    ("T1", "t1_us", "T1"),
    ("T2", "t2_us", "T2"),
    ("readout_error", "", "readout"),
)
_GRID_QUBIT = re.compile(r"q?\(?(\d+)[_, ]+(\d+)\)?")


def read_ibm_props(data: bytes | Mapping[str, Any], *, site: str, asset: str) -> ReplayResult:
    """Turn an IBM backend properties snapshot into per-qubit and per-coupler samples."""
    doc = _document(data, site=site, asset=asset)
    qubits = doc.get("qubits")
    gates = doc.get("gates", [])
    if not isinstance(qubits, list):
        raise ValidationFailed("an IBM properties file has a qubits array", field="qubits")
    if not isinstance(gates, list):
        raise ValidationFailed("gates must be an array", field="gates")
    fallback = rfc3339_epoch(str(doc.get("last_update_date", "")))
    out = _Emitter(site, asset)
    readings: dict[str, dict[str, tuple[float, float]]] = {"T1": {}, "T2": {}, "readout": {}}
    for index, entries in enumerate(qubits):
        where = f"qubits[{index}]"
        if not isinstance(entries, list):
            out.skip(where, "each qubit is an array of {date, name, unit, value} entries")
            continue
        named = {e["name"]: e for e in entries if isinstance(e, dict) and _named(e)}
        for name, key, series in IBM_QUBIT_READINGS:
            if name in named:
                got = _ibm_entry(named[name], key, fallback, out, f"{where}.{name}")
                if got is not None:
                    readings[series][f"q{index}"] = got
    out.qubits(readings["T1"], readings["T2"], readings["readout"])
    couplers: dict[str, tuple[float, float]] = {}
    for index, gate in enumerate(gates):
        if not (isinstance(gate, dict) and _named(gate, "gate") in IBM_TWO_QUBIT_GATES):
            continue
        pair = gate.get("qubits")
        if not (isinstance(pair, list) and len(pair) == 2 and all(type(q) is int for q in pair)):
            out.skip(f"gates[{index}]", "a two-qubit gate needs two qubit numbers")
            continue
        parameters = gate.get("parameters")
        errors = (
            [p for p in parameters if isinstance(p, dict)] if isinstance(parameters, list) else []
        )
        entry = next((p for p in errors if p.get("name") == "gate_error"), None)
        if entry is None:
            continue
        got = _ibm_entry(entry, "", fallback, out, f"gates[{index}].gate_error")
        name = f"q{min(pair)}-q{max(pair)}"
        # Both directions of a cx, or a cz and an ecr, may be listed: the coupler is as bad
        # as its worst gate, and 1.0 (out of service) must survive.
        if got is not None and (name not in couplers or got[0] > couplers[name][0]):
            couplers[name] = got
    for name, (value, stamp) in sorted(couplers.items()):
        out.emit(name, "two_qubit_gate_error_ratio", value, stamp)
    return out.result.sort()


def read_google_calibration(
    data: bytes | Mapping[str, Any], *, site: str, asset: str, timestamp: float | None = None
) -> ReplayResult:
    """Turn a Google device calibration (cirq-google JSON) into per-qubit T1 and readout samples."""
    doc = _document(data, site=site, asset=asset)
    block = doc.get("metrics")
    entries = block.get("metrics") if isinstance(block, dict) else block
    if not isinstance(entries, list):
        raise ValidationFailed("a Google calibration has a metrics array", field="metrics")
    stamp = _google_time(block, doc, timestamp)
    out = _Emitter(site, asset)
    found: dict[str, dict[str, float]] = {"t1": {}, "p00": {}, "p11": {}}
    names = {
        "single_qubit_idle_t1_micros": "t1",
        "single_qubit_p00_error": "p00",
        "single_qubit_p11_error": "p11",
    }
    for index, entry in enumerate(entries):
        if not (isinstance(entry, dict) and _named(entry) in names):
            continue
        targets, values = entry.get("targets"), entry.get("values")
        qubit = _grid_qubit(targets[0]) if isinstance(targets, list) and targets else None
        value = _google_value(values)
        if qubit is None or value is None:
            out.skip(f"metrics[{index}]", "needs one grid-qubit target and one numeric value")
            continue
        found[names[entry["name"]]][qubit] = value
    t1 = {q: (v, stamp) for q, v in found["t1"].items()}
    readout = {}
    for qubit in sorted(found["p00"].keys() | found["p11"].keys()):
        if qubit in found["p00"] and qubit in found["p11"]:
            readout[qubit] = ((found["p00"][qubit] + found["p11"][qubit]) / 2, stamp)
        else:
            out.skip(qubit, "readout error needs both p00 and p11; only one is given")
    out.qubits(t1, {}, readout)
    return out.result.sort()


class _Emitter:
    def __init__(self, site: str, asset: str) -> None:
        self.site, self.asset = site, asset
        self.result = ReplayResult()

    def skip(self, where: str, reason: str) -> None:
        self.result.skipped.append(f"{where}: {reason}")

    def emit(
        self, part: str, key: str, value: float, stamp: float, quality: Quality = Quality.GOOD
    ) -> None:
        name = f"{self.asset}.{part}"
        try:
            check_key(name, "asset")
        except Invalid:
            self.skip(part, f"asset name {name[:70]!r} would be over 64 characters")
            return
        unit = dictionary()[key].unit
        self.result.samples.append(Sample(self.site, name, key, value, unit, stamp, quality))

    def qubits(
        self,
        t1: Mapping[str, tuple[float, float]],
        t2: Mapping[str, tuple[float, float]],
        readout: Mapping[str, tuple[float, float]],
    ) -> None:
        """Emit each qubit's readings and their ratio to the snapshot's median."""
        for key, series in (("t1", t1), ("t2", t2), ("readout_error", readout)):
            median = statistics.median(v for v, _ in series.values()) if series else 0.0
            for qubit, (value, stamp) in series.items():
                quality = Quality.GOOD
                # T2 can never exceed 2·T1; a snapshot saying so carries a failed fit, and the
                # fit to doubt is T2's (a real T1 drop with a stale T2 must still alarm).
                if key == "t2" and qubit in t1 and value > 2 * t1[qubit][0]:
                    quality = Quality.UNCERTAIN
                base = "readout_error_ratio" if key == "readout_error" else f"{key}_us"
                self.emit(qubit, base, value, stamp, quality)
                if median > 0:
                    self.emit(qubit, f"{key}_ratio_to_median", value / median, stamp, quality)


def _document(data: bytes | Mapping[str, Any], *, site: str, asset: str) -> Mapping[str, Any]:
    try:
        check_key(site, "site")
        check_key(asset, "asset")
    except Invalid as exc:
        raise ValidationFailed(exc.message, field=exc.field) from None
    doc = load_json(data, field="file") if isinstance(data, bytes) else data
    if not isinstance(doc, Mapping):
        raise ValidationFailed("a calibration file holds a JSON object", field="file")
    return doc


def _ibm_entry(
    entry: Mapping[str, Any], key: str, fallback: float | None, out: _Emitter, where: str
) -> tuple[float, float] | None:
    """Return (value in the metric's unit, epoch) from one IBM ``{date,name,unit,value}``."""
    value, unit = entry.get("value"), entry.get("unit") or ""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        out.skip(where, f"value {str(value)[:30]!r} is not a finite number")
        return None
    factor = 1.0
    if key:
        spec = metric(key)
        found = spec.factor(unit) if spec and isinstance(unit, str) else None
        if found is None:
            out.skip(where, f"unit {str(unit)[:16]!r} is not a time unit Coherence knows")
            return None
        factor = found
    stamp = rfc3339_epoch(entry["date"]) if isinstance(entry.get("date"), str) else None
    if stamp is None:
        stamp = fallback
    if stamp is None:
        out.skip(where, "no usable date on the entry or the snapshot")
        return None
    converted = float(value) * factor
    if not math.isfinite(converted):
        out.skip(where, f"value {value!r:.30} {unit!s:.16} is beyond any real reading")
        return None
    return converted, stamp


def _named(entry: Mapping[str, Any], field: str = "name") -> str:
    """The entry's name if it is a string, else "" (a list or object there names nothing)."""
    name = entry.get(field)
    return name if isinstance(name, str) else ""


def _grid_qubit(target: object) -> str | None:
    match = _GRID_QUBIT.fullmatch(target) if isinstance(target, str) else None
    return f"q{match[1]}_{match[2]}" if match else None


def _google_value(values: object) -> float | None:
    if not (isinstance(values, list) and len(values) == 1 and isinstance(values[0], dict)):
        return None
    for name in ("doubleVal", "floatVal", "int64Val", "int32Val", "double_val"):
        raw = values[0].get(name)
        if isinstance(raw, str):
            try:
                raw = float(raw)
            except ValueError:
                return None
        if isinstance(raw, int | float) and not isinstance(raw, bool) and math.isfinite(raw):
            return float(raw)
    return None


def _google_time(block: object, doc: Mapping[str, Any], given: float | None) -> float:
    for holder in (block, doc):
        raw = holder.get("timestampMs") if isinstance(holder, Mapping) else None
        if raw is None:
            continue
        try:
            if isinstance(raw, bool):
                raise TypeError
            return parse_time(float(raw) / 1000, "timestampMs")
        except (TypeError, ValueError, Invalid):
            raise ValidationFailed(
                f"timestampMs {str(raw)[:30]!r} is not epoch milliseconds", field="timestampMs"
            ) from None
    if given is None:
        raise ValidationFailed(
            "this calibration carries no timestamp; pass the time it was taken",
            field="timestamp",
        )
    return given
