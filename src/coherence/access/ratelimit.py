"""Token buckets per client key: the arithmetic of rate limits, over an injected clock."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

# Past this many keys, full buckets are forgotten (a full bucket is the same as none) and
# then the least recently used, so a flood of new addresses or names cannot exhaust memory.
MAX_KEYS = 50_000


@dataclass(frozen=True)
class Limit:
    """A named limit: ``burst`` requests at once, refilled at ``per_second``; 0 turns it off."""

    name: str
    burst: float
    per_second: float

    @property
    def enabled(self) -> bool:
        """Whether the limit applies at all."""
        return self.burst > 0 and self.per_second > 0

    @classmethod
    def per(cls, name: str, count: float, seconds: float) -> Limit:
        """``count`` requests every ``seconds``, in bursts of ``count`` (at least 1)."""
        return cls(name, max(1.0, count), count / seconds)


@dataclass
class _Bucket:
    tokens: float
    at: float


class Buckets:
    """One token bucket per key under one limit; ``now`` returns seconds on a steady clock."""

    def __init__(self, limit: Limit, *, now: Callable[[], float], max_keys: int = MAX_KEYS) -> None:
        self.limit = limit
        self._now = now
        self._max_keys = max_keys
        self._buckets: dict[str, _Bucket] = {}

    def wait(self, key: str, cost: float = 1.0) -> float:
        """Seconds until ``key`` could spend ``cost``; 0 if it can now. Spends nothing."""
        if not self.limit.enabled:
            return 0.0
        return self._shortfall(self._refilled(key), cost)

    def take(self, key: str, cost: float = 1.0) -> float:
        """Spend ``cost`` from ``key``'s bucket and return 0, or return the seconds to wait."""
        if not self.limit.enabled:
            return 0.0
        bucket = self._refilled(key)
        short = self._shortfall(bucket, cost)
        if short == 0.0:
            bucket.tokens -= cost
            self._store(key, bucket)
        return short

    def charge(self, key: str, cost: float = 1.0) -> None:
        """Spend ``cost``, down to empty, whatever the bucket holds (the failure happened)."""
        if not self.limit.enabled:
            return
        bucket = self._refilled(key)
        bucket.tokens = max(bucket.tokens - cost, 0.0)
        self._store(key, bucket)

    def __len__(self) -> int:
        return len(self._buckets)

    def _refilled(self, key: str) -> _Bucket:
        now = self._now()
        bucket = self._buckets.get(key)
        if bucket is None:
            return _Bucket(self.limit.burst, now)
        # A clock that steps backwards refills nothing rather than draining the bucket.
        elapsed = max(0.0, now - bucket.at)
        tokens = min(self.limit.burst, bucket.tokens + elapsed * self.limit.per_second)
        return _Bucket(tokens, now)

    def _shortfall(self, bucket: _Bucket, cost: float) -> float:
        missing = min(cost, self.limit.burst) - bucket.tokens
        return 0.0 if missing <= 0 else missing / self.limit.per_second

    def _store(self, key: str, bucket: _Bucket) -> None:
        self._buckets.pop(key, None)
        self._buckets[key] = bucket
        if len(self._buckets) > self._max_keys:
            self._forget(bucket.at)

    def _forget(self, now: float) -> None:
        limit = self.limit
        full = [
            key
            for key, b in self._buckets.items()
            if b.tokens + (now - b.at) * limit.per_second >= limit.burst
        ]
        for key in full:
            del self._buckets[key]
        while len(self._buckets) > self._max_keys:
            del self._buckets[next(iter(self._buckets))]
