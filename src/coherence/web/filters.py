"""Formatting for the dashboard: times, durations and readable timeline entries."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from coherence.clock import as_utc
from coherence.incidents.domain import Kind
from coherence.incidents.schemas import TimelineEntry
from coherence.playbooks.domain import standard_scheme

MINUTE, HOUR, DAY = 60, 3600, 86400


def utc(value: datetime | None) -> str:
    """Return a timestamp as ``2026-01-05 10:04:12 UTC``, or a dash when missing."""
    if value is None:
        return "—"
    return as_utc(value).strftime("%Y-%m-%d %H:%M:%S UTC")


def clock_time(value: datetime | None, now: datetime) -> str:
    """Return ``05:08:58 UTC`` for a time on the same UTC day as ``now``, else the full stamp."""
    if value is None or as_utc(value).date() != as_utc(now).date():
        return utc(value)
    return as_utc(value).strftime("%H:%M:%S UTC")


def duration(seconds: float | None, *, precise: bool = False) -> str:
    """Return a span as ``45 s``, ``4 min``, ``1 h 05 min`` or ``2 d 3 h``."""
    if seconds is None:
        return "—"
    total = max(0, int(seconds))
    if total < MINUTE:
        return f"{total} s"
    if total < HOUR:
        minutes, rest = divmod(total, MINUTE)
        return f"{minutes} min {rest:02d} s" if precise and rest else f"{minutes} min"
    if total < DAY:
        hours, rest = divmod(total, HOUR)
        return f"{hours} h {rest // MINUTE:02d} min"
    days, rest = divmod(total, DAY)
    return f"{days} d {rest // HOUR} h"


def age(since: datetime, now: datetime) -> str:
    """Return how long ago ``since`` was, relative to the injected clock's ``now``."""
    return duration((as_utc(now) - as_utc(since)).total_seconds())


def due_phrase(due: datetime | None, now: datetime) -> str:
    """Return ``in 4 min``, ``due now`` or ``overdue by 3 min`` for a due time."""
    if due is None:
        return ""
    seconds = (as_utc(due) - as_utc(now)).total_seconds()
    if seconds >= 1:
        return f"in {duration(seconds)}"
    if seconds > -1:
        return "due now"
    return f"overdue by {duration(-seconds)}"


def is_past(due: datetime | None, now: datetime) -> bool:
    """Return whether a due time has passed."""
    return due is not None and as_utc(due) < as_utc(now)


def severity_label(key: str) -> str:
    """Return ``SEV1 Critical`` for a severity key, or the key itself if unknown."""
    severity = standard_scheme().severities.get(key)
    return f"{key.upper()} {severity.name}" if severity else key.upper()


def category_label(key: str) -> str:
    """Return a category's display name, or the key itself if unknown."""
    category = standard_scheme().categories.get(key)
    return category.name if category else key


def kind_warning(kind: Kind) -> str:
    """Return the banner text for a drill or test; empty for a real incident."""
    if kind == Kind.EXERCISE:
        return "EXERCISE — this is a drill, not a real incident"
    if kind == Kind.TEST:
        return "TEST — this is a system test, not a real incident"
    return ""


def humanize(key: str) -> str:
    """Return ``incident commander`` for ``incident_commander``."""
    return key.replace("_", " ")


def _when(value: Any) -> str:
    if isinstance(value, str):
        try:
            return utc(datetime.fromisoformat(value))
        except ValueError:
            return value
    return str(value)


def _with_note(text: str, note: Any) -> str:
    return f"{text} — {note}" if note else text


def _opened(p: Mapping[str, Any]) -> str:
    playbook = f"playbook {p.get('playbook')} v{p.get('playbook_version')}"
    return (
        f"Opened “{p.get('title')}”: {str(p.get('severity', '')).upper()} "
        f"{p.get('category')} on {p.get('asset')} at {p.get('site')}; "
        f"{p.get('tasks', 0)} tasks; {playbook if p.get('playbook') else 'no playbook'}"
    )


