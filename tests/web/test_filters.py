"""Dashboard formatting: durations, due phrases, safe redirects and timeline summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from coherence.incidents.schemas import TimelineEntry
from coherence.web.auth import safe_next
from coherence.web.filters import clock_time, due_phrase, duration, summarize, utc

NOW = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("seconds", "plain", "precise"),
    [
        (None, "—", "—"),
        (0, "0 s", "0 s"),
        (59.9, "59 s", "59 s"),
        (252, "4 min", "4 min 12 s"),
        (3600 + 5 * 60, "1 h 05 min", "1 h 05 min"),
        (2 * 86400 + 3 * 3600, "2 d 3 h", "2 d 3 h"),
    ],
)
def test_duration(seconds: float | None, plain: str, precise: str) -> None:
    assert duration(seconds) == plain
    assert duration(seconds, precise=True) == precise


def test_due_phrase_is_relative_to_the_given_now() -> None:
    assert due_phrase(NOW + timedelta(minutes=4, seconds=30), NOW) == "in 4 min"
    assert due_phrase(NOW, NOW) == "due now"
    assert due_phrase(NOW - timedelta(minutes=3), NOW) == "overdue by 3 min"
    assert due_phrase(None, NOW) == ""


def test_times_are_shown_in_utc() -> None:
    naive = datetime(2026, 1, 5, 9, 30)  # SQLite hands back naive UTC
    assert utc(naive) == "2026-01-05 09:30:00 UTC"
    assert clock_time(naive, NOW) == "09:30:00 UTC"
    assert clock_time(NOW - timedelta(days=1), NOW) == "2026-01-04 10:00:00 UTC"


@pytest.mark.parametrize(
    ("wanted", "target"),
    [
        ("/incidents/INC-00001", "/incidents/INC-00001"),
        ("/?all=1", "/?all=1"),
        (None, "/"),
        ("", "/"),
        ("//evil.example", "/"),
        ("/\\evil.example", "/"),
        ("https://evil.example", "/"),
        ("/\n/evil.example", "/"),
        ("incidents", "/"),
    ],
)
def test_safe_next_only_allows_local_paths(wanted: str | None, target: str) -> None:
    assert safe_next(wanted) == target


def test_summaries_read_like_sentences_and_fall_back_to_key_values() -> None:
    def entry(kind: str, **payload: object) -> TimelineEntry:
        return TimelineEntry(seq=1, at=NOW, type=kind, actor="a", payload=payload)

    moved = entry("incident:acknowledged", **{"from": "detected", "to": "acknowledged"})
    assert summarize(moved) == "detected → acknowledged"
    assert (
        summarize(entry("role:assigned", role="safety_officer", person="p", previous="q"))
        == "p is now safety officer (was q)"
    )
    assert summarize(entry("something:new", b=2, a=1)) == "a: 1; b: 2"


def test_detection_entries_read_plainly() -> None:
    from datetime import UTC, datetime

    from coherence.incidents.schemas import TimelineEntry
    from coherence.web.filters import summarize

    def entry(kind: str, payload: dict[str, object]) -> str:
        return summarize(
            TimelineEntry(
                seq=1,
                at=datetime(2026, 1, 1, tzinfo=UTC),
                type=kind,
                actor="detector",
                payload=payload,
            )
        )

    raised = entry("signal:raised", {"source": "rule:warm-up/mxc", "detail": "mxc = 0.06 > 0.05"})
    assert "mxc = 0.06 > 0.05" in raised
    assert "SEV3 → SEV1" in entry(
        "incident:reclassified", {"from": "sev3", "to": "sev1", "reason": "4K flange warm"}
    )
    assert "120 samples of fridge-1" in entry(
        "evidence:captured", {"samples": 120, "asset": "fridge-1", "sha256": "ab" * 32}
    )
