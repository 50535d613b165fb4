"""The Gamma CDF and quantile against published values (chi-square tables, closed forms)."""

from __future__ import annotations

import math

import pytest

from coherence.risk import gamma


@pytest.mark.parametrize(
    ("p", "dof", "expected"),
    [
        # Chi-square with k degrees of freedom is Gamma(k/2, rate 1/2); values from the tables.
        (0.05, 1, 0.0039321400),
        (0.95, 1, 3.8414588207),
        (0.05, 2, 0.1025865887),
        (0.95, 10, 18.3070380533),
        (0.05, 10, 3.9402991361),
        (0.99, 30, 50.8921813115),
        (0.5, 100, 99.3341),
    ],
)
def test_quantiles_match_chi_square_tables(p: float, dof: int, expected: float) -> None:
    assert gamma.quantile(p, dof / 2, 0.5) == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("p", [0.001, 0.05, 0.5, 0.95, 0.999])
def test_shape_one_is_the_exponential(p: float) -> None:
    assert gamma.quantile(p, 1.0, 4.0) == pytest.approx(-math.log1p(-p) / 4.0, rel=1e-10)


@pytest.mark.parametrize("shape", [0.01, 0.1, 0.5, 1.0, 3.0, 30.0, 3000.0])
@pytest.mark.parametrize("p", [1e-6, 0.05, 0.5, 0.95, 1 - 1e-6])
def test_the_quantile_inverts_the_cdf(shape: float, p: float) -> None:
    if shape == 0.01 and p == 1e-6:
        # (1e-6 x Gamma(1.01)) ** 100 is about 1e-600: below the smallest float.
        assert gamma.quantile(p, shape, 2.0) == 0.0
        return
    x = gamma.quantile(p, shape, 2.0)
    assert gamma.cdf(x, shape, 2.0) == pytest.approx(p, rel=1e-8, abs=1e-12)


def test_the_cdf_of_shape_two_in_closed_form() -> None:
    # P(2, x) = 1 - (1 + x) e^-x
    for x in (0.1, 1.0, 2.5, 10.0):
        assert gamma.cdf(x, 2.0, 1.0) == pytest.approx(1 - (1 + x) * math.exp(-x), rel=1e-12)
    assert gamma.cdf(0.0, 2.0, 1.0) == 0.0


@pytest.mark.parametrize(
    ("p", "shape", "rate"), [(0.0, 1, 1), (1.0, 1, 1), (0.5, 0, 1), (0.5, 1, -1)]
)
def test_out_of_range_arguments_are_refused(p: float, shape: float, rate: float) -> None:
    with pytest.raises(ValueError):
        gamma.quantile(p, shape, rate)
