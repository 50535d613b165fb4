"""Where a part comes from, and when: vendor maintenance windows and mutual-aid delivery times."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from coherence.recovery import gates, planning
from coherence.recovery.supply import AidOffer, Contract, Window, next_window, source_parts
from tests.recovery.test_planning import sample_graph

MONDAY = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # Monday 5 January 2026, 10:00 UTC
# The sample contract's windows: Tuesday and Thursday, 08:00 to 16:00 UTC.
TUE_THU = (Window(1, 8, 8), Window(3, 8, 8))


def coldhead(windows: tuple[Window, ...] = TUE_THU) -> dict[str, Contract]:
    parts = {"adsorber-cartridge": 96.0, "rotary-valve": 72.0, "seal-kit": 8.0}
    return {"coldhead-compressors": Contract("coldhead-compressors", 24, 72, parts, windows)}


def wait_for(
    part: str, contracts: dict[str, Contract], now: datetime = MONDAY
) -> planning.PartWait:
    return source_parts(
        {"compressor-1": part},
        sample_graph(),
        spares=[],
        contracts=contracts,
        aid=[],
        aid_hours=24,
        now=now,
    )["compressor-1"]


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        # Inside a window: no wait.
        (datetime(2026, 1, 6, 8, 0, tzinfo=UTC), datetime(2026, 1, 6, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 6, 15, 59, tzinfo=UTC), datetime(2026, 1, 6, 15, 59, tzinfo=UTC)),
        # Before, between and after the windows: the next start.
        (datetime(2026, 1, 6, 7, 59, tzinfo=UTC), datetime(2026, 1, 6, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 6, 16, 0, tzinfo=UTC), datetime(2026, 1, 8, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 9, 10, 0, tzinfo=UTC), datetime(2026, 1, 13, 8, 0, tzinfo=UTC)),
        (datetime(2026, 1, 11, 23, 0, tzinfo=UTC), datetime(2026, 1, 13, 8, 0, tzinfo=UTC)),
        # Another timezone is the same instant; a naive time (as SQLite returns) is UTC.
        (
            datetime(2026, 1, 6, 9, 0, tzinfo=UTC).astimezone(timezone(timedelta(hours=5))),
            datetime(2026, 1, 6, 9, 0, tzinfo=UTC),
        ),
        (datetime(2026, 1, 6, 7, 0), datetime(2026, 1, 6, 8, 0, tzinfo=UTC)),
    ],
)
def test_the_next_window_start(at: datetime, expected: datetime) -> None:
    assert next_window(at, TUE_THU) == expected


def test_no_windows_means_any_time() -> None:
    at = datetime(2026, 1, 10, 3, 17, tzinfo=UTC)
    assert next_window(at, ()) == at


def test_a_window_running_over_sunday_midnight_covers_monday_morning() -> None:
    late_sunday = (Window(6, 22, 6),)  # Sunday 22:00 to Monday 04:00
    monday_early = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)
    assert next_window(monday_early, late_sunday) == monday_early
    assert next_window(datetime(2026, 1, 5, 4, 0, tzinfo=UTC), late_sunday) == datetime(
        2026, 1, 11, 22, 0, tzinfo=UTC
    )


def test_a_vendor_part_landing_outside_a_window_waits_for_the_next_one() -> None:
    # Ordered Monday 10:00, the cartridge lands Friday 10:00; the engineer comes Tuesday 08:00.
    wait = wait_for("adsorber-cartridge", coldhead())
    assert wait.source == "vendor"
    assert wait.hours == 190
    assert wait.detail.startswith(
        "vendor coldhead-compressors: 96 h lead time, "
        "then the next maintenance window Tue 13 Jan 08:00 UTC"
    )
    assert "repair SLA 72 h" in wait.detail
    # The same contract without windows: the vendor works any time.
    anytime = wait_for("adsorber-cartridge", coldhead(()))
    assert anytime.hours == 96
    assert "maintenance window" not in anytime.detail


def test_a_part_landing_inside_a_window_does_not_wait() -> None:
    # The valve lands Thursday 10:00, inside Thursday's window.
    wait = wait_for("rotary-valve", coldhead())
    assert wait.hours == 72
    assert "72 h lead time, inside a maintenance window" in wait.detail


def test_the_response_sla_counts_when_it_is_later_than_the_lead_time() -> None:
    # Seal kit in 8 h, but the engineer responds in 24 h: Tuesday 10:00, inside the window.
    wait = wait_for("seal-kit", coldhead())
    assert wait.hours == 24
    assert "24 h response SLA" in wait.detail
    # Ordered on Tuesday at 10:00 instead, the response lands Wednesday: wait for Thursday.
    later = wait_for("seal-kit", coldhead(), now=MONDAY + timedelta(days=1))
    assert later.hours == 46
    assert "then the next maintenance window Thu 08 Jan 08:00 UTC" in later.detail


def test_the_window_moves_the_plan_estimate() -> None:
    graph = sample_graph()
    durations = gates.durations()
    windowed = {"compressor-1": wait_for("adsorber-cartridge", coldhead())}
    anytime = {"compressor-1": wait_for("adsorber-cartridge", coldhead(()))}
    late = planning.plan(graph, {"compressor-1"}, durations=durations, part_waits=windowed)
    early = planning.plan(graph, {"compressor-1"}, durations=durations, part_waits=anytime)
    assert late.steps[0].start_hours == 190
    assert (early.eta_hours, late.eta_hours) == (98, 192)


CARTRIDGE = "compressor adsorber cartridge"


def test_each_mutual_aid_offer_brings_its_own_delivery_time() -> None:
    slow = AidOffer("nb-slow", "coldhead-compressors", CARTRIDGE, 1, 60)
    fast = AidOffer("nb-fast", "coldhead-compressors", CARTRIDGE, 1, 12)
    waits = source_parts(
        {"compressor-1": "adsorber-cartridge", "compressor-2": "adsorber-cartridge"},
        sample_graph(),
        spares=[],
        contracts=coldhead(()),
        aid=[slow, fast],
        aid_hours=24,
        now=MONDAY,
    )
    # The faster offer is taken first and used up; the second compressor gets the slower one.
    assert (waits["compressor-1"].hours, waits["compressor-1"].source) == (12, "mutual_aid")
    assert "under nb-fast" in waits["compressor-1"].detail
    assert "delivered in about 12 h" in waits["compressor-1"].detail
    assert (waits["compressor-2"].hours, waits["compressor-2"].source) == (60, "mutual_aid")


def test_an_offer_without_a_delivery_time_takes_the_shipped_one() -> None:
    offer = AidOffer("nb-coldhead", "coldhead-compressors", CARTRIDGE, 1)
    wait = source_parts(
        {"compressor-1": "adsorber-cartridge"},
        sample_graph(),
        spares=[],
        contracts={},
        aid=[offer],
        aid_hours=gates.mutual_aid_hours(),
        now=MONDAY,
    )["compressor-1"]
    assert wait.hours == 24
    assert wait.source == "mutual_aid"


def test_a_slow_offer_loses_to_a_faster_vendor() -> None:
    offer = AidOffer("nb-coldhead", "coldhead-compressors", CARTRIDGE, 1, 200)
    wait = source_parts(
        {"compressor-1": "adsorber-cartridge"},
        sample_graph(),
        spares=[],
        contracts=coldhead(),
        aid=[offer],
        aid_hours=24,
        now=MONDAY,
    )["compressor-1"]
    assert (wait.source, wait.hours) == ("vendor", 190)
