"""Register rules: scales, bands, advisories raising likelihood, the heatmap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coherence.risk import domain
from coherence.risk.domain import Advisory

NOW = datetime(2026, 1, 5, 10, tzinfo=UTC)


def advisory(key: str, factor: float, **kw: object) -> Advisory:
    values: dict[str, object] = {
        "source": "advisory",
        "reason": f"{key} reason",
        "assets": frozenset({"fridge-1"}),
        "kinds": frozenset(),
        "expires_at": NOW + timedelta(days=30),
    }
    values.update(kw)
    return Advisory(key, factor=factor, **values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("score", "name"),
    [
        (1, "low"),
        (4, "low"),
        (5, "medium"),
        (9, "medium"),
        (10, "high"),
        (16, "high"),
        (20, "critical"),
        (25, "critical"),
    ],
)
def test_bands(score: int, name: str) -> None:
    assert domain.band(score).name == name


@pytest.mark.parametrize(
    ("frequency", "level"),
    [(0.0, 1), (0.009, 1), (0.01, 2), (0.5, 3), (1.0, 4), (9.9, 4), (10.0, 5), (1e6, 5)],
)
def test_likelihood_is_a_decade_per_level(frequency: float, level: int) -> None:
    assert domain.likelihood_of(frequency) == level


def test_advisories_in_force_raise_likelihood_with_their_reasons() -> None:
    assets = {"fridge-1": "dilution_refrigerator"}
    raised = domain.raise_for([advisory("cve-1", 2.0)], assets, NOW)
    assert (raised.factor, raised.levels) == (2.0, 1)
    assert raised.reasons == ("cve-1 (advisory, x2): cve-1 reason",)
    assert domain.effective_likelihood(3, raised) == 4
    both = domain.raise_for(
        [
            advisory("cve-1", 5.0),
            advisory(
                "he3",
                4.0,
                source="supply_chain",
                assets=frozenset(),
                kinds=frozenset({"dilution_refrigerator"}),
            ),
        ],
        assets,
        NOW,
    )
    assert (both.factor, both.levels) == (20.0, 2)
    assert domain.effective_likelihood(4, both) == 5


def test_expired_withdrawn_and_unrelated_advisories_raise_nothing() -> None:
    assets = {"fridge-1": "dilution_refrigerator"}
    quiet = [
        advisory("old", 3.0, expires_at=NOW),
        advisory("gone", 3.0, withdrawn=True),
        advisory("other", 3.0, assets=frozenset({"laser-729"})),
    ]
    assert domain.raise_for(quiet, assets, NOW) == domain.NO_RAISE


def test_the_heatmap_puts_likelihood_five_on_top() -> None:
    grid = domain.heatmap([("a", 5, 1), ("b", 5, 1), ("c", 1, 5)])
    assert [c.likelihood for c in grid[0]] == [5] * 5
    assert [c.impact for c in grid[0]] == [1, 2, 3, 4, 5]
    assert grid[0][0].risks == ("a", "b")
    assert grid[4][4].risks == ("c",)
    assert grid[0][4].band.name == "critical"
    assert grid[4][0].band.name == "low"


def test_review_overdue_only_for_risks_still_being_handled() -> None:
    assert domain.review_overdue("2026-01-01", "2026-01-05", "open")
    assert not domain.review_overdue("2026-01-01", "2026-01-05", "closed")
    assert not domain.review_overdue("2026-02-01", "2026-01-05", "open")
