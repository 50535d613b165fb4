"""Alerts raised elsewhere: Prometheus Alertmanager webhooks (v4) and a generic signal body."""

from __future__ import annotations

import hashlib
from typing import Annotated, Any

import orjson
from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from coherence.detection.parsing import (
    MAX_ITEMS,
    Invalid,
    check_key,
    epics_entry,
    load_json,
    parse_time,
    type_name,
)
from coherence.detection.samples import AlertStatus, ExternalAlert, Rejection
from coherence.documents import Key, validate_document
from coherence.errors import ValidationFailed

MAX_SUMMARY_CHARS = 1000
MAX_LABELS = 64
MAX_LABEL_NAME_CHARS = 128
MAX_LABEL_VALUE_CHARS = 1024
MAX_ANNOTATION_CHARS = 65_536
MAX_DEDUP_KEY_CHARS = 200
SIGNAL_SEVERITIES = ("sev1", "sev2", "sev3", "sev4")

# Prometheus `severity` label → signal severity. Labels vary by team; anything not listed
# (or a missing label) is sev3: worth a look, not a page at 3 a.m., and never a refusal.
ALERTMANAGER_SEVERITIES = {
    "critical": "sev1",
    "major": "sev2",
    "error": "sev2",
    "warning": "sev3",
    "minor": "sev3",
    "info": "sev4",
    "none": "sev4",
    **{name: name for name in SIGNAL_SEVERITIES},
}
DEFAULT_SEVERITY = "sev3"


