"""The detector: evaluates samples against rules, holding per-series state, yielding changes."""

from __future__ import annotations

import math
import operator
from array import array
from collections import defaultdict, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from coherence.detection.rules import Rule, state_key
from coherence.detection.samples import Quality, Sample
from coherence.playbooks.schemas import Operator

COMPARE: dict[Operator, Callable[[float, float], bool]] = {
    Operator.GT: operator.gt,
    Operator.GE: operator.ge,
    Operator.LT: operator.lt,
    Operator.LE: operator.le,
}


def base_asset(asset: str) -> str:
    """Return the catalog asset of a series: ``qpu-1.q17`` belongs to ``qpu-1``."""
    return asset.split(".", 1)[0]


def dedup_key(asset: str, playbook: str) -> str:
    """Return the key that keeps one open incident per playbook and catalog asset."""
    return f"{base_asset(asset)}:{playbook}"


@dataclass(frozen=True, slots=True)
class Change:
    """A rule started or stopped firing for one series."""

    rule: Rule
    asset: str
    raised: bool
    at: float
    value: float | str | None
    detail: str
    since: float | None = None

    @property
    def began(self) -> float:
        """When the condition started: before ``at`` by the hold time, for a held rule."""
        return self.at if self.since is None else self.since

    @property
    def key(self) -> str:
        """The de-duplication key this change belongs to."""
        return dedup_key(self.asset, self.rule.playbook)


class Track:
    """What one rule remembers about one series; kept small because there are many."""

    __slots__ = (
        "clearing_since",
        "count",
        "deviation",
        "firing",
        "last_seen",
        "mean",
        "parts",
        "pending_since",
        "window",
    )

    def __init__(self) -> None:
        self.firing = False
        self.pending_since: float | None = None
        self.clearing_since: float | None = None
        self.last_seen = -math.inf
        # Rate windows as flat (time, value, time, value, ...) doubles: a deque of tuples
        # cost eight times the memory.
        self.window: array[float] | None = None
        self.parts: dict[str, bool] | None = None
        self.mean = 0.0
        self.deviation = 0.0
        self.count = 0


class Detector:
    """Evaluates samples in arrival order; one Detector per process or partition."""

    def __init__(self, rules: Iterable[Rule]) -> None:
        self._all_rules = list(rules)
        self._rules: dict[tuple[str, str], list[tuple[int, Rule]]] = defaultdict(list)
        self._absence: list[tuple[int, Rule]] = []
        for index, rule in enumerate(self._all_rules):
            for kind in rule.asset_kinds:
                self._rules[(rule.metric, kind)].append((index, rule))
            if rule.kind == "absence":
                self._absence.append((index, rule))
        self._tracks: dict[tuple[str, int], Track] = {}
        self._asset_kinds: dict[str, str] = {}

    def with_rules(self, rules: Iterable[Rule]) -> Detector:
        """Return a detector for new rules that keeps the state of every unchanged rule."""
        replacement = Detector(rules)
        new_index = {rule: index for index, rule in enumerate(replacement._all_rules)}
        for (asset, old_index), track in self._tracks.items():
            index = new_index.get(self._all_rules[old_index])
            if index is not None:
                replacement._tracks[(asset, index)] = track
        replacement._asset_kinds = dict(self._asset_kinds)
        return replacement

    @property
    def tracked_series(self) -> int:
        """How many (series, rule) pairs hold state."""
        return len(self._tracks)

    def observe(self, sample: Sample, asset_kind: str) -> list[Change]:
        """Evaluate one sample against the rules for its metric and kind of asset."""
        changes: list[Change] = []
        self._asset_kinds[sample.asset] = asset_kind
        for index, rule in self._rules.get((sample.metric, asset_kind), ()):
            # A correlated rule judges the whole asset, so its state lives under the owner.
            series = base_asset(sample.asset) if rule.kind == "correlated" else sample.asset
            track = self._tracks.get((series, index))
            if track is None:
                track = self._tracks[(series, index)] = Track()
            if sample.timestamp < track.last_seen and rule.kind != "correlated":
                continue  # Late samples would rewrite history; the series has moved on.
            change = _step(rule, track, sample)
            track.last_seen = sample.timestamp
            if change is not None:
                changes.append(change)
        return changes

    def observe_all(self, samples: Iterable[tuple[Sample, str]]) -> list[Change]:
        """Evaluate many (sample, asset kind) pairs in order."""
        changes: list[Change] = []
        for sample, kind in samples:
            changes.extend(self.observe(sample, kind))
        return changes

    def sweep(self, now: float) -> list[Change]:
        """Raise absence rules for series silent for too long (call it every few seconds)."""
        changes: list[Change] = []
        for asset, kind in self._asset_kinds.items():
            for index, rule in self._absence:
                if kind not in rule.asset_kinds:
                    continue
                track = self._tracks.get((asset, index))
                if track is None or track.firing:
                    continue
                if now - track.last_seen >= rule.silence_seconds:
                    track.firing = True
                    silent = now - track.last_seen
                    changes.append(
                        Change(rule, asset, True, now, None, f"no {rule.metric} for {silent:.0f} s")
                    )
        return changes


