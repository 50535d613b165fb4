"""Failure rates learned with Gamma-Poisson updating, checked against hand-computed posteriors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coherence.playbooks.domain import standard_scheme
from coherence.risk import rates
from coherence.risk.rates import Event, Prior, PriorTable

START = datetime(2024, 1, 1, tzinfo=UTC)
TABLE = PriorTable(
    default=Prior(0.5, 2.0, "default"),
    pairs={("pulse_tube_compressor", "cryogenic"): Prior(2.0, 4.0, "test")},
    in_house_hours={"default": 8.0, "ups": 4.0},
)


def test_posterior_by_hand() -> None:
    # Prior Gamma(2, 4): mean 0.5 per asset-year. Three compressors watched for two years
    # (6 asset-years) with 3 failures: Gamma(5, 10), mean 0.5; the 90 % interval is the
    # chi-square 10-dof 5 % and 95 % points over 2 x 10: 3.940299/20 and 18.307038/20.
    found = rates.estimate(
        TABLE.prior("pulse_tube_compressor", "cryogenic"),
        kind="pulse_tube_compressor",
        category="cryogenic",
        assets=3,
        years=2.0,
        events=3,
    )
    assert (found.shape, found.rate) == (5.0, 10.0)
    assert found.mean == pytest.approx(0.5)
    assert found.low == pytest.approx(0.19701496, rel=1e-6)
    assert found.high == pytest.approx(0.91535190, rel=1e-6)
    assert found.exposure == 6.0


def test_one_bad_month_moves_a_weak_prior_by_the_right_amount() -> None:
    # Two compressors, one month (1/12 year), 4 failures: Gamma(2 + 4, 4 + 2/12).
    month = rates.estimate(
        TABLE.prior("pulse_tube_compressor", "cryogenic"),
        kind="pulse_tube_compressor",
        category="cryogenic",
        assets=2,
        years=1 / 12,
        events=4,
    )
    assert month.mean == pytest.approx(6 / (4 + 2 / 12))
    # Ten quiet years afterwards pull it back below the prior mean.
    decade = rates.estimate(
        TABLE.prior("pulse_tube_compressor", "cryogenic"),
        kind="pulse_tube_compressor",
        category="cryogenic",
        assets=2,
        years=10 + 1 / 12,
        events=4,
    )
    assert decade.mean == pytest.approx(6 / (4 + 2 * (10 + 1 / 12)))
    assert decade.mean < 0.5 < month.mean


def test_estimate_all_counts_events_inside_the_window_for_kinds_the_facility_has() -> None:
    end = START + rates.YEAR * 2
    events = [
        Event("pulse_tube_compressor", "cryogenic", START + timedelta(days=10)),
        Event("pulse_tube_compressor", "cryogenic", START + timedelta(days=400)),
        Event("pulse_tube_compressor", "cryogenic", START - timedelta(days=1)),  # before
        Event("ups", "power_cooling", START + timedelta(days=30)),  # not listed: default prior
        Event("accelerator", "accelerator", START + timedelta(days=30)),  # no such assets
    ]
    found = rates.estimate_all(
        TABLE,
        assets_by_kind={"pulse_tube_compressor": 3, "ups": 2},
        events=events,
        start=START,
        end=end,
    )
    by_pair = {(e.kind, e.category): e for e in found}
    assert set(by_pair) == {("pulse_tube_compressor", "cryogenic"), ("ups", "power_cooling")}
    compressor = by_pair[("pulse_tube_compressor", "cryogenic")]
    assert compressor.events == 2
    assert compressor.years == pytest.approx(2.0)
    assert compressor.mean == pytest.approx((2 + 2) / (4 + 6))
    ups = by_pair[("ups", "power_cooling")]
    assert ups.prior.source == "default"
    assert ups.mean == pytest.approx((0.5 + 1) / (2 + 4))
    assert rates.per_kind(found) == pytest.approx({"pulse_tube_compressor": 0.4, "ups": 0.25})


def test_the_trend_ends_at_the_current_estimate() -> None:
    end = START + rates.YEAR
    events = [Event("pulse_tube_compressor", "cryogenic", START + timedelta(days=300))]
    points = rates.trend(
        TABLE,
        assets_by_kind={"pulse_tube_compressor": 1},
        events=events,
        start=START,
        end=end,
        points=5,
    )
    assert [at for at, _e in points] == [START + (end - START) / 4 * i for i in range(5)]
    means = [items[0].mean for _at, items in points]
    assert means[0] == pytest.approx(0.5)  # no exposure yet: the prior
    assert means[-1] == pytest.approx(3 / 5)
    assert points[3][1][0].events == 0
    assert points[4][1][0].events == 1


def test_the_shipped_priors_are_positive_sourced_and_use_real_kinds_and_categories() -> None:
    from coherence.catalog.domain import AssetKind

    table = rates.shipped_priors()
    categories = set(standard_scheme().categories)
    kinds = {k.value for k in AssetKind}
    for (kind, category), prior in table.pairs.items():
        assert kind in kinds
        assert category in categories
        assert prior.shape > 0
        assert prior.rate > 0
        assert prior.source
    assert {k for k, _c in table.pairs} == kinds
    assert table.repair_hours("power_feed") == 2.0
    assert table.repair_hours("laser_system") == 8.0


def test_a_bad_priors_file_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        rates.parse_priors({"default": {"shape": 0, "rate": 1}, "priors": []})
