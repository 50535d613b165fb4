"""Learning rules without I/O: near-miss lifecycle, references, anonymising and what is shared."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from coherence.access.domain import DataCategory, Tlp
from coherence.access.redaction import placeholder
from coherence.errors import Conflict, ValidationFailed

# The ledger actor of an anonymous report: who reported it is recorded nowhere.
ANONYMOUS = "anonymous"
PERSON = "[person]"
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+")
PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
NEAR_MISS_REF = re.compile(r"^(?:NM-)?0*(\d{1,9})$", re.I)
LESSON_REF = re.compile(r"^(?:LL-)?0*(\d{1,9})$", re.I)
FINDING_REF = re.compile(r"^(.{1,40})/F(\d{1,6})$", re.I)
# Shortest name or key anonymising looks for: shorter ones match ordinary words.
MIN_NAME = 3


class NearMissStatus(StrEnum):
    """Where a near miss's review stands."""

    REPORTED = "reported"
    REVIEWING = "reviewing"
    CLOSED = "closed"


MOVES: Mapping[NearMissStatus, frozenset[NearMissStatus]] = {
    NearMissStatus.REPORTED: frozenset({NearMissStatus.REVIEWING, NearMissStatus.CLOSED}),
    NearMissStatus.REVIEWING: frozenset({NearMissStatus.CLOSED}),
    NearMissStatus.CLOSED: frozenset({NearMissStatus.REVIEWING}),
}


class LessonSource(StrEnum):
    """Where a lesson came from."""

    INCIDENT = "incident"
    NEAR_MISS = "near_miss"
    IMPORTED = "imported"


def check_move(current: NearMissStatus, target: NearMissStatus) -> None:
    """Raise Conflict unless a near miss may move from ``current`` to ``target``."""
    if target not in MOVES[current]:
        allowed = ", ".join(sorted(MOVES[current]))
        raise Conflict(
            f"a {current.value} near miss cannot become {target.value}; allowed: {allowed}",
            field="status",
        )


def near_miss_reference(near_miss_id: int) -> str:
    """Return a near miss's reference, e.g. NM-00003."""
    return f"NM-{near_miss_id:05d}"


def lesson_reference(lesson_id: int) -> str:
    """Return a lesson's reference, e.g. LL-00007."""
    return f"LL-{lesson_id:05d}"


def parse_near_miss(text: str) -> int:
    """Return the id in ``NM-00003`` (or ``3``); raise ValidationFailed naming the field."""
    found = NEAR_MISS_REF.match(text.strip())
    if found is None:
        raise ValidationFailed(
            f"{text[:40]!r} is not a near-miss reference like NM-00003", field="near_miss"
        )
    return int(found.group(1))


def parse_lesson(text: str) -> int:
    """Return the id in ``LL-00007`` (or ``7``); raise ValidationFailed naming the field."""
    found = LESSON_REF.match(text.strip())
    if found is None:
        raise ValidationFailed(
            f"{text[:40]!r} is not a lesson reference like LL-00007", field="lesson"
        )
    return int(found.group(1))


def parse_finding(text: str) -> tuple[str, int]:
    """Split ``INC-00042/F1`` or ``NM-00003/F2`` into the reviewed thing and finding number."""
    found = FINDING_REF.match(text.strip())
    if found is None:
        raise ValidationFailed(
            f"{text[:60]!r} is not a finding reference like INC-00042/F1 or NM-00003/F1",
            field="finding",
        )
    return found.group(1), int(found.group(2))


def anonymise(text: str, people: Iterable[tuple[str, str]]) -> str:
    """Replace known people's names, keys and given names, e-mails and phone numbers."""
    words: set[str] = set()
    for key, name in people:
        words.update({key, name, key.replace("-", " ")})
        words.update(part for part in name.split() if len(part) >= MIN_NAME + 1)
    result = EMAIL.sub(PERSON, text)
    result = PHONE.sub(PERSON, result)
    for word in sorted((w for w in words if len(w) >= MIN_NAME), key=len, reverse=True):
        result = re.sub(rf"(?<!\w){re.escape(word)}(?!\w)", PERSON, result, flags=re.I)
    return result