def _step(rule: Rule, track: Track, sample: Sample) -> Change | None:
    if rule.kind == "absence":
        if track.firing:
            track.firing = False
            return Change(rule, sample.asset, False, sample.timestamp, sample.value, "data again")
        return None
    if sample.quality is Quality.INVALID:
        return None  # The reading is not trustworthy; neither raise nor clear on it.
    if rule.kind == "correlated":
        bad = still_bad = _correlated_condition(rule, track, sample)
        sample = Sample(
            sample.site,
            base_asset(sample.asset),
            sample.metric,
            sample.value,
            sample.unit,
            sample.timestamp,
            sample.quality,
        )
    else:
        bad, still_bad = _condition(rule, track, sample.value, sample.timestamp)
    if not track.firing:
        if not bad:
            track.pending_since = None
            return None
        if track.pending_since is None:
            track.pending_since = sample.timestamp
        if sample.timestamp - track.pending_since < rule.hold_seconds:
            return None
        began = track.pending_since
        track.firing, track.pending_since, track.clearing_since = True, None, None
        return Change(
            rule, sample.asset, True, sample.timestamp, sample.value, _why(rule, sample), began
        )
    if still_bad:
        track.clearing_since = None
        return None
    if track.clearing_since is None:
        track.clearing_since = sample.timestamp
    if sample.timestamp - track.clearing_since < rule.clear_hold_seconds:
        return None
    track.firing, track.clearing_since = False, None
    return Change(rule, sample.asset, False, sample.timestamp, sample.value, "back to normal")


def _condition(rule: Rule, track: Track, value: float | str, at: float) -> tuple[bool, bool]:
    """Return (would raise, keeps firing) for one value; the two differ under hysteresis."""
    if rule.kind == "state":
        bad = state_key(value) in rule.states
        return bad, bad
    if isinstance(value, str):
        return False, False
    if rule.kind == "threshold":
        assert rule.operator is not None
        compare = COMPARE[rule.operator]
        return compare(value, rule.value), compare(value, rule.clear_value)
    if rule.kind == "bits":
        bad = float(value).is_integer() and (int(value) & rule.mask) != 0
        return bad, bad
    if rule.kind == "rate":
        return _rate_condition(rule, track, value, at)
    return _anomaly_condition(rule, track, value)


def _rate_condition(rule: Rule, track: Track, value: float, at: float) -> tuple[bool, bool]:
    window = track.window
    if window is None:
        window = track.window = array("d")
    window.append(at)
    window.append(value)
    expired = 0
    while at - window[expired] > rule.window_seconds:
        expired += 2
    if expired:
        del window[:expired]
    oldest_at, oldest = window[0], window[1]
    # A rate over a sliver of the window is mostly noise: judge once half of it is covered.
    if at - oldest_at < rule.window_seconds / 2:
        return False, False
    assert rule.operator is not None
    bad = COMPARE[rule.operator]((value - oldest) / (at - oldest_at), rule.value)
    return bad, bad


def _correlated_condition(rule: Rule, track: Track, sample: Sample) -> bool:
    """Record this part's state and judge the share of bad parts across the asset."""
    parts = track.parts
    if parts is None:
        parts = track.parts = {}
    assert rule.operator is not None
    value = sample.value
    bad_now = not isinstance(value, str) and COMPARE[rule.operator](value, rule.value)
    was_bad = parts.get(sample.asset, False)
    parts[sample.asset] = bad_now
    track.count += int(bad_now) - int(was_bad)
    return len(parts) >= rule.min_parts and track.count / len(parts) >= rule.fraction


def _anomaly_condition(rule: Rule, track: Track, value: float) -> tuple[bool, bool]:
    """Compare with an exponentially weighted mean and mean absolute deviation."""
    if track.count == 0:
        track.mean, track.count = value, 1
        return False, False
    scale = max(track.deviation * 1.2533, abs(track.mean) * 1e-9, 1e-12)
    deviations = (value - track.mean) / scale
    judged = track.count >= rule.min_samples
    bad = judged and (
        (rule.direction != "low" and deviations > rule.deviations)
        or (rule.direction != "high" and deviations < -rule.deviations)
    )
    if not bad:
        # An anomaly must not teach the baseline that it is normal.
        # Plain averaging while learning, then the exponential weight, so the baseline is
        # sound from the first judged sample.
        alpha = max(rule.smoothing, 1 / (track.count + 1))
        track.deviation += alpha * (abs(value - track.mean) - track.deviation)
        track.mean += alpha * (value - track.mean)
        track.count += 1
    return bad, bad


def _why(rule: Rule, sample: Sample) -> str:
    if rule.kind == "threshold":
        assert rule.operator is not None
        held = f" for {rule.hold_seconds:g} s" if rule.hold_seconds else ""
        return f"{rule.metric} = {sample.value} {rule.operator.value} {rule.value:g}{held}"
    if rule.kind == "rate":
        assert rule.operator is not None
        return f"{rule.metric} changing {rule.operator.value} {rule.value:g}/s"
    if rule.kind == "anomaly":
        return f"{rule.metric} = {sample.value} is {rule.deviations:g}+ deviations off its baseline"
    if rule.kind == "correlated":
        assert rule.operator is not None
        return (
            f"at least {rule.fraction:.0%} of its parts have {rule.metric} "
            f"{rule.operator.value} {rule.value:g} at once: a device-wide event"
        )
    return f"{rule.metric} = {sample.value} matches {rule.trigger}"


class FlapGuard:
    """Notices a key that raises and clears too often, so it is reported once, not every time."""

    def __init__(self, *, changes: int = 6, within_seconds: float = 600) -> None:
        self._limit = changes
        self._window = within_seconds
        self._recent: dict[str, deque[float]] = defaultdict(deque)

    def flapping(self, key: str, at: float) -> bool:
        """Record a change of ``key`` at ``at``; return whether it now changes too often."""
        recent = self._recent[key]
        recent.append(at)
        while recent and at - recent[0] > self._window:
            recent.popleft()
        return len(recent) > self._limit
