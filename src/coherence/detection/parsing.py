"""Field-level checks shared by every intake parser: JSON loading, keys, times, quality, EPICS."""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson

from coherence.detection.samples import Quality, Sample
from coherence.errors import ValidationFailed

MAX_ITEMS = 100_000
MAX_KEY_CHARS = 64
KEY_PATTERN = re.compile(r"[a-z0-9][a-z0-9._-]*")
# 2000-01-01 to 9999-12-31: earlier is an unset clock, later is milliseconds sent as seconds.
MIN_EPOCH = 946_684_800.0
MAX_EPOCH = 253_402_300_799.0
_RFC3339 = re.compile(
    r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d{1,9})?(?P<offset>[Zz]|[+-]\d{2}:\d{2})?"
)
_QUALITIES = {q.value: q for q in Quality}
_QUALITY_RANK = {Quality.GOOD: 0, Quality.UNCERTAIN: 1, Quality.INVALID: 2}


class Invalid(Exception):
    """One field of one item is wrong; the parser turns it into a Rejection."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def load_json(body: bytes, *, field: str = "body") -> Any:
    """Parse JSON bytes with orjson, or raise ValidationFailed saying where it broke."""
    # Windows tools (PowerShell, Notepad) prefix UTF-8 with a byte-order mark; it carries nothing.
    body = body.removeprefix(b"\xef\xbb\xbf")
    if not body.strip():
        raise ValidationFailed(f"{field} is empty", field=field)
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(f"{field} is not valid JSON: {exc}", field=field) from None


def type_name(value: object) -> str:
    """Name a parsed JSON value's type the way a sender would say it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# Batches repeat the same few site, asset and metric keys: remember the ones already checked.
_CHECKED_KEYS: set[str] = set()
_CHECKED_KEYS_LIMIT = 100_000


def check_key(raw: object, field: str) -> str:
    """Return ``raw`` if it is a valid key (site, asset, metric), else raise Invalid."""
    if type(raw) is str and raw in _CHECKED_KEYS:
        return raw
    if not isinstance(raw, str):
        raise Invalid(field, f"{field} must be a string, not {type_name(raw)}")
    if len(raw) > MAX_KEY_CHARS or not KEY_PATTERN.fullmatch(raw):
        shown = raw[:MAX_KEY_CHARS] + ("..." if len(raw) > MAX_KEY_CHARS else "")
        raise Invalid(
            field,
            f"{field} {shown!r} is not a key: use 1-{MAX_KEY_CHARS} characters from a-z, 0-9, "
            "'.', '_' and '-', starting with a letter or digit",
        )
    if len(_CHECKED_KEYS) >= _CHECKED_KEYS_LIMIT:
        _CHECKED_KEYS.clear()
    _CHECKED_KEYS.add(raw)
    return raw


def parse_time(raw: object, field: str) -> float:
    """Return epoch seconds from epoch seconds or an RFC 3339 string with an offset."""
    if type(raw) is float or type(raw) is int:
        stamp = float(raw)
        if MIN_EPOCH <= stamp <= MAX_EPOCH:
            return stamp
        if MIN_EPOCH <= stamp / 1000 <= MAX_EPOCH:
            raise Invalid(field, f"{field} {raw} looks like milliseconds; send epoch seconds")
        raise Invalid(field, f"{field} {raw} is outside years 2000-9999 in epoch seconds")
    if isinstance(raw, str):
        return _rfc3339(raw, field)
    raise Invalid(
        field, f"{field} must be epoch seconds or an RFC 3339 string, not {type_name(raw)}"
    )


def rfc3339_epoch(text: str) -> float | None:
    """Return epoch seconds for an RFC 3339 time with an offset, or None if it is not one."""
    try:
        return _rfc3339(text, "time")
    except Invalid:
        return None


