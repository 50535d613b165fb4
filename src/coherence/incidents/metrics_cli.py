"""`coherence metrics`: MTTD, MTTA, MTTC and MTTR by group and period; Prometheus text."""

from __future__ import annotations

from datetime import UTC, datetime

import typer

from coherence import console
from coherence.errors import ValidationFailed
from coherence.incidents import metrics_query
from coherence.incidents.domain import Kind
from coherence.incidents.metrics import RESPONSE_METRICS, Dimension, Period, exposition
from coherence.incidents.metrics_api import metric_row

app = typer.Typer(
    help="Response metrics: MTTD, MTTA, MTTC, MTTR; real and exercise kept apart.",
    no_args_is_help=True,
)


def _when(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    parsed = console.validated_text(value, field, max_length=40)
    try:
        found = datetime.fromisoformat(parsed)
    except ValueError:
        raise ValidationFailed(f"--{field} takes an ISO date or time", field=field) from None
    return found if found.tzinfo else found.replace(tzinfo=UTC)


@app.command("show")
@console.handle_errors
def show(
    kind: Kind = typer.Option(Kind.REAL, help="real (default), exercise or test; never mixed."),
    by: Dimension | None = typer.Option(None, help="Break down by category, site or severity."),
    period: Period | None = typer.Option(None, help="Bucket by month or week of detection."),
    since: str | None = typer.Option(None, help="Only incidents detected at or after (ISO)."),
    until: str | None = typer.Option(None, help="Only incidents detected before (ISO)."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show count, mean, median and p90 of each response time."""
    with console.session() as session:
        rows = [
            metric_row(r)
            for r in metrics_query.response_rows(
                session,
                kind=kind,
                by=by,
                period=period,
                since=_when(since, "since"),
                until=_when(until, "until"),
            )
        ]
    if json:
        console.print_json(rows)
        return
    if not rows:
        console.out.print(
            f"No {kind.value} incidents in this range yet; "
            "exercises and tests are counted apart (--kind exercise, --kind test)."
        )
        return
    console.print_table(
        f"Response metrics, {kind.value} incidents; "
        + "; ".join(f"{k.upper()}: {text}" for k, (_m, text) in RESPONSE_METRICS.items()),
        ["period", by.value if by else "group", "metric", "count", "mean", "median", "p90"],
        [
            (
                r.period or "all",
                r.group or "all",
                r.metric.upper(),
                r.count,
                console.duration(r.mean),
                console.duration(r.median),
                console.duration(r.p90),
            )
            for r in rows
        ],
    )


@app.command("prometheus")
@console.handle_errors
def prometheus() -> None:
    """Print what /metrics serves, in the Prometheus text format."""
    with console.session() as session:
        text = exposition(metrics_query.incident_times(session))
    console.out.print(text, end="")
