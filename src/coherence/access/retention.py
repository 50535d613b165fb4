"""Retention rules without I/O: how long each data category is kept, and what is due to go.

A record is due when its category has a period, that period has passed since the later of
when it was recorded and when its incident closed, its incident (if any) is closed, and it is
not under a legal hold (sealed evidence, and the ledger entries about it).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, StrictInt

from coherence.access.domain import DataCategory
from coherence.documents import (
    StrictDocument,
    load_yaml_file,
    load_yaml_mapping,
    validate_document,
)
from coherence.ledger.domain import EntryType

# A century: a longer period is keeping forever, and the file should say so with null.
MAX_DAYS = 36_500
# Records purged in one transaction, each batch with its own retention:purged entry: a first
# run on an old database must not hold one enormous transaction or write one enormous entry.
BATCH_SIZE = 5_000
DEFAULT_SOURCE = "the built-in default (access/data/retention.yaml)"

Days = Annotated[StrictInt, Field(ge=1, le=MAX_DAYS)] | None


class _Days(StrictDocument):
    # Every category is required: a forgotten one must be an error, not a silent choice.
    operational: Days
    personal: Days
    proprietary: Days
    calibration: Days
    export_controlled: Days


class _PolicyDocument(StrictDocument):
    days: _Days


@dataclass(frozen=True)
class RetentionPolicy:
    """Days to keep each category's content; None keeps it forever."""

    days: Mapping[DataCategory, int | None]
    source: str = DEFAULT_SOURCE

    def period(self, category: DataCategory) -> timedelta | None:
        """How long ``category`` is kept, or None for ever."""
        days = self.days.get(category)
        return timedelta(days=days) if days is not None else None


def parse_policy(data: dict[str, Any], *, source: str) -> RetentionPolicy:
    """Validate a retention document, naming every bad field (``days.personal: …``)."""
    document = validate_document(_PolicyDocument, data, source=source)
    days = document.days.model_dump()
    return RetentionPolicy({category: days[category.value] for category in DataCategory}, source)


def load_policy(path: Path | None = None) -> RetentionPolicy:
    """Read the policy from ``path``, or the shipped default when it is None."""
    if path is not None:
        return parse_policy(load_yaml_file(path), source=str(path))
    text = resources.files("coherence.access").joinpath("data/retention.yaml").read_bytes()
    return parse_policy(load_yaml_mapping(text, source=DEFAULT_SOURCE), source=DEFAULT_SOURCE)


# Which category a ledger entry's payload holds when the payload does not say so itself
# (a payload's own valid "category" wins). First matching prefix decides; None is never
# purged; "item" takes the category of the evidence item the entry is about.
ITEM: Literal["item"] = "item"
EntryRule = DataCategory | Literal["item"] | None
ENTRY_RULES: tuple[tuple[str, EntryRule, str], ...] = (
    (
        EntryType.RETENTION_PURGED.value,
        None,
        "the proof each purge was authorised: without it a purged entry looks like tampering",
    ),
    (
        "notification:",
        DataCategory.PERSONAL,
        "names who was paged, on which phone or address, and whether it reached them",
    ),
    (
        "access:session_",
        DataCategory.PERSONAL,
        "who signed in, when and how: a record of one person's movements",
    ),
    (
        "evidence:",
        ITEM,
        "custody events follow their item, whose category the evidence:collected entry names",
    ),
)
DEFAULT_ENTRY_RULE: tuple[EntryRule, str] = (
    DataCategory.OPERATIONAL,
    "incident, task, playbook and facility changes are the facility's record of what happened",
)


def entry_rule(entry_type: str) -> tuple[EntryRule, str]:
    """Return the rule for an entry type, with the reason for it."""
    for prefix, rule, reason in ENTRY_RULES:
        if entry_type.startswith(prefix):
            return rule, reason
    return DEFAULT_ENTRY_RULE


def entry_category(
    entry_type: str, payload: Mapping[str, Any], item_categories: Mapping[int, DataCategory]
) -> DataCategory | None:
    """Return the category an entry's payload holds, or None if it must never be purged."""
    rule, _reason = entry_rule(entry_type)
    if rule is None:
        return None
    declared = category_named(payload.get("category"))
    if declared is not None:
        return declared
    if rule == ITEM:
        item = entry_item(payload)
        found = item_categories.get(item) if item is not None else None
        return found or DataCategory.OPERATIONAL
    return rule


def category_named(value: object) -> DataCategory | None:
    """Return the data category ``value`` names, or None (an incident category, junk)."""
    try:
        return DataCategory(value) if isinstance(value, str) else None
    except ValueError:
        return None


def entry_item(payload: Mapping[str, Any]) -> int | None:
    """Return the evidence item an entry is about, if its payload names one."""
    item = payload.get("item")
    return item if isinstance(item, int) and not isinstance(item, bool) else None


class RecordKind(StrEnum):
    """What retention purges: a ledger entry's payload or an evidence item's stored content."""

    ENTRY = "entry"
    EVIDENCE = "evidence"


@dataclass(frozen=True)
class Record:
    """One record as retention sees it."""

    kind: RecordKind
    key: int
    category: DataCategory | None
    recorded_at: datetime
    incident_id: int | None = None
    # Set only while the incident is closed; a reopened incident has none.
    incident_closed_at: datetime | None = None
    held: bool = False


def due_at(record: Record, policy: RetentionPolicy) -> datetime | None:
    """When ``record`` falls due, or None if nothing would ever make it due as things stand."""
    if record.category is None or record.held:
        return None
    period = policy.period(record.category)
    if period is None:
        return None
    start = record.recorded_at
    if record.incident_id is not None:
        if record.incident_closed_at is None:
            return None
        start = max(start, record.incident_closed_at)
    return start + period


def is_due(record: Record, policy: RetentionPolicy, now: datetime) -> bool:
    """Whether ``record`` should be purged at ``now``."""
    when = due_at(record, policy)
    return when is not None and when <= now


@dataclass(frozen=True)
class Batch:
    """Records of one category purged in one transaction, with one retention:purged entry."""

    category: DataCategory
    days: int
    entries: tuple[int, ...]
    evidence: tuple[int, ...]


def batches(
    records: Iterable[Record], policy: RetentionPolicy, now: datetime, *, size: int = BATCH_SIZE
) -> list[Batch]:
    """Group the records due at ``now`` by category, at most ``size`` to a batch."""
    due: dict[DataCategory, list[Record]] = {}
    for record in records:
        if record.category is not None and is_due(record, policy, now):
            due.setdefault(record.category, []).append(record)
    found = []
    for category in DataCategory:
        days = policy.days.get(category)
        ordered = sorted(due.get(category, ()), key=lambda r: (r.kind.value, r.key))
        for start in range(0, len(ordered), size):
            chunk = ordered[start : start + size]
            found.append(
                Batch(
                    category=category,
                    days=days or 0,
                    entries=tuple(r.key for r in chunk if r.kind is RecordKind.ENTRY),
                    evidence=tuple(r.key for r in chunk if r.kind is RecordKind.EVIDENCE),
                )
            )
    return found


def earliest_recorded(policy: RetentionPolicy, now: datetime) -> datetime | None:
    """Nothing recorded after this can be due at ``now``; None when nothing ever is."""
    periods = [days for days in policy.days.values() if days is not None]
    return now - timedelta(days=min(periods)) if periods else None