def _rfc3339(text: str, field: str) -> float:
    match = _RFC3339.fullmatch(text) if len(text) <= 40 else None
    if match is None:
        raise Invalid(
            field, f"{field} {text[:40]!r} is not RFC 3339 (like 2026-01-05T10:00:00+01:00)"
        )
    if match["offset"] is None:
        raise Invalid(
            field, f"{field} {text!r} has no UTC offset; add Z or +hh:mm (local time is ambiguous)"
        )
    try:
        stamp = datetime.fromisoformat(text.upper()).timestamp()
    except ValueError as exc:
        raise Invalid(field, f"{field} {text!r} is not a real time: {exc}") from None
    if not MIN_EPOCH <= stamp <= MAX_EPOCH:
        raise Invalid(field, f"{field} {text!r} is outside years 2000-9999")
    return stamp


def parse_quality(raw: object, field: str) -> Quality:
    """Return the Quality named by ``raw`` (good, uncertain, invalid), else raise Invalid."""
    quality = _QUALITIES.get(raw) if isinstance(raw, str) else None
    if quality is None:
        shown = repr(raw[:20]) if isinstance(raw, str) else type_name(raw)
        raise Invalid(field, f"{field} must be one of good, uncertain, invalid, not {shown}")
    return quality


def worse(first: Quality, second: Quality) -> Quality:
    """Return the less trustworthy of two qualities."""
    return first if _QUALITY_RANK[first] >= _QUALITY_RANK[second] else second


@dataclass(frozen=True, slots=True)
class EpicsSeverity:
    """One EPICS alarm severity and what it means here."""

    name: str
    code: int
    severity: str
    quality: Quality


# EPICS alarm severity → (signal severity for an alarm, quality of a sample carrying it).
# MINOR and MAJOR judge the value against HIGH/HIHI-style limits: the reading itself is sound,
# so a sample keeps quality good and the playbook rules decide what the value means.
# INVALID says the value cannot be trusted (a failed hardware read): the sample is invalid,
# and as an alarm it is sev2 — serious, since protection logic may be blind, but not a
# confirmed fault in the equipment itself.
EPICS_SEVERITIES: dict[str, EpicsSeverity] = {
    entry.name: entry
    for entry in (
        EpicsSeverity("NO_ALARM", 0, "sev4", Quality.GOOD),
        EpicsSeverity("MINOR", 1, "sev3", Quality.GOOD),
        EpicsSeverity("MAJOR", 2, "sev2", Quality.GOOD),
        EpicsSeverity("INVALID", 3, "sev2", Quality.INVALID),
    )
}
_EPICS_BY_CODE = {entry.code: entry for entry in EPICS_SEVERITIES.values()}


def epics_entry(name_or_number: str | int) -> EpicsSeverity:
    """Return the EPICS severity named (NO_ALARM...INVALID) or numbered (0-3)."""
    entry: EpicsSeverity | None = None
    if isinstance(name_or_number, str):
        entry = EPICS_SEVERITIES.get(name_or_number.strip().upper())
    elif type(name_or_number) is int:
        entry = _EPICS_BY_CODE.get(name_or_number)
    if entry is None:
        shown = repr(name_or_number)[:40]
        raise ValidationFailed(
            f"{shown} is not an EPICS alarm severity; use NO_ALARM (0), MINOR (1), "
            "MAJOR (2) or INVALID (3)",
            field="severity",
        )
    return entry


def epics_severity(name_or_number: str | int) -> str:
    """Map an EPICS alarm severity (name or 0-3) to a signal severity sev2..sev4."""
    return epics_entry(name_or_number).severity


@dataclass(slots=True)
class ReplayResult:
    """Samples read from recorded files, in time order, and why any lines were passed over."""

    samples: list[Sample] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)
    blank_lines: int = 0

    def sort(self) -> ReplayResult:
        """Put the samples in time order (ties by asset and metric) and return self."""
        self.samples.sort(key=lambda s: (s.timestamp, s.asset, s.metric))
        return self
