"""Triggers per regime, deadline arithmetic and the obligations file, without a database."""

from __future__ import annotations

import copy
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from coherence.errors import ValidationFailed
from coherence.obligations import config
from coherence.obligations.domain import (
    EU_MEMBER_STATES,
    Anchors,
    Answer,
    Facts,
    ObligationSpec,
    add_months,
    deadlines,
    evaluate,
    in_jurisdiction,
    warn_times,
)

T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
SHIPPED = config.load_obligations()
RANKS = config.severity_ranks()
SHIPPED_TEXT = (
    Path(__file__).resolve().parents[2] / "src/coherence/obligations/data/obligations.yaml"
).read_text()


def spec(key: str) -> ObligationSpec:
    found = SHIPPED.get(key)
    assert found is not None
    return found


def facts(
    *,
    country: str | None = "NL",
    sectors: tuple[str, ...] = ("research",),
    entity_class: str | None = "important",
    category: str = "cryogenic",
    severity: str = "sev2",
    **answers: bool | None,
) -> Facts:
    return Facts(
        country=country,
        sectors=frozenset(sectors),
        entity_class=entity_class,
        category=category,
        severity=severity,
        answers={Answer(name): value for name, value in answers.items()},
    )


def applies(key: str, found: Facts) -> bool:
    return evaluate(spec(key), found, severity_ranks=RANKS).applies


# The shipped file


def test_the_shipped_file_has_every_regime_and_circia_is_off() -> None:
    keys = {o.key for o in SHIPPED.obligations}
    assert keys == {"eu-nis2", "eu-cer", "eu-dora", "gdpr-art33", "us-circia", "us-circia-ransom"}
    assert not spec("us-circia").enabled
    assert not spec("us-circia-ransom").enabled
    assert all(o.enabled for o in SHIPPED.obligations if not o.key.startswith("us-"))
    assert all(o.citation for o in SHIPPED.obligations)


def test_every_regime_in_the_shipped_file_has_a_comment_citing_its_article() -> None:
    blocks = SHIPPED_TEXT.split("  - key: ")[1:]
    for block in blocks:
        key = block.split("\n", 1)[0]
        if key in {o.key for o in SHIPPED.obligations}:
            preceding = SHIPPED_TEXT.split(f"  - key: {key}\n", 1)[0].rsplit("\n\n", 1)[-1]
            assert "Article" in preceding or "U.S.C." in preceding, key


def test_eu_membership_is_the_27() -> None:
    assert len(EU_MEMBER_STATES) == 27
    assert in_jurisdiction("NL", ["EU"])
    assert not in_jurisdiction("NO", ["EU"])
    assert in_jurisdiction("NO", ["EEA"])
    assert not in_jurisdiction("CH", ["EEA"])
    assert in_jurisdiction("US", ["US"])
    assert not in_jurisdiction(None, ["EU"])


# Triggers per regime


@pytest.mark.parametrize(
    ("entity_class", "expected"), [("essential", True), ("important", True), (None, False)]
)
def test_nis2_covers_essential_and_important_entities_only(
    entity_class: str | None, expected: bool
) -> None:
    assert applies("eu-nis2", facts(entity_class=entity_class, significant=True)) is expected


def test_nis2_needs_a_significant_incident_in_the_eu() -> None:
    verdict = evaluate(spec("eu-nis2"), facts(significant=None), severity_ranks=RANKS)
    assert not verdict.applies
    assert verdict.reason == "significant: not yet answered"
    assert not applies("eu-nis2", facts(significant=False))
    assert not applies("eu-nis2", facts(country="US", significant=True))
    assert not applies("eu-nis2", facts(country=None, significant=True))
    reason = evaluate(
        spec("eu-nis2"), facts(entity_class=None, significant=True), severity_ranks=RANKS
    )
    assert "needs essential or important" in reason.reason


