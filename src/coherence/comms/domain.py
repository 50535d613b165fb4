"""Delivery rules without I/O: what follows a failed attempt, and which channels to trust."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

# A failed round over every contact point is tried again after these pauses, then given up.
RETRY_AFTER_SECONDS = (5.0, 30.0)
MAX_ROUNDS = len(RETRY_AFTER_SECONDS) + 1


class Status(StrEnum):
    """Where a message stands."""

    PENDING = "pending"
    SENDING = "sending"
    AWAITING_RECEIPT = "awaiting_receipt"
    SENT = "sent"
    FAILED = "failed"


class Outcome(StrEnum):
    """What one attempt came to."""

    SENT = "sent"
    ACCEPTED = "accepted"  # handed over; a delivery receipt is awaited
    RECEIPT = "receipt"
    REFUSED = "refused"
    TIMEOUT = "timeout"
    REJECTED = "rejected"
    ERROR = "error"
    UNHEALTHY = "unhealthy"
    NO_RECEIPT = "no_receipt"
    NOT_CONFIGURED = "not_configured"


class DeliveryFailed(Exception):
    """A channel could not deliver; ``outcome`` says how it failed."""

    def __init__(self, outcome: Outcome, detail: str) -> None:
        super().__init__(detail)
        self.outcome = outcome
        self.detail = detail


@dataclass(frozen=True)
class NextStep:
    """Where a message goes after its current contact point failed."""

    status: Status
    contact_index: int
    rounds: int
    not_before: datetime | None


def after_failure(*, contact_index: int, contacts: int, rounds: int, now: datetime) -> NextStep:
    """Fail over to the next contact at once; after the last, retry the round later or give up."""
    if contact_index + 1 < contacts:
        return NextStep(Status.PENDING, contact_index + 1, rounds, now)
    if rounds + 1 < MAX_ROUNDS:
        pause = timedelta(seconds=RETRY_AFTER_SECONDS[rounds])
        return NextStep(Status.PENDING, 0, rounds + 1, now + pause)
    return NextStep(Status.FAILED, contact_index, rounds + 1, None)


@dataclass
class _Record:
    outcomes: deque[tuple[float, bool, float]]
    consecutive_failures: int = 0
    tripped_at: float | None = None


class ChannelHealth:
    """Remembers recent attempts per channel; a channel failing again and again is skipped.

    After ``failures_to_trip`` failures in a row the channel is skipped for ``cooldown_seconds``,
    so a dead gateway does not cost its timeout on every page; then one attempt is let through
    to see whether it is back.
    """

    def __init__(
        self, *, failures_to_trip: int = 3, cooldown_seconds: float = 30.0, remember: int = 50
    ) -> None:
        self._trip = failures_to_trip
        self._cooldown = cooldown_seconds
        self._remember = remember
        self._records: dict[str, _Record] = {}
        # Sending threads of one dispatcher report here at the same time.
        self._lock = threading.Lock()

    def record(self, channel: str, *, ok: bool, latency: float, at: float) -> None:
        """Note one attempt over ``channel``: whether it worked and how long it took."""
        with self._lock:
            self._record(channel, ok=ok, latency=latency, at=at)

    def _record(self, channel: str, *, ok: bool, latency: float, at: float) -> None:
        record = self._records.get(channel)
        if record is None:
            record = self._records[channel] = _Record(deque(maxlen=self._remember))
        record.outcomes.append((at, ok, latency))
        if ok:
            record.consecutive_failures, record.tripped_at = 0, None
            return
        record.consecutive_failures += 1
        if record.consecutive_failures >= self._trip:
            record.tripped_at = at

    def usable(self, channel: str, at: float) -> bool:
        """Whether to try ``channel`` now, or skip it to the next contact point."""
        with self._lock:
            return self._usable(channel, at)

    def _usable(self, channel: str, at: float) -> bool:
        record = self._records.get(channel)
        if record is None or record.tripped_at is None:
            return True
        if at - record.tripped_at >= self._cooldown:
            record.tripped_at = None  # Let one attempt through to probe; a failure re-trips it.
            record.consecutive_failures = self._trip - 1
            return True
        return False

    def report(self, at: float) -> dict[str, dict[str, object]]:
        """Return, per channel: state, recent attempts and failures, median and worst latency."""
        out: dict[str, dict[str, object]] = {}
        with self._lock:
            records = sorted(self._records.items())
        for channel, record in records:
            latencies = sorted(latency for _, _, latency in record.outcomes)
            tripped = record.tripped_at is not None and at - record.tripped_at < self._cooldown
            out[channel] = {
                "state": "skipped"
                if tripped
                else "ok"
                if record.consecutive_failures == 0
                else "failing",
                "recent_attempts": len(record.outcomes),
                "recent_failures": sum(1 for _, ok, _ in record.outcomes if not ok),
                "consecutive_failures": record.consecutive_failures,
                "latency_p50_ms": round(latencies[len(latencies) // 2] * 1000, 1)
                if latencies
                else None,
                "latency_max_ms": round(latencies[-1] * 1000, 1) if latencies else None,
            }
        return out
