"""Learning rules without a database."""

from __future__ import annotations

import pytest

from coherence.access.domain import DataCategory, Tlp
from coherence.errors import Conflict, ValidationFailed
from coherence.learning import domain
from coherence.learning.domain import NearMissStatus

PEOPLE = [("amara-osei", "Amara Osei"), ("li", "Li Na")]


def test_anonymise_replaces_names_keys_and_contacts() -> None:
    text = (
        "Amara Osei (amara-osei) told AMARA and osei; mail amara@example.org, "
        "call +31 20 555 0101. Li Na checked. Amarante is a colour."
    )
    result = domain.anonymise(text, PEOPLE)
    for leak in ("Amara", "amara", "Osei", "osei", "example.org", "555", "Li Na"):
        assert leak not in result.replace("Amarante", "")
    assert "Amarante is a colour." in result
    assert result.count("[person]") >= 6


def test_near_miss_moves() -> None:
    domain.check_move(NearMissStatus.REPORTED, NearMissStatus.REVIEWING)
    domain.check_move(NearMissStatus.CLOSED, NearMissStatus.REVIEWING)
    with pytest.raises(Conflict, match="cannot become closed"):
        domain.check_move(NearMissStatus.CLOSED, NearMissStatus.CLOSED)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("NM-00003", 3), ("nm-3", 3), ("17", 17)],
)
def test_references_parse(text: str, expected: int) -> None:
    assert domain.parse_near_miss(text) == expected
    assert domain.near_miss_reference(expected) == f"NM-{expected:05d}"


@pytest.mark.parametrize("text", ["", "NM-", "INC-00001", "NM-1/F1", "1" * 40, "NM-x"])
def test_bad_references_name_the_field(text: str) -> None:
    with pytest.raises(ValidationFailed) as raised:
        domain.parse_near_miss(text)
    assert raised.value.field == "near_miss"


def test_finding_references_split() -> None:
    assert domain.parse_finding("INC-00042/F1") == ("INC-00042", 1)
    assert domain.parse_finding(" NM-00003/f12 ") == ("NM-00003", 12)
    with pytest.raises(ValidationFailed, match="finding reference"):
        domain.parse_finding("NM-00003")


def test_red_is_never_a_lesson() -> None:
    domain.check_publishable(Tlp.AMBER_STRICT)
    with pytest.raises(ValidationFailed, match="RED"):
        domain.check_publishable(Tlp.RED)


def test_lesson_text_follows_its_category() -> None:
    fields = {"title": "t", "summary": "s", "lesson": "l"}
    shown, withheld = domain.redact_lesson(
        fields, DataCategory.PROPRIETARY, frozenset({DataCategory.OPERATIONAL})
    )
    assert withheld == ["summary", "lesson"]
    assert shown["title"] == "t"
    assert shown["lesson"].startswith("[redacted: proprietary")
    same, none = domain.redact_lesson(fields, DataCategory.OPERATIONAL, frozenset(DataCategory))
    assert (same, none) == (fields, [])


def test_amber_strict_lessons_stay_home() -> None:
    assert domain.readable_by(Tlp.AMBER, "northbridge", "harbourline-qkd")
    assert not domain.readable_by(Tlp.AMBER_STRICT, "northbridge", "harbourline-qkd")
    assert domain.readable_by(Tlp.AMBER_STRICT, "northbridge", "northbridge")


def risk(key: str, score: int, kinds: tuple[str, ...], sites: tuple[str, ...]) -> domain.RiskFact:
    band = "critical" if score >= 17 else "low"
    return domain.RiskFact(key, score, band, None, kinds, sites, "how it fails", ("a control",))


def test_the_risk_section_applies_scope_and_holds_back_detail() -> None:
    risks = [risk("a", 20, ("fridge",), ("lab",)), risk("b", 4, ("laser",), ("ion",))]
    whole = domain.risk_section(risks, None)
    assert whole["by_band"] == {"critical": 1, "high": 0, "medium": 0, "low": 1}
    assert whole["top"][0]["scenario"] == "how it fails"
    scope = domain.SummaryScope(
        frozenset(), frozenset({"fridge"}), frozenset({DataCategory.OPERATIONAL}), Tlp.AMBER
    )
    partner = domain.risk_section(risks, scope)
    assert [r["key"] for r in partner["top"]] == ["a"]
    assert partner["top"][0]["scenario"].startswith("[redacted:")
    assert partner["detail_withheld"] is True
    green = domain.SummaryScope(frozenset(), frozenset(), frozenset(DataCategory), Tlp.GREEN)
    assert domain.risk_section(risks, green)["detail_withheld"] is True
    assert domain.summary_label(green) is Tlp.GREEN
    assert domain.summary_label(None) is Tlp.AMBER