def test_gdpr_applies_only_with_personal_data_anywhere_in_the_eea() -> None:
    research_group = {"sectors": (), "entity_class": None}
    assert not applies("gdpr-art33", facts(**research_group))
    assert not applies("gdpr-art33", facts(**research_group, personal_data=False))
    assert applies("gdpr-art33", facts(**research_group, personal_data=True))
    assert applies("gdpr-art33", facts(country="NO", personal_data=True))
    assert not applies("gdpr-art33", facts(country="US", personal_data=True))


def test_dora_applies_only_to_major_ict_incidents_of_financial_entities() -> None:
    bank = {"sectors": ("banking",), "entity_class": "essential"}
    assert applies("eu-dora", facts(**bank, major_ict=True))
    assert not applies("eu-dora", facts(**bank, major_ict=False))
    assert not applies("eu-dora", facts(**bank, significant=True))
    assert not applies("eu-dora", facts(sectors=("research",), major_ict=True))
    verdict = evaluate(spec("eu-dora"), facts(major_ict=True), severity_ranks=RANKS)
    assert "sectors (research) are not covered" in verdict.reason


def test_cer_needs_an_essential_entity_in_a_cer_sector() -> None:
    qkd = {"sectors": ("digital_infrastructure",), "entity_class": "essential"}
    assert applies("eu-cer", facts(**qkd, significant=True))
    assert not applies("eu-cer", facts(**qkd | {"entity_class": "important"}, significant=True))
    assert not applies("eu-cer", facts(entity_class="essential", significant=True))


def test_circia_is_off_until_switched_on() -> None:
    us = {"country": "US", "category": "control_system_cyber", "significant": True}
    verdict = evaluate(spec("us-circia"), facts(**us), severity_ranks=RANKS)
    assert not verdict.applies
    assert "switched off" in verdict.reason
    switched_on = spec("us-circia").model_copy(update={"enabled": True})
    assert evaluate(switched_on, facts(**us), severity_ranks=RANKS).applies
    assert not evaluate(
        switched_on, facts(**us | {"category": "cryogenic"}), severity_ranks=RANKS
    ).applies


def test_min_severity_counts_sev1_as_worse_than_sev2() -> None:
    stricter = spec("gdpr-art33").model_copy(deep=True)
    stricter.trigger.min_severity = "sev2"
    assert evaluate(
        stricter, facts(severity="sev1", personal_data=True), severity_ranks=RANKS
    ).applies
    assert evaluate(
        stricter, facts(severity="sev2", personal_data=True), severity_ranks=RANKS
    ).applies
    below = evaluate(stricter, facts(severity="sev3", personal_data=True), severity_ranks=RANKS)
    assert not below.applies
    assert below.reason == "severity sev3 is below sev2"


# Deadline arithmetic


@pytest.mark.parametrize(
    ("start", "months", "expected"),
    [
        (datetime(2026, 1, 31, 10, 0), 1, datetime(2026, 2, 28, 10, 0)),
        (datetime(2028, 1, 31, 10, 0), 1, datetime(2028, 2, 29, 10, 0)),
        (datetime(2026, 3, 31, 23, 59), 1, datetime(2026, 4, 30, 23, 59)),
        (datetime(2026, 1, 15, 8, 30), 1, datetime(2026, 2, 15, 8, 30)),
        (datetime(2026, 12, 15, 8, 30), 1, datetime(2027, 1, 15, 8, 30)),
        (datetime(2026, 8, 31, 0, 0), 6, datetime(2027, 2, 28, 0, 0)),
        (datetime(2026, 2, 28, 12, 0), 12, datetime(2027, 2, 28, 12, 0)),
        (datetime(2028, 2, 29, 12, 0), 12, datetime(2029, 2, 28, 12, 0)),
        (datetime(2026, 5, 20, 6, 0), 24, datetime(2028, 5, 20, 6, 0)),
    ],
)
def test_a_month_is_the_same_date_and_time_or_the_last_day_of_a_shorter_month(
    start: datetime, months: int, expected: datetime
) -> None:
    assert add_months(start.replace(tzinfo=UTC), months) == expected.replace(tzinfo=UTC)


