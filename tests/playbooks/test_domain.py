"""The shipped classification scheme and glossary."""

from __future__ import annotations

import pytest

from coherence.errors import ValidationFailed
from coherence.playbooks.domain import glossary, parse_scheme, standard_scheme

REQUIRED_CATEGORIES = {
    "cryogenic",
    "qubit_performance",
    "laser_photonic",
    "vacuum",
    "magnet_safety",
    "qkd_network",
    "accelerator",
    "power_cooling",
    "control_system_cyber",
    "supply_chain",
    "data_integrity",
    "personnel_safety",
}


def test_scheme_has_every_category_and_a_complete_matrix() -> None:
    scheme = standard_scheme()
    assert set(scheme.categories) == REQUIRED_CATEGORIES
    assert len(scheme.matrix) == len(scheme.impacts) * len(scheme.urgencies)
    for severity in scheme.severities.values():
        assert severity.criteria


def test_severity_rises_with_impact_and_urgency() -> None:
    scheme = standard_scheme()
    worst = scheme.severity_for(impact="severe", urgency="immediate")
    least = scheme.severity_for(impact="negligible", urgency="low")
    assert worst.rank == 1
    assert least.rank == len(scheme.severities)
    impacts, urgencies = list(scheme.impacts), list(scheme.urgencies)
    for i, impact in enumerate(impacts):
        for j, urgency in enumerate(urgencies):
            rank = scheme.severity_for(impact=impact, urgency=urgency).rank
            if i + 1 < len(impacts):
                assert scheme.severity_for(impact=impacts[i + 1], urgency=urgency).rank <= rank
            if j + 1 < len(urgencies):
                assert scheme.severity_for(impact=impact, urgency=urgencies[j + 1]).rank <= rank


def test_each_class_has_a_checklist() -> None:
    scheme = standard_scheme()
    for category in scheme.categories:
        for severity in scheme.severities:
            assert scheme.checklist(category=category, severity=severity)


def test_unknown_levels_name_the_field() -> None:
    scheme = standard_scheme()
    with pytest.raises(ValidationFailed) as caught:
        scheme.severity_for(impact="apocalyptic", urgency="high")
    assert caught.value.field == "impact"
    with pytest.raises(ValidationFailed) as caught:
        scheme.category("weather")
    assert caught.value.field == "category"


def test_an_incomplete_matrix_is_refused() -> None:
    raw = {
        "impacts": [{"key": "a", "name": "A", "criteria": "x"}],
        "urgencies": [
            {"key": "u", "name": "U", "criteria": "x"},
            {"key": "v", "name": "V", "criteria": "x"},
        ],
        "severities": [{"key": "s1", "name": "S", "criteria": "x"}],
        "categories": [],
        "matrix": {"a": {"u": "s1"}},
    }
    with pytest.raises(ValueError, match="incomplete"):
        parse_scheme(raw)


def test_glossary_terms_have_both_definitions() -> None:
    terms = glossary()
    assert len(terms) >= 30
    for term, definition, plain in terms:
        assert term
        assert definition
        assert plain
        assert definition != plain
