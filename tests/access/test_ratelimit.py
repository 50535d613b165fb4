"""Token buckets: bursts, refill, separate keys, bounded memory, all on a clock the test moves."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from coherence.access.ratelimit import Buckets, Limit


class FakeTime:
    """Seconds that move only when the test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def buckets(
    burst: float = 3, per_second: float = 1, max_keys: int = 100
) -> tuple[Buckets, FakeTime]:
    clock = FakeTime()
    return Buckets(Limit("test", burst, per_second), now=clock, max_keys=max_keys), clock


def test_a_burst_is_allowed_then_the_next_request_waits_for_one_token() -> None:
    limiter, _clock = buckets(burst=3, per_second=0.5)
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 0.0]
    assert limiter.take("a") == 2.0


def test_tokens_come_back_with_time_but_never_beyond_the_burst() -> None:
    limiter, clock = buckets(burst=2, per_second=1)
    limiter.take("a")
    limiter.take("a")
    clock.now += 0.5
    assert limiter.take("a") == 0.5
    clock.now += 3600
    assert [limiter.take("a") for _ in range(3)] == [0.0, 0.0, 1.0]


def test_each_key_has_its_own_bucket() -> None:
    limiter, _clock = buckets(burst=1)
    assert limiter.take("a") == 0.0
    assert limiter.take("a") > 0
    assert limiter.take("b") == 0.0


def test_wait_spends_nothing_and_charge_spends_even_when_empty() -> None:
    limiter, clock = buckets(burst=2, per_second=1)
    assert limiter.wait("a") == 0.0
    assert limiter.wait("a") == 0.0
    for _ in range(5):
        limiter.charge("a")
    assert limiter.wait("a") == 1.0
    clock.now += 1
    assert limiter.wait("a") == 0.0


def test_a_limit_of_zero_is_off() -> None:
    off = Limit.per("off", 0, 60)
    assert not off.enabled
    limiter = Buckets(off, now=FakeTime())
    assert all(limiter.take("a") == 0.0 for _ in range(1000))
    assert len(limiter) == 0


def test_per_spreads_the_count_over_the_period_with_a_burst_of_the_count() -> None:
    assert Limit.per("login", 30, 60) == Limit("login", 30, 0.5)
    assert Limit.per("rare", 0.5, 60).burst == 1


def test_a_clock_stepping_back_refills_nothing_and_drains_nothing() -> None:
    limiter, clock = buckets(burst=2, per_second=1)
    limiter.take("a")
    clock.now -= 100
    assert limiter.take("a") == 0.0
    assert limiter.take("a") == 1.0


def test_memory_stays_bounded_forgetting_full_buckets_first() -> None:
    limiter, clock = buckets(burst=1, per_second=1, max_keys=10)
    limiter.take("busy")
    for n in range(10):
        clock.now += 2  # every earlier bucket is full again by the time the next key comes
        limiter.take(f"k{n}")
    assert len(limiter) <= 10
    for n in range(1000):
        limiter.take(f"flood{n}")
    assert len(limiter) <= 10
    # The most recent keys are still limited: an attacker cannot reset them by flooding.
    assert limiter.take("flood999") > 0


@settings(max_examples=200, deadline=None)
@given(
    burst=st.integers(1, 20),
    per_second=st.floats(0.01, 100),
    steps=st.lists(st.floats(0, 5), min_size=1, max_size=60),
)
def test_no_more_than_the_burst_plus_the_refill_is_ever_allowed(
    burst: int, per_second: float, steps: list[float]
) -> None:
    limiter, clock = buckets(burst=burst, per_second=per_second)
    start, allowed = clock.now, 0
    for step in steps:
        clock.now += step
        wait = limiter.take("a")
        assert wait >= 0
        allowed += wait == 0.0
    assert allowed <= burst + (clock.now - start) * per_second + 1e-9