@given(
    st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=0, max_value=24),
)
def test_adding_months_keeps_the_time_and_never_overshoots_the_month(
    start: datetime, months: int
) -> None:
    moved = add_months(start.replace(tzinfo=UTC), months)
    assert (moved.hour, moved.minute, moved.second) == (start.hour, start.minute, start.second)
    assert (moved.year * 12 + moved.month) - (start.year * 12 + start.month) == months
    assert moved.day <= start.day


def test_nis2_deadlines_and_the_final_report_one_month_after_the_notification() -> None:
    found = {d.report: d for d in deadlines(spec("eu-nis2"), Anchors(T0), submitted={})}
    assert found["early-warning"].due_at == T0 + timedelta(hours=24)
    assert found["notification"].due_at == T0 + timedelta(hours=72)
    final = found["final-report"]
    assert final.provisional
    assert final.due_at == datetime(2026, 2, 8, 10, 0, tzinfo=UTC)  # notification due 8 Jan
    sent = datetime(2026, 1, 31, 15, 20, tzinfo=UTC)
    found = {
        d.report: d
        for d in deadlines(spec("eu-nis2"), Anchors(T0), submitted={"notification": sent})
    }
    assert not found["final-report"].provisional
    assert found["final-report"].due_at == datetime(2026, 2, 28, 15, 20, tzinfo=UTC)
    assert found["final-report"].starts_at == sent
    assert found["final-report"].basis == "1 month after report notification"


def test_dora_initial_notification_is_the_sooner_of_4h_after_classification_and_24h() -> None:
    early = Anchors(T0, classification=T0 + timedelta(hours=2))
    initial = deadlines(spec("eu-dora"), early, submitted={})[0]
    assert initial.due_at == T0 + timedelta(hours=6)
    assert initial.starts_at == T0 + timedelta(hours=2)
    assert initial.basis.startswith("4 h after classification (the sooner of")
    late = Anchors(T0, classification=T0 + timedelta(hours=22))
    initial = deadlines(spec("eu-dora"), late, submitted={})[0]
    assert initial.due_at == T0 + timedelta(hours=24)
    assert initial.starts_at == T0
    assert initial.basis.startswith("24 h after awareness")
    found = {d.report: d for d in deadlines(spec("eu-dora"), early, submitted={})}
    assert found["intermediate-report"].due_at == T0 + timedelta(hours=6 + 72)
    assert found["intermediate-report"].provisional
    assert found["final-report"].due_at == add_months(T0 + timedelta(hours=78), 1)


def test_gdpr_notification_is_72_hours_after_awareness() -> None:
    aware = T0 - timedelta(hours=5)
    (notification,) = deadlines(spec("gdpr-art33"), Anchors(aware), submitted={})
    assert notification.due_at == aware + timedelta(hours=72)


def test_warnings_fall_at_half_and_nine_tenths_of_the_window_still_ahead() -> None:
    due = T0 + timedelta(hours=24)
    points = warn_times(T0, due, [0.5, 0.9], now=T0)
    assert points == [(0.5, T0 + timedelta(hours=12)), (0.9, T0 + timedelta(hours=21.6))]
    assert warn_times(T0, due, [0.5, 0.9], now=T0 + timedelta(hours=13)) == [
        (0.9, T0 + timedelta(hours=21.6))
    ]
    assert warn_times(T0, due, [0.5, 0.9], now=due) == []
    assert warn_times(due, T0, [0.5], now=T0) == []


# The file: bad ones are refused with the field named


def shipped_data() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SHIPPED_TEXT)
    return copy.deepcopy(data)


