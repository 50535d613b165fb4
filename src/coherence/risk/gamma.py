"""The Gamma distribution's CDF and quantile, in plain Python (scipy is not a dependency).

The regularised lower incomplete gamma function P(a, x) comes from its power series below
a + 1 and from Lentz's continued fraction for Q(a, x) = 1 - P(a, x) above (Numerical Recipes,
§6.2); the quantile inverts it by Newton steps kept inside a shrinking bracket.
"""

from __future__ import annotations

import math

EPSILON = 1e-14
MAX_ITERATIONS = 1000
TINY = 1e-300
LOG_SMALLEST = -700.0


def _series(a: float, x: float) -> float:
    term = total = 1.0 / a
    denominator = a
    for _ in range(MAX_ITERATIONS):
        denominator += 1.0
        term *= x / denominator
        total += term
        if abs(term) < abs(total) * EPSILON:
            break
    return total * math.exp(-x + a * math.log(x) - math.lgamma(a))


def _continued_fraction(a: float, x: float) -> float:
    b = x + 1.0 - a
    c = 1.0 / TINY
    d = 1.0 / b
    h = d
    for i in range(1, MAX_ITERATIONS):
        an = -i * (i - a)
        b += 2.0
        d = an * d + b
        d = TINY if abs(d) < TINY else d
        c = b + an / c
        c = TINY if abs(c) < TINY else c
        d = 1.0 / d
        step = d * c
        h *= step
        if abs(step - 1.0) < EPSILON:
            break
    return math.exp(-x + a * math.log(x) - math.lgamma(a)) * h


def regularized_lower(a: float, x: float) -> float:
    """P(a, x): the CDF at ``x`` of a Gamma with shape ``a`` and rate 1."""
    if a <= 0:
        raise ValueError("shape must be positive")
    if x <= 0:
        return 0.0
    if x < a + 1.0:
        return min(1.0, _series(a, x))
    return max(0.0, 1.0 - _continued_fraction(a, x))


def cdf(x: float, shape: float, rate: float) -> float:
    """P(X <= x) for X ~ Gamma(shape, rate)."""
    return regularized_lower(shape, x * rate)


def _density(a: float, x: float) -> float:
    return math.exp((a - 1.0) * math.log(x) - x - math.lgamma(a))


def _start(a: float, p: float) -> float:
    """Wilson-Hilferty's cube-root normal approximation, a good first guess for a >= 1."""
    z = _normal_quantile(p)
    guess = a * (1.0 - 1.0 / (9.0 * a) + z / (3.0 * math.sqrt(a))) ** 3
    if guess > 0:
        return guess
    # Small shapes: invert the series' leading term, P(a, x) ~ x^a / Gamma(a + 1).
    return math.exp((math.log(p) + math.lgamma(a + 1.0)) / a)


def _normal_quantile(p: float) -> float:
    """Acklam's rational approximation (relative error below 1.2e-9) of the normal quantile."""
    a: tuple[float, ...] = (
        -39.69683028665376,
        220.9460984245205,
        -275.9285104469687,
        138.3577518672690,
        -30.66479806614716,
        2.506628274631000,
    )
    b: tuple[float, ...] = (
        -54.47609879822406,
        161.5858368580409,
        -155.6989798598866,
        66.80131188771972,
        -13.28068155288572,
    )
    c: tuple[float, ...] = (
        -7.784894002430293e-03,
        -3.223964580411365e-01,
        -2.400758277161838,
        -2.549732539343734,
        4.374664141464968,
        2.938163982698783,
    )
    d: tuple[float, ...] = (
        7.784695709041462e-03,
        3.224671290700398e-01,
        2.445134137142996,
        3.754408661907416,
    )
    low = 0.02425
    if p < low or p > 1 - low:
        q = math.sqrt(-2 * math.log(p if p < low else 1 - p))
        value = (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / (
            (((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1
        )
        return value if p < low else -value
    q = p - 0.5
    r = q * q
    return (
        (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5])
        * q
        / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
    )


def quantile(p: float, shape: float, rate: float) -> float:
    """The ``p`` quantile of Gamma(shape, rate), to about 1e-10 relative."""
    if not 0.0 < p < 1.0:
        raise ValueError("p must be strictly between 0 and 1")
    if shape <= 0 or rate <= 0:
        raise ValueError("shape and rate must be positive")
    if (math.log(p) + math.lgamma(shape + 1.0)) / shape < LOG_SMALLEST:
        # The quantile is below the smallest positive float (tiny shapes, far lower tail).
        return 0.0
    low, high = 0.0, max(1.0, shape) * 2.0
    while regularized_lower(shape, high) < p:
        low, high = high, high * 2.0
    x = min(max(_start(shape, p), low), high)
    for _ in range(200):
        error = regularized_lower(shape, x) - p
        if error > 0:
            high = x
        else:
            low = x
        density = _density(shape, x) if x > 0 else 0.0
        step = error / density if density > 0 else math.inf
        candidate = x - step
        if not low < candidate < high:
            candidate = (low + high) / 2.0
        if abs(candidate - x) <= 1e-12 * max(candidate, TINY) or high - low <= 1e-15 * high:
            x = candidate
            break
        x = candidate
    return x / rate
