"""Field-level redaction by data category, without I/O: what a reader not entitled sees instead."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from coherence.access.domain import DataCategory

CATEGORY_NAMES: dict[DataCategory, str] = {
    DataCategory.OPERATIONAL: "operational data",
    DataCategory.PERSONAL: "personal data",
    DataCategory.PROPRIETARY: "proprietary protocol details",
    DataCategory.CALIBRATION: "device calibration and quantum-state data",
    DataCategory.EXPORT_CONTROLLED: "export-controlled technical data",
}

# Timeline entry payload fields that carry a category's data, by entry type. A payload's own
# "category" (notes, decisions) names the category of its free-text fields.
FREE_TEXT_FIELDS = ("text", "decision", "rationale", "note", "reason", "description")
PERSONAL_FIELDS = ("address", "to", "contact", "contacts", "recipient_address")
# A signal's detail quotes the measurement; on these metrics it reveals the device's calibration.
CALIBRATION_WORDS = re.compile(
    r"\b(t1|t2|t2_echo|readout\w*|fidelity|gate_error\w*|qubit\w*)\b", re.I
)


def placeholder(category: DataCategory) -> str:
    """Return the text shown in place of a redacted field."""
    return f"[redacted: {CATEGORY_NAMES[category]}]"


@dataclass
class Redactions:
    """What one read withheld: the fields by path and the categories they belonged to."""

    fields: list[str]
    categories: set[DataCategory]

    def __bool__(self) -> bool:
        return bool(self.fields)

    def add(self, path: str, category: DataCategory) -> None:
        """Note one withheld field."""
        self.fields.append(path)
        self.categories.add(category)


def payload_categories(entry_type: str, payload: Mapping[str, Any]) -> dict[str, DataCategory]:
    """Return the category of each sensitive field of a timeline entry's payload."""
    fields: dict[str, DataCategory] = {}
    declared = _category(payload.get("category"))
    if declared is not None and declared is not DataCategory.OPERATIONAL:
        fields.update({name: declared for name in FREE_TEXT_FIELDS if name in payload})
    for name in PERSONAL_FIELDS:
        if name in payload:
            fields[name] = DataCategory.PERSONAL
    detail = payload.get("detail")
    signal = entry_type.startswith("signal:")
    if signal and isinstance(detail, str) and CALIBRATION_WORDS.search(detail):
        fields["detail"] = DataCategory.CALIBRATION
    return fields


def redact_payload(
    entry_type: str,
    payload: Mapping[str, Any],
    entitled: Iterable[DataCategory],
    found: Redactions,
    where: str,
) -> dict[str, Any]:
    """Return ``payload`` with every field the reader is not entitled to replaced."""
    allowed = frozenset(entitled)
    result = dict(payload)
    for name, category in payload_categories(entry_type, payload).items():
        if category not in allowed:
            result[name] = placeholder(category)
            found.add(f"{where}.{name}", category)
    return result


def _category(value: Any) -> DataCategory | None:
    try:
        return DataCategory(value)
    except ValueError:
        return None
