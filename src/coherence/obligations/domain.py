"""Pure obligation rules: the obligations document, trigger evaluation and deadline arithmetic.

An obligation is a regime (EU NIS2, GDPR Art. 33, ...) that an incident may trigger; each has
reports with deadlines counted from anchors (awareness, classification, an earlier report).
Nothing here reads a file, a database or the clock: callers pass plain facts and "now".
"""

from __future__ import annotations

import calendar
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, StrictBool, StrictFloat, StrictInt, StringConstraints, model_validator

from coherence.catalog.domain import EntityClass
from coherence.documents import Key, StrictDocument, problems_error, validate_document
from coherence.errors import ValidationFailed

# ISO 3166-1 alpha-2 codes of the EU member states (Greece is GR here, not the EU's "EL").
EU_MEMBER_STATES = frozenset(
    {
        *("AT", "BE", "BG", "CY", "CZ", "DE", "DK", "EE", "ES", "FI", "FR", "GR", "HR", "HU"),
        *("IE", "IT", "LT", "LU", "LV", "MT", "NL", "PL", "PT", "RO", "SE", "SI", "SK"),
    }
)
# The European Economic Area: the EU plus Iceland, Liechtenstein and Norway (GDPR applies).
EEA_STATES = EU_MEMBER_STATES | {"IS", "LI", "NO"}
JURISDICTION_GROUPS: Mapping[str, frozenset[str]] = {"EU": EU_MEMBER_STATES, "EEA": EEA_STATES}

DEFAULT_WARN_AT = (0.5, 0.9)
REPORT_ANCHOR = "report:"


class Answer(StrEnum):
    """A triage question a responder answers per incident; triggers may require a yes."""

    PERSONAL_DATA = "personal_data"
    CROSS_BORDER = "cross_border"
    SIGNIFICANT = "significant"
    MAJOR_ICT = "major_ict"
    RANSOM_PAID = "ransom_paid"


QUESTIONS: Mapping[Answer, str] = {
    Answer.PERSONAL_DATA: "Is personal data involved (a personal-data breach)?",
    Answer.CROSS_BORDER: "Does it have, or could it have, an impact in another country?",
    Answer.SIGNIFICANT: "Is it significant: severe disruption or loss, or harm to others "
    "(NIS2 Art. 23(3); CER: significant disruption of an essential service)?",
    Answer.MAJOR_ICT: "Is it a major ICT-related incident under DORA's classification criteria?",
    Answer.RANSOM_PAID: "Was a ransom paid?",
}


class Anchor(StrEnum):
    """What a deadline counts from (besides an earlier report, written ``report:KEY``)."""

    AWARENESS = "awareness"
    CLASSIFICATION = "classification"
    RANSOM_PAYMENT = "ransom_payment"


class ClockState(StrEnum):
    """Where one report's clock is."""

    RUNNING = "running"
    WARNED = "warned"
    MISSED = "missed"
    SUBMITTED = "submitted"
    WITHDRAWN = "withdrawn"


# Clocks still waiting for a report; a missed one still needs it, late.
ACTIVE_STATES = frozenset({ClockState.RUNNING, ClockState.WARNED, ClockState.MISSED})


class ReportStatus(StrEnum):
    """Where a report draft is."""

    DRAFT = "draft"
    REVIEWED = "reviewed"
    SUBMITTED = "submitted"


class Prefill(StrEnum):
    """Where a report field's first value comes from."""

    INCIDENT_REFERENCE = "incident_reference"
    INCIDENT_TITLE = "incident_title"
    CATEGORY = "category"
    SEVERITY = "severity"
    ASSET = "asset"
    SITE = "site"
    ORGANISATION = "organisation"
    COUNTRY = "country"
    SECTORS = "sectors"
    ENTITY_CLASS = "entity_class"
    PHASE = "phase"
    OCCURRED_AT = "occurred_at"
    DETECTED_AT = "detected_at"
    AWARE_AT = "aware_at"
    CLASSIFIED_AT = "classified_at"
    ACKNOWLEDGED_AT = "acknowledged_at"
    CONTAINED_AT = "contained_at"
    RESOLVED_AT = "resolved_at"
    RANSOM_PAID_AT = "ransom_paid_at"
    IMPACT_SUMMARY = "impact_summary"
    PERSONAL_DATA = "personal_data"
    CROSS_BORDER = "cross_border"
    SIGNIFICANT = "significant"
    MAJOR_ICT = "major_ict"
    RANSOM_PAID = "ransom_paid"
    MEASURES = "measures"
    COMMANDER = "commander"
    LIAISON = "liaison"
    EARLIER_REPORTS = "earlier_reports"