def _moved(p: Mapping[str, Any]) -> str:
    return _with_note(f"{p.get('from')} → {p.get('to')}", p.get("note"))


def _reopened(p: Mapping[str, Any]) -> str:
    return f"Reopened ({p.get('from')} → {p.get('to')}): {p.get('reason')}"


def _escalated(p: Mapping[str, Any]) -> str:
    return f"Escalated from level {p.get('from_level')} to {p.get('to_level')}: {p.get('reason')}"


def _decision(p: Mapping[str, Any]) -> str:
    return (
        f"Decision: {p.get('decision')}\nRationale: {p.get('rationale')}\n"
        f"Decided by {p.get('decided_by')}"
    )


def _role(p: Mapping[str, Any]) -> str:
    was = f" (was {p.get('previous')})" if p.get("previous") else ""
    return f"{p.get('person')} is now {humanize(str(p.get('role')))}{was}"


def _task(p: Mapping[str, Any]) -> str:
    return _with_note(
        f"Task #{p.get('task')} “{p.get('title')}” → {p.get('status')}", p.get("note")
    )


def _overdue(p: Mapping[str, Any]) -> str:
    return f"Task #{p.get('task')} “{p.get('title')}” is overdue (due {_when(p.get('due_at'))})"


def _notification(p: Mapping[str, Any]) -> str:
    return f"{p.get('channel')} to {p.get('person')}: {p.get('subject')} ({p.get('reason')})"


def _delivered(p: Mapping[str, Any]) -> str:
    tries = p.get("attempts")
    return f"Message #{p.get('message_id')} delivered by {p.get('channel')} (attempt {tries})"


def _undeliverable(p: Mapping[str, Any]) -> str:
    channels = ", ".join(p.get("channels") or [])
    return (
        f"PAGE NOT DELIVERED: message #{p.get('message_id')} failed on every channel "
        f"({channels}) after {p.get('attempts')} attempts; last error: {p.get('last_error')}"
    )


def _signal(verb: str) -> Callable[[Mapping[str, Any]], str]:
    def describe(p: Mapping[str, Any]) -> str:
        return f"Signal {verb} ({p.get('source')}): {p.get('detail')}"

    return describe


def _reclassified(p: Mapping[str, Any]) -> str:
    was, now = str(p.get("from", "")).upper(), str(p.get("to", "")).upper()
    return f"Severity raised {was} → {now}: {p.get('reason')}"


def _evidence(p: Mapping[str, Any]) -> str:
    return (
        f"Telemetry kept as evidence: {p.get('samples')} samples of {p.get('asset')}, "
        f"SHA-256 {str(p.get('sha256', ''))[:16]}…"
    )


SUMMARIES: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "signal:raised": _signal("raised"),
    "signal:cleared": _signal("cleared"),
    "signal:flapping": _signal("flapping, further changes held back"),
    "incident:reclassified": _reclassified,
    "evidence:captured": _evidence,
    "incident:opened": _opened,
    "incident:acknowledged": _moved,
    "incident:transitioned": _moved,
    "incident:reopened": _reopened,
    "incident:escalated": _escalated,
    "incident:note_added": lambda p: str(p.get("text", "")),
    "decision:recorded": _decision,
    "role:assigned": _role,
    "task:completed": _task,
    "task:reopened": _task,
    "task:overdue": _overdue,
    "notification:queued": _notification,
    "notification:sent": _delivered,
    "notification:failed": _undeliverable,
}


def summarize(entry: TimelineEntry) -> str:
    """Return a readable one-paragraph summary of a timeline entry's payload."""
    if entry.payload == {"purged": True}:
        return "Content purged under retention; the ledger keeps its hash."
    describe = SUMMARIES.get(entry.type)
    if describe is not None:
        return describe(entry.payload)
    return "; ".join(f"{key}: {value}" for key, value in sorted(entry.payload.items()))