def parse_alertmanager(body: bytes) -> tuple[list[ExternalAlert], list[Rejection]]:
    """Parse an Alertmanager webhook (version 4) into alerts and per-alert rejections."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"body must be an Alertmanager webhook object, not {type_name(data)}", field="body"
        )
    version = data.get("version")
    if version != "4":
        raise ValidationFailed(
            f'only Alertmanager webhook payload version "4" is understood, not {version!r:.40}',
            field="version",
        )
    alerts = data.get("alerts")
    if not isinstance(alerts, list):
        raise ValidationFailed(f"alerts must be an array, not {type_name(alerts)}", field="alerts")
    if len(alerts) > MAX_ITEMS:
        raise ValidationFailed(
            f"body holds {len(alerts)} alerts; the limit is {MAX_ITEMS}", field="body"
        )
    parsed: list[ExternalAlert] = []
    rejections: list[Rejection] = []
    for index, raw in enumerate(alerts):
        try:
            parsed.append(_alert(raw, f"alerts[{index}]"))
        except Invalid as exc:
            rejections.append(Rejection(index, exc.field, exc.message))
    return parsed, rejections


def _alert(raw: object, where: str) -> ExternalAlert:
    if not isinstance(raw, dict):
        raise Invalid(where, f"{where} must be an object, not {type_name(raw)}")
    labels = _string_map(raw.get("labels"), f"{where}.labels", MAX_LABEL_VALUE_CHARS)
    annotations = _string_map(raw.get("annotations"), f"{where}.annotations", None)
    if "asset" not in labels:
        raise Invalid(f"{where}.labels.asset", "an alert needs an asset label naming the asset")
    asset = check_key(labels["asset"], f"{where}.labels.asset")
    status = raw.get("status")
    if status not in ("firing", "resolved"):
        raise Invalid(f"{where}.status", f"status must be firing or resolved, not {status!r:.40}")
    starts_at = parse_time(raw.get("startsAt"), f"{where}.startsAt")
    fingerprint = raw.get("fingerprint")
    if fingerprint is not None and not isinstance(fingerprint, str):
        raise Invalid(f"{where}.fingerprint", "fingerprint must be a string")
    if fingerprint and (len(fingerprint) > 128 or not fingerprint.isprintable()):
        raise Invalid(f"{where}.fingerprint", "fingerprint must be 1-128 printable characters")
    key = fingerprint or _labels_hash(labels)
    severity_label = labels.get("severity", "").strip().lower()
    summary = (
        annotations.get("summary")
        or annotations.get("description")
        or labels.get("alertname")
        or "Alertmanager alert"
    )
    return ExternalAlert(
        source="alertmanager",
        dedup_key=f"alertmanager:{key}",
        asset=asset,
        severity=ALERTMANAGER_SEVERITIES.get(severity_label, DEFAULT_SEVERITY),
        status=AlertStatus(status),
        summary=summary[:MAX_SUMMARY_CHARS],
        starts_at=starts_at,
        labels=tuple(sorted(labels.items())),
    )


def _string_map(raw: object, where: str, longest: int | None) -> dict[str, str]:
    """Check a Prometheus label or annotation set; annotations (``longest`` None) are optional."""
    if raw is None and longest is None:
        return {}
    if not isinstance(raw, dict):
        raise Invalid(where, f"{where} must be an object of strings, not {type_name(raw)}")
    if len(raw) > MAX_LABELS:
        raise Invalid(where, f"{where} has {len(raw)} entries; the limit is {MAX_LABELS}")
    for name, value in raw.items():
        if len(name) > MAX_LABEL_NAME_CHARS:
            raise Invalid(where, f"a name in {where} is over {MAX_LABEL_NAME_CHARS} characters")
        limit = longest or MAX_ANNOTATION_CHARS
        if not isinstance(value, str) or len(value) > limit:
            raise Invalid(f"{where}.{name}", f"must be a string of at most {limit} characters")
    return raw


def _labels_hash(labels: dict[str, str]) -> str:
    # Alertmanager's own fingerprint is a hash of the label set; without it, the same labels
    # must still give the same key so a resolve finds its firing alert.
    return hashlib.sha256(orjson.dumps(sorted(labels.items()))).hexdigest()[:16]


def signal_severity(raw: object) -> str:
    """Return sev1..sev4 from a signal severity or an EPICS name/number, else raise ValueError."""
    if isinstance(raw, str) and raw.strip().lower() in SIGNAL_SEVERITIES:
        return raw.strip().lower()
    if isinstance(raw, str) or type(raw) is int:
        try:
            return epics_entry(raw).severity
        except ValidationFailed:
            pass
    raise ValueError(
        "severity must be sev1-sev4 or an EPICS severity (NO_ALARM, MINOR, MAJOR, INVALID or 0-3)"
    )


class _GenericSignal(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    source: Key
    dedup_key: Annotated[
        str,
        StringConstraints(
            min_length=1, max_length=MAX_DEDUP_KEY_CHARS, pattern=r"^[^\x00-\x1f\x7f]+$"
        ),
    ]
    asset: Key
    severity: str
    status: AlertStatus
    summary: Annotated[str, StringConstraints(min_length=1, max_length=MAX_SUMMARY_CHARS)]
    starts_at: float | None = None
    labels: dict[str, Annotated[str, StringConstraints(max_length=MAX_LABEL_VALUE_CHARS)]] = Field(
        default_factory=dict, max_length=MAX_LABELS
    )

    @field_validator("severity", mode="before")
    @classmethod
    def _severity(cls, raw: Any) -> str:
        return signal_severity(raw)

    @field_validator("starts_at", mode="before")
    @classmethod
    def _starts_at(cls, raw: Any) -> float | None:
        if raw is None:
            return None
        try:
            return parse_time(raw, "starts_at")
        except Invalid as exc:
            raise ValueError(exc.message) from None


def parse_generic_signal(body: bytes, *, received_at: float | None = None) -> ExternalAlert:
    """Parse one generic signal; ``received_at`` stands in for a missing ``starts_at``."""
    data = load_json(body)
    if not isinstance(data, dict):
        raise ValidationFailed(f"body must be a JSON object, not {type_name(data)}", field="body")
    signal = validate_document(_GenericSignal, data, source="body")
    starts_at = signal.starts_at if signal.starts_at is not None else received_at
    if starts_at is None:
        raise ValidationFailed(
            "starts_at is required: give when the signal began", field="starts_at"
        )
    return ExternalAlert(
        source=signal.source,
        # Namespaced so one sender can never update or resolve another sender's alert.
        dedup_key=f"{signal.source}:{signal.dedup_key}",
        asset=signal.asset,
        severity=signal.severity,
        status=signal.status,
        summary=signal.summary,
        starts_at=starts_at,
        labels=tuple(sorted(signal.labels.items())),
    )