SlugKey = Annotated[
    str, StringConstraints(min_length=1, max_length=48, pattern=r"^[a-z0-9][a-z0-9-]*$")
]
FieldKey = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z][a-z0-9_]*$")
]
Jurisdiction = Annotated[str, StringConstraints(pattern=r"^(EU|EEA|[A-Z]{2})$")]
Label = Annotated[str, StringConstraints(min_length=1, max_length=300)]
AnchorText = Annotated[
    str,
    StringConstraints(
        max_length=64,
        pattern=r"^(awareness|classification|ransom_payment|report:[a-z0-9][a-z0-9-]*)$",
    ),
]
Fraction = Annotated[StrictFloat, Field(gt=0, lt=1)]


class TriggerSpec(StrictDocument):
    """When an obligation applies; every condition given must hold (an empty list: any)."""

    jurisdictions: list[Jurisdiction] = Field(min_length=1, max_length=60)
    entity_classes: list[EntityClass] = Field(default_factory=list)
    sectors: list[Key] = Field(default_factory=list, max_length=60)
    categories: list[Key] = Field(default_factory=list, max_length=60)
    min_severity: Key | None = None
    requires: list[Answer] = Field(default_factory=list)


class LimitSpec(StrictDocument):
    """One limit on a deadline: so many hours, days or months after an anchor."""

    after: AnchorText
    hours: StrictInt | None = Field(None, ge=1, le=24 * 366)
    days: StrictInt | None = Field(None, ge=1, le=366)
    months: StrictInt | None = Field(None, ge=1, le=24)

    @model_validator(mode="after")
    def _exactly_one_amount(self) -> LimitSpec:
        given = [name for name in ("hours", "days", "months") if getattr(self, name) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of hours, days or months")
        return self


class FieldSpec(StrictDocument):
    """A field a report must (or may) carry, and where its first value comes from."""

    key: FieldKey
    label: Label
    required: StrictBool = True
    prefill: Prefill | None = None
    help: str = Field("", max_length=1000)


class ReportSpec(StrictDocument):
    """One report a regime asks for, with its deadline (the soonest of its limits)."""

    key: SlugKey
    title: Label
    due: list[LimitSpec] = Field(min_length=1, max_length=4)
    fields: list[FieldSpec] = Field(min_length=1, max_length=60)


class ObligationSpec(StrictDocument):
    """One regime: what triggers it and the reports it asks for."""

    key: SlugKey
    title: Label
    citation: Label
    authority: Label
    enabled: StrictBool
    trigger: TriggerSpec
    warn_at: list[Fraction] = Field(default_factory=lambda: list(DEFAULT_WARN_AT), max_length=5)
    reports: list[ReportSpec] = Field(min_length=1, max_length=8)

    def report(self, key: str) -> ReportSpec | None:
        """Return the report with ``key``, or None."""
        return next((r for r in self.reports if r.key == key), None)


class ObligationsDocument(StrictDocument):
    """The obligations file."""

    obligations: list[ObligationSpec] = Field(max_length=100)


@dataclass(frozen=True)
class ObligationSet:
    """The obligations in force, and which file they came from."""

    obligations: tuple[ObligationSpec, ...]
    source: str

    def get(self, key: str) -> ObligationSpec | None:
        """Return the obligation with ``key``, or None."""
        return next((o for o in self.obligations if o.key == key), None)


def parse_obligations(
    data: dict[str, Any],
    *,
    source: str,
    severities: Collection[str],
    categories: Collection[str],
) -> ObligationSet:
    """Validate an obligations document, naming every bad field (``obligations[2].key: …``)."""
    document = validate_document(ObligationsDocument, data, source=source)
    problems = _cross_check(document, severities=severities, categories=categories)
    if problems:
        raise problems_error(source, problems)
    return ObligationSet(tuple(document.obligations), source)


def _cross_check(
    document: ObligationsDocument, *, severities: Collection[str], categories: Collection[str]
) -> list[dict[str, str]]:
    problems: list[dict[str, str]] = []

    def problem(path: str, message: str) -> None:
        problems.append({"path": path, "message": message})

    seen: set[str] = set()
    for i, spec in enumerate(document.obligations):
        where = f"obligations[{i}]"
        if spec.key in seen:
            problem(f"{where}.key", f"duplicate obligation key {spec.key!r}")
        seen.add(spec.key)
        if list(spec.warn_at) != sorted(set(spec.warn_at)):
            problem(f"{where}.warn_at", "fractions must be distinct and in increasing order")
        trigger = spec.trigger
        if trigger.min_severity is not None and trigger.min_severity not in severities:
            problem(
                f"{where}.trigger.min_severity",
                f"unknown severity {trigger.min_severity!r}; use one of {', '.join(severities)}",
            )
        for k, category in enumerate(trigger.categories):
            if category not in categories:
                problem(f"{where}.trigger.categories[{k}]", f"unknown category {category!r}")
        earlier: set[str] = set()
        for j, report in enumerate(spec.reports):
            if report.key in earlier:
                problem(f"{where}.reports[{j}].key", f"duplicate report key {report.key!r}")
            fields: set[str] = set()
            for k, field in enumerate(report.fields):
                if field.key in fields:
                    problem(f"{where}.reports[{j}].fields[{k}].key", f"duplicate {field.key!r}")
                fields.add(field.key)
            for k, limit in enumerate(report.due):
                named = limit.after.removeprefix(REPORT_ANCHOR)
                if limit.after.startswith(REPORT_ANCHOR) and named not in earlier:
                    problem(
                        f"{where}.reports[{j}].due[{k}].after",
                        f"{limit.after!r} must name a report listed before this one",
                    )
            earlier.add(report.key)
    return problems


# Trigger evaluation


@dataclass(frozen=True)
class Facts:
    """What triggers look at: the operator, the incident's classification, the triage answers."""

    country: str | None
    sectors: frozenset[str]
    entity_class: str | None
    category: str
    severity: str
    answers: Mapping[Answer, bool | None]


@dataclass(frozen=True)
class Verdict:
    """Whether an obligation applies, and why (or the first reason it does not)."""

    applies: bool
    reason: str


def in_jurisdiction(country: str | None, jurisdictions: Sequence[str]) -> bool:
    """Return whether ``country`` is named, directly or through a group like EU or EEA."""
    if country is None:
        return False
    return any(
        country == code or country in JURISDICTION_GROUPS.get(code, ()) for code in jurisdictions
    )


def evaluate(spec: ObligationSpec, facts: Facts, *, severity_ranks: Mapping[str, int]) -> Verdict:
    """Decide whether ``spec`` applies to an incident with ``facts``; ranks: 1 is the worst."""
    trigger = spec.trigger
    if not spec.enabled:
        return Verdict(False, "switched off in the obligations file")
    places = ", ".join(trigger.jurisdictions)
    if not in_jurisdiction(facts.country, trigger.jurisdictions):
        return Verdict(False, f"operator's country {facts.country or '(not recorded)'} ∉ {places}")
    met = [f"operator in {facts.country} ({places})"]
    if trigger.entity_classes:
        wanted = [c.value for c in trigger.entity_classes]
        if facts.entity_class not in wanted:
            found = facts.entity_class or "neither essential nor important"
            return Verdict(False, f"operator is {found}; needs {' or '.join(wanted)}")
        met.append(f"{facts.entity_class} entity")
    if trigger.sectors:
        shared = sorted(facts.sectors & set(trigger.sectors))
        if not shared:
            sectors = ", ".join(sorted(facts.sectors)) or "none recorded"
            return Verdict(False, f"operator's sectors ({sectors}) are not covered")
        met.append(f"sector {', '.join(shared)}")
    if trigger.categories:
        if facts.category not in trigger.categories:
            return Verdict(False, f"category {facts.category} is not covered")
        met.append(f"category {facts.category}")
    if trigger.min_severity is not None:
        rank, threshold = severity_ranks.get(facts.severity), severity_ranks[trigger.min_severity]
        if rank is None or rank > threshold:
            return Verdict(False, f"severity {facts.severity} is below {trigger.min_severity}")
        met.append(f"severity {facts.severity}")
    for answer in trigger.requires:
        value = facts.answers.get(answer)
        if value is not True:
            said = "no" if value is False else "not yet answered"
            return Verdict(False, f"{answer.value}: {said}")
        met.append(answer.value)
    return Verdict(True, "; ".join(met))


# Deadlines


@dataclass(frozen=True)
class Anchors:
    """The moments deadlines count from; a missing one falls back to awareness."""

    awareness: datetime
    classification: datetime | None = None
    ransom_payment: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    """When one report is due, counted from what, and whether that may still move."""

    report: str
    starts_at: datetime
    due_at: datetime
    basis: str
    # Counted from an earlier report's deadline because that report is not yet submitted.
    provisional: bool


def add_months(value: datetime, months: int) -> datetime:
    """Return ``value`` moved ``months`` calendar months on: same day and time of day, or the
    last day of the target month when it is shorter (31 January + 1 month = 28/29 February).

    Regulation (EEC, Euratom) No 1182/71 would let a month run to the end of that day; the
    same time of day is earlier, so deadlines computed here are never later than the law's.
    """
    if months < 0:
        raise ValueError("months must not be negative")
    index = value.month - 1 + months
    year, month = value.year + index // 12, index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def add_limit(anchor: datetime, limit: LimitSpec) -> datetime:
    """Return the moment ``limit`` ends when counted from ``anchor``."""
    if limit.months is not None:
        return add_months(anchor, limit.months)
    if limit.days is not None:
        return anchor + timedelta(days=limit.days)
    return anchor + timedelta(hours=limit.hours or 0)


def describe_limit(limit: LimitSpec) -> str:
    """Return e.g. ``24 h after awareness`` or ``1 month after report notification``."""
    if limit.months is not None:
        amount = f"{limit.months} month{'s' if limit.months != 1 else ''}"
    elif limit.days is not None:
        amount = f"{limit.days} day{'s' if limit.days != 1 else ''}"
    else:
        amount = f"{limit.hours} h"
    after = limit.after.replace(REPORT_ANCHOR, "report ").replace("_", " ")
    return f"{amount} after {after}"


def deadlines(
    spec: ObligationSpec, anchors: Anchors, *, submitted: Mapping[str, datetime]
) -> list[Deadline]:
    """Return each report's deadline: the soonest of its limits.

    A limit counted from an earlier report runs from that report's submission, or, until it is
    submitted, from its deadline; such a deadline is provisional and moves when it is sent.
    """
    found: dict[str, Deadline] = {}
    for report in spec.reports:
        candidates: list[tuple[datetime, datetime, LimitSpec, bool]] = []
        for limit in report.due:
            start, provisional = _anchor_time(limit.after, anchors, found, submitted)
            candidates.append((add_limit(start, limit), start, limit, provisional))
        due_at, start, binding, provisional = min(candidates, key=lambda c: c[0])
        basis = describe_limit(binding)
        if len(candidates) > 1:
            basis += " (the sooner of " + " and ".join(describe_limit(c[2]) for c in candidates)
            basis += ")"
        found[report.key] = Deadline(report.key, start, due_at, basis, provisional)
    return list(found.values())


def _anchor_time(
    after: str,
    anchors: Anchors,
    found: Mapping[str, Deadline],
    submitted: Mapping[str, datetime],
) -> tuple[datetime, bool]:
    if after.startswith(REPORT_ANCHOR):
        key = after.removeprefix(REPORT_ANCHOR)
        if key in submitted:
            return submitted[key], False
        return found[key].due_at, True
    if after == Anchor.CLASSIFICATION:
        return anchors.classification or anchors.awareness, False
    if after == Anchor.RANSOM_PAYMENT:
        return anchors.ransom_payment or anchors.awareness, False
    return anchors.awareness, False


def warn_times(
    starts_at: datetime, due_at: datetime, fractions: Sequence[float], *, now: datetime
) -> list[tuple[float, datetime]]:
    """Return the warning points (fraction of the window, moment) still ahead of ``now``."""
    window = due_at - starts_at
    if window <= timedelta(0):
        return []
    points = [(fraction, starts_at + window * fraction) for fraction in fractions]
    return [(fraction, at) for fraction, at in points if now < at < due_at]


# How far before detection awareness may be put: further back is almost surely a typing error.
MAX_AWARENESS_BEFORE_DETECTION = timedelta(days=366)


def check_moments(
    *,
    aware_at: datetime,
    classified_at: datetime | None,
    ransom_paid_at: datetime | None,
    detected_at: datetime,
    now: datetime,
) -> None:
    """Raise ValidationFailed, naming the field, for a moment in the future or out of order."""
    for name, value in (
        ("aware_at", aware_at),
        ("classified_at", classified_at),
        ("ransom_paid_at", ransom_paid_at),
    ):
        if value is None:
            continue
        if value.tzinfo is None:
            raise ValidationFailed(
                f"{name} needs a timezone, e.g. 2026-01-05T10:00:00Z", field=name
            )
        if value > now:
            raise ValidationFailed(f"{name} is in the future", field=name)
        if value < detected_at - MAX_AWARENESS_BEFORE_DETECTION:
            raise ValidationFailed(
                f"{name} is more than a year before the incident was detected", field=name
            )
    if classified_at is not None and classified_at < aware_at:
        raise ValidationFailed(
            "classified_at is before aware_at: an incident is classified after awareness",
            field="classified_at",
        )