def check_publishable(tlp: Tlp) -> None:
    """Raise unless a lesson may carry ``tlp``: TLP:RED stays with its named recipients."""
    if tlp is Tlp.RED:
        raise ValidationFailed(
            "a TLP:RED finding is for its named recipients only and cannot be a lesson; "
            "publish it at AMBER+STRICT or below once anonymised",
            field="tlp",
        )


# The fields of a lesson whose text follows its data category when redacted.
LESSON_TEXT = ("summary", "lesson")


def redact_lesson(
    fields: Mapping[str, Any], category: DataCategory, entitled: frozenset[DataCategory]
) -> tuple[dict[str, Any], list[str]]:
    """A lesson's fields as a reader entitled to ``entitled`` sees them, and those withheld."""
    shown = dict(fields)
    if category in entitled:
        return shown, []
    for name in LESSON_TEXT:
        shown[name] = placeholder(category)
    return shown, list(LESSON_TEXT)


@dataclass(frozen=True)
class RiskFact:
    """A risk as the readiness summary needs it."""

    key: str
    score: int
    band: str
    category: str | None
    asset_kinds: tuple[str, ...]
    sites: tuple[str, ...]
    scenario: str
    controls: tuple[str, ...]


@dataclass(frozen=True)
class SummaryScope:
    """What agreements let a summary show: sites, asset kinds (empty: any), categories, label."""

    sites: frozenset[str]
    asset_kinds: frozenset[str]
    entitled: frozenset[DataCategory]
    ceiling: Tlp


# Risk scenarios and controls describe where the facility is weak and how it is defended.
RISK_DETAIL = DataCategory.PROPRIETARY
TOP_RISKS = 5
BAND_ORDER = ("critical", "high", "medium", "low")


def in_scope(scope: SummaryScope | None, *, sites: Iterable[str], kinds: Iterable[str]) -> bool:
    """Whether something at ``sites`` about asset ``kinds`` is inside the scope (None: all)."""
    if scope is None:
        return True
    site_list, kind_list = list(sites), list(kinds)
    site_ok = not scope.sites or bool(scope.sites & set(site_list))
    kind_ok = not scope.asset_kinds or bool(scope.asset_kinds & set(kind_list))
    return site_ok and kind_ok


def risk_section(risks: Iterable[RiskFact], scope: SummaryScope | None) -> dict[str, Any]:
    """Open risks counted by band and the top few, their detail held back unless entitled."""
    shown = [r for r in risks if in_scope(scope, sites=r.sites, kinds=r.asset_kinds)]
    shown.sort(key=lambda r: (-r.score, r.key))
    detail = scope is None or (
        RISK_DETAIL in scope.entitled and scope.ceiling.rank >= Tlp.AMBER.rank
    )
    top = []
    for risk in shown[:TOP_RISKS]:
        top.append(
            {
                "key": risk.key,
                "band": risk.band,
                "score": risk.score,
                "category": risk.category,
                "asset_kinds": sorted(set(risk.asset_kinds)),
                "scenario": risk.scenario if detail else placeholder(RISK_DETAIL),
                "controls": list(risk.controls) if detail else [placeholder(RISK_DETAIL)],
            }
        )
    counts = {band: sum(1 for r in shown if r.band == band) for band in BAND_ORDER}
    return {"by_band": counts, "top": top, "detail_withheld": not detail}


def summary_label(scope: SummaryScope | None) -> Tlp:
    """The label a summary carries: AMBER inside the facility, else no higher than allowed."""
    if scope is None or scope.ceiling.rank >= Tlp.AMBER.rank:
        return Tlp.AMBER
    return scope.ceiling


def readable_by(tlp: Tlp, origin: str, organisation: str) -> bool:
    """Whether a reader of ``organisation`` may see a lesson: AMBER+STRICT stays at its origin."""
    return tlp is not Tlp.AMBER_STRICT or origin == organisation
