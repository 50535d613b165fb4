"""Pure report rules: pre-filling a draft, checking it, and the exact bytes that are submitted."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from coherence.errors import ValidationFailed
from coherence.ledger.domain import canonical_json
from coherence.obligations.domain import FieldSpec, Prefill

# A field holds prose, not files: 20,000 characters is several pages.
MAX_FIELD_CHARS = 20_000
# What a person says they actually sent (a portal's form, an e-mail), when not our JSON.
MAX_SUBMITTED_CHARS = 500_000
MAX_RECEIPT_CHARS = 200
FORMAT_VERSION = 1


def when(value: datetime | None) -> str:
    """Render a moment the way reports show it."""
    return f"{value:%Y-%m-%d %H:%M} UTC" if value is not None else ""


def yes_no(value: bool | None) -> str:
    """Render a triage answer."""
    if value is None:
        return "not yet assessed"
    return "yes" if value else "no"


def spec_of(fields: Sequence[FieldSpec]) -> list[dict[str, Any]]:
    """Return the field list as stored with a draft (so later file changes leave it alone)."""
    return [
        {"key": f.key, "label": f.label, "required": f.required, "help": f.help} for f in fields
    ]


def prefill(fields: Sequence[FieldSpec], sources: Mapping[Prefill, str]) -> dict[str, str]:
    """Return each field's first value: from its prefill source, else empty."""
    return {f.key: sources.get(f.prefill, "") if f.prefill else "" for f in fields}


def refreshed(
    fields: Sequence[FieldSpec],
    sources: Mapping[Prefill, str],
    current: Mapping[str, str],
    edited: Sequence[str],
) -> dict[str, str]:
    """Return the values with every field nobody edited filled again from the incident."""
    fresh = prefill(fields, sources)
    return {key: current.get(key, "") if key in edited else value for key, value in fresh.items()}


def check_edit(spec: Sequence[Mapping[str, Any]], changes: Mapping[str, str]) -> None:
    """Raise ValidationFailed, naming ``fields.<key>``, for an unknown or oversized field."""
    known = {str(f["key"]) for f in spec}
    for key, value in changes.items():
        if key not in known:
            raise ValidationFailed(
                f"this report has no field {key[:64]!r}; it has {', '.join(sorted(known))}",
                field=f"fields.{key[:64]}",
            )
        if len(value) > MAX_FIELD_CHARS:
            raise ValidationFailed(
                f"fields.{key} is {len(value)} characters; the limit is {MAX_FIELD_CHARS}",
                field=f"fields.{key}",
            )


def missing(spec: Sequence[Mapping[str, Any]], values: Mapping[str, str]) -> list[str]:
    """Return the required fields still empty, in the report's order."""
    return [
        str(f["key"])
        for f in spec
        if f.get("required", True) and not values.get(str(f["key"]), "").strip()
    ]


@dataclass(frozen=True)
class Heading:
    """Who a report is for and what it is about."""

    obligation: str
    report: str
    title: str
    report_title: str
    citation: str
    authority: str
    incident: str


def document(
    heading: Heading, spec: Sequence[Mapping[str, Any]], values: Mapping[str, str]
) -> dict[str, Any]:
    """Return the report as a plain document: the JSON that is submitted and hashed."""
    return {
        "format": f"coherence-obligation-report/{FORMAT_VERSION}",
        "obligation": heading.obligation,
        "citation": heading.citation,
        "authority": heading.authority,
        "report": heading.report,
        "title": f"{heading.title}: {heading.report_title}",
        "incident": heading.incident,
        "fields": [
            {"key": f["key"], "label": f["label"], "value": values.get(str(f["key"]), "")}
            for f in spec
        ],
    }


def canonical(doc: Mapping[str, Any]) -> bytes:
    """Return the exact bytes of a report document: canonical JSON (sorted keys, UTF-8)."""
    return canonical_json(dict(doc))


def sha256_hex(data: bytes) -> str:
    """Return the SHA-256 of ``data`` in hex."""
    return hashlib.sha256(data).hexdigest()


def render_text(
    heading: Heading, spec: Sequence[Mapping[str, Any]], values: Mapping[str, str]
) -> str:
    """Return the report as plain text for people to read or paste into a form."""
    lines = [
        f"{heading.title}: {heading.report_title}",
        f"To: {heading.authority} ({heading.citation})",
        f"Incident: {heading.incident}",
        "",
    ]
    for f in spec:
        value = values.get(str(f["key"]), "").strip() or "(empty)"
        lines.append(f"{f['label']}:")
        lines.extend(f"  {line}" for line in value.splitlines() or [""])
    return "\n".join(lines) + "\n"


def check_submission(content: str | None, receipt: str | None) -> None:
    """Raise ValidationFailed for oversized submitted text or receipt."""
    if content is not None and len(content) > MAX_SUBMITTED_CHARS:
        raise ValidationFailed(
            f"content is {len(content)} characters; the limit is {MAX_SUBMITTED_CHARS}",
            field="content",
        )
    if content is not None and not content.strip():
        raise ValidationFailed(
            "content is empty; leave it out to submit the report as drafted", field="content"
        )
    if receipt is not None and len(receipt) > MAX_RECEIPT_CHARS:
        raise ValidationFailed(f"receipt is over {MAX_RECEIPT_CHARS} characters", field="receipt")