def problem_paths(data: dict[str, Any], tmp_path: Path) -> list[str]:
    path = tmp_path / "obligations.yaml"
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(ValidationFailed) as raised:
        config.load_obligations(path)
    assert str(path) in raised.value.message
    return [p["path"] for p in raised.value.details["problems"]]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda d: d["obligations"][0].pop("enabled"), "obligations[0].enabled"),
        (lambda d: d["obligations"][0].update(enabled="yes"), "obligations[0].enabled"),
        (lambda d: d["obligations"][1].update(colour="red"), "obligations[1].colour"),
        (lambda d: d["obligations"][0].update(key="EU NIS2"), "obligations[0].key"),
        (lambda d: d["obligations"][2].update(key="eu-nis2"), "obligations[2].key"),
        (
            lambda d: d["obligations"][0]["trigger"].update(jurisdictions=["eu"]),
            "obligations[0].trigger.jurisdictions[0]",
        ),
        (
            lambda d: d["obligations"][0]["trigger"].update(jurisdictions=[]),
            "obligations[0].trigger.jurisdictions",
        ),
        (
            lambda d: d["obligations"][0]["trigger"].update(requires=["vibes"]),
            "obligations[0].trigger.requires[0]",
        ),
        (
            lambda d: d["obligations"][0]["trigger"].update(min_severity="sev9"),
            "obligations[0].trigger.min_severity",
        ),
        (
            lambda d: d["obligations"][4]["trigger"].update(categories=["cyber"]),
            "obligations[4].trigger.categories[0]",
        ),
        (lambda d: d["obligations"][0].update(warn_at=[0.9, 0.5]), "obligations[0].warn_at"),
        (lambda d: d["obligations"][0].update(warn_at=[1.5]), "obligations[0].warn_at[0]"),
        (
            lambda d: d["obligations"][0]["reports"][0]["due"][0].update(days=1),
            "obligations[0].reports[0].due[0]",
        ),
        (
            lambda d: d["obligations"][0]["reports"][0]["due"][0].update(after="detection"),
            "obligations[0].reports[0].due[0].after",
        ),
        (
            lambda d: d["obligations"][0]["reports"][0]["due"][0].update(
                after="report:final-report"
            ),
            "obligations[0].reports[0].due[0].after",
        ),
        (
            lambda d: d["obligations"][0]["reports"][0]["fields"][0].update(prefill="weather"),
            "obligations[0].reports[0].fields[0].prefill",
        ),
        (
            lambda d: d["obligations"][0]["reports"][0]["fields"].append(
                {"key": "entity", "label": "x"}
            ),
            "obligations[0].reports[0].fields[9].key",
        ),
        (lambda d: d["obligations"][0].update(reports=[]), "obligations[0].reports"),
    ],
)
def test_a_bad_obligations_file_names_the_field(change: Any, path: str, tmp_path: Path) -> None:
    data = shipped_data()
    change(data)
    assert path in problem_paths(data, tmp_path)


def test_a_file_that_is_not_yaml_or_missing_is_refused(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("obligations: [\n")
    with pytest.raises(ValidationFailed, match="not valid YAML"):
        config.load_obligations(broken)
    with pytest.raises(Exception, match="no such file"):
        config.load_obligations(tmp_path / "missing.yaml")


def test_an_override_file_replaces_the_shipped_one(tmp_path: Path) -> None:
    data = shipped_data()
    data["obligations"] = [o for o in data["obligations"] if o["key"] == "gdpr-art33"]
    data["obligations"][0]["reports"][0]["due"] = [{"after": "awareness", "hours": 48}]
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(data))
    found = config.load_obligations(path)
    assert [o.key for o in found.obligations] == ["gdpr-art33"]
    assert found.source == str(path)
    (notification,) = deadlines(found.obligations[0], Anchors(T0), submitted={})
    assert notification.due_at == T0 + timedelta(hours=48)
    # A changed file is read again.
    data["obligations"][0]["reports"][0]["due"] = [{"after": "awareness", "hours": 12}]
    path.write_text(yaml.safe_dump(data) + "\n# changed\n")
    (notification,) = deadlines(
        config.load_obligations(path).obligations[0], Anchors(T0), submitted={}
    )
    assert notification.due_at == T0 + timedelta(hours=12)
