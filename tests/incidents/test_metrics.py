"""Response metrics computed by hand: MTTx per kind, group and period; the exposition text."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from coherence.incidents.domain import Stamps
from coherence.incidents.metrics import (
    Dimension,
    IncidentTimes,
    Period,
    breakdown,
    escape_label,
    exposition,
    summarise,
)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def incident(
    kind: str,
    category: str,
    site: str,
    severity: str,
    detected: str,
    *,
    occurred: float | None = None,
    ack: float | None = None,
    contained: float | None = None,
    resolved: float | None = None,
    status: str = "resolved",
) -> IncidentTimes:
    """An incident detected at ``detected`` with each later stamp given in seconds after it."""
    base = at(detected)

    def after(seconds: float | None) -> datetime | None:
        return None if seconds is None else base + timedelta(seconds=seconds)

    stamps = Stamps(
        occurred_at=None if occurred is None else base - timedelta(seconds=occurred),
        detected_at=base,
        acknowledged_at=after(ack),
        contained_at=after(contained),
        recovering_at=after(contained),
        resolved_at=after(resolved),
        closed_at=None,
    )
    return IncidentTimes(kind, category, site, severity, status, stamps)


INCIDENTS = [
    incident(
        "real",
        "cooling",
        "sc-lab",
        "sev2",
        "2026-01-05T10:00",
        occurred=600,
        ack=300,
        contained=2100,
        resolved=7200,
    ),
    incident(
        "real",
        "cooling",
        "sc-lab",
        "sev2",
        "2026-01-20T08:00",
        occurred=120,
        ack=60,
        contained=1200,
        resolved=3600,
    ),
    incident(
        "real", "power", "ion-lab", "sev1", "2026-02-03T00:00", ack=600, status="acknowledged"
    ),
    incident(
        "exercise",
        "cooling",
        "sc-lab",
        "sev2",
        "2026-01-06T09:00",
        occurred=1,
        ack=5,
        contained=10,
        resolved=20,
    ),
    incident("test", "cooling", "sc-lab", "sev4", "2026-01-07T09:00", ack=1),
]


def figures(rows: list, kind: str = "real") -> dict[tuple[str | None, str | None, str], tuple]:
    return {
        (r.group, r.period, r.metric): (r.stat.count, r.stat.mean, r.stat.median, r.stat.p90)
        for r in rows
        if r.kind == kind
    }


def test_overall_figures_by_hand_and_kinds_never_mix() -> None:
    rows = breakdown(INCIDENTS)
    real = figures(rows)
    assert real[(None, None, "mttd")] == (2, 360.0, 360.0, 600.0)
    assert real[(None, None, "mtta")] == (3, 320.0, 300.0, 600.0)
    assert real[(None, None, "mttc")] == (2, 1650.0, 1650.0, 2100.0)
    assert real[(None, None, "mttr")] == (2, 5400.0, 5400.0, 7200.0)
    assert figures(rows, "exercise")[(None, None, "mtta")] == (1, 5.0, 5.0, 5.0)
    assert figures(rows, "test")[(None, None, "mttd")] == (0, None, None, None)
    assert {r.kind for r in rows} == {"real", "exercise", "test"}


def test_breakdown_by_category_site_and_severity() -> None:
    cooling = figures(breakdown(INCIDENTS, by=Dimension.CATEGORY))
    assert cooling[("cooling", None, "mtta")] == (2, 180.0, 180.0, 300.0)
    assert cooling[("power", None, "mtta")] == (1, 600.0, 600.0, 600.0)
    assert cooling[("power", None, "mttr")] == (0, None, None, None)
    sites = figures(breakdown(INCIDENTS, by=Dimension.SITE))
    assert sites[("ion-lab", None, "mtta")][0] == 1
    assert sites[("sc-lab", None, "mttc")] == (2, 1650.0, 1650.0, 2100.0)
    severity = figures(breakdown(INCIDENTS, by=Dimension.SEVERITY))
    assert {k[0] for k in severity} == {"sev1", "sev2"}


def test_buckets_by_month_and_iso_week() -> None:
    months = figures(breakdown(INCIDENTS, period=Period.MONTH))
    assert months[(None, "2026-01", "mtta")] == (2, 180.0, 180.0, 300.0)
    assert months[(None, "2026-02", "mtta")] == (1, 600.0, 600.0, 600.0)
    weeks = figures(breakdown(INCIDENTS, period=Period.WEEK, by=Dimension.CATEGORY))
    assert weeks[("cooling", "2026-W02", "mttr")] == (1, 7200.0, 7200.0, 7200.0)
    assert weeks[("cooling", "2026-W04", "mttr")] == (1, 3600.0, 3600.0, 3600.0)
    assert weeks[("power", "2026-W06", "mtta")][0] == 1


def test_p90_is_the_nearest_rank() -> None:
    stat = summarise(float(v) for v in range(1, 11))
    assert (stat.count, stat.mean, stat.median, stat.p90) == (10, 5.5, 5.5, 10.0)
    assert summarise([]).count == 0


# Every line of the text format 0.0.4: a HELP or TYPE comment, or a sample.
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
SAMPLE = re.compile(
    rf"^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{{(?:{LABEL})(?:,{LABEL})*\}})? "
    r"(?P<value>-?[0-9.e+-]+|NaN|[+-]Inf)$"
)
HELP = re.compile(r"^# HELP (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (?:[^\\\n]|\\\\|\\n)*$")
TYPE = re.compile(r"^# TYPE (?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|summary)$")


def parse(text: str) -> dict[str, list[str]]:
    """Check every line strictly; return the sample lines of each family."""
    assert text.endswith("\n")
    families: dict[str, list[str]] = {}
    declared: dict[str, str] = {}
    current = ""
    for line in text.rstrip("\n").split("\n"):
        if help_line := HELP.match(line):
            current = help_line["name"]
            assert current not in families, f"family {current} declared twice"
            families[current] = []
        elif type_line := TYPE.match(line):
            assert type_line["name"] == current, line
            declared[current] = type_line[2]
        else:
            sample = SAMPLE.match(line)
            assert sample, f"not a valid exposition line: {line!r}"
            name = sample["name"]
            allowed = {current}
            if declared.get(current) == "summary":
                allowed |= {current + "_sum", current + "_count"}
            assert name in allowed, f"{name} outside its family {current}"
            families[current].append(line)
    assert set(declared) == set(families)
    return families


def test_exposition_parses_back_and_counts_by_hand() -> None:
    families = parse(exposition(INCIDENTS))
    opened = families["coherence_incidents_opened_total"]
    assert (
        'coherence_incidents_opened_total{kind="real",category="cooling",severity="sev2"} 2'
        in opened
    )
    assert (
        'coherence_incidents{kind="real",category="power",severity="sev1",status="acknowledged"} 1'
        in families["coherence_incidents"]
    )
    acks = families["coherence_time_to_acknowledge_seconds"]
    base = 'kind="real",category="cooling",site="sc-lab",severity="sev2"'
    assert f'coherence_time_to_acknowledge_seconds{{{base},quantile="0.5"}} 180.0' in acks
    assert f'coherence_time_to_acknowledge_seconds{{{base},quantile="0.9"}} 300.0' in acks
    assert f"coherence_time_to_acknowledge_seconds_sum{{{base}}} 360.0" in acks
    assert f"coherence_time_to_acknowledge_seconds_count{{{base}}} 2" in acks
    exercise = 'kind="exercise",category="cooling",site="sc-lab",severity="sev2"'
    assert (
        f"coherence_time_to_detect_seconds_count{{{exercise}}} 1"
        in (families["coherence_time_to_detect_seconds"])
    )
    assert set(families) == {
        "coherence_incidents_opened_total",
        "coherence_incidents",
        "coherence_time_to_detect_seconds",
        "coherence_time_to_acknowledge_seconds",
        "coherence_time_to_contain_seconds",
        "coherence_time_to_recover_seconds",
    }


def test_label_values_are_escaped() -> None:
    assert escape_label('a"b\\c\nd') == 'a\\"b\\\\c\\nd'
    hostile = [incident("real", 'x"}\n# HELP y', "site\\1", "sev1", "2026-01-05T10:00", ack=1)]
    families = parse(exposition(hostile))
    assert any('category="x\\"}\\n# HELP y"' in line for line in families["coherence_incidents"])


def test_no_incidents_still_declares_every_family() -> None:
    families = parse(exposition([]))
    assert len(families) == 6
    assert all(not samples for samples in families.values())
