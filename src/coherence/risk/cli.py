"""`coherence risk`: the register, advisories, learned failure rates and Monte Carlo runs."""

from __future__ import annotations

from datetime import datetime

import typer

from coherence import console
from coherence.errors import ValidationFailed
from coherence.risk import analysis, views
from coherence.risk.advisory_cli import advisory_app
from coherence.risk.register_cli import register_app
from coherence.risk.schemas import SimulationRead, SimulationRequest, TrendPoint

app = typer.Typer(
    help="Risk: the register, advisories, learned failure rates and availability simulation.",
    no_args_is_help=True,
)
app.add_typer(register_app, name="register")
app.add_typer(advisory_app, name="advisory")

SINCE = typer.Option(None, help="Learn from history since (ISO 8601 with offset).")


def _since(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"--since {value!r} is not an ISO 8601 time", field="since"
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed("--since needs an offset, e.g. +00:00", field="since")
    return parsed


def _pairs(values: list[str], option: str) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        key, _sep, rest = value.partition("=")
        found[key.strip()] = rest.strip()
    if any(not k for k in found):
        raise ValidationFailed(f"--{option} takes ASSET or ASSET=VALUE", field=option)
    return found


@app.command("rates")
@console.handle_errors
def learned_rates(since: str | None = SINCE, json: bool = console.JSON_OPTION) -> None:
    """Failure rates per asset kind and category learned from real incidents."""
    with console.session() as session:
        span, estimates = analysis.learned_rates(
            session, now=console.clock().now(), since=_since(since)
        )
    rows = [views.rate_read(e) for e in estimates]
    if json:
        console.print_json(rows)
        return
    console.out.print(f"history {span.start:%Y-%m-%d %H:%M} to {span.end:%Y-%m-%d %H:%M} UTC")
    console.print_table(
        "Incidents per asset-year (posterior mean, 90 % credible interval)",
        ["kind", "category", "assets", "years", "incidents", "prior", "mean", "90 % interval"],
        [
            (
                r.kind,
                r.category,
                r.assets,
                f"{r.years:.2f}",
                r.events,
                f"Gamma({r.prior_shape:g}, {r.prior_rate:g})",
                f"{r.mean:.3g}",
                f"{r.low:.3g} to {r.high:.3g}",
            )
            for r in rows
        ],
    )


@app.command("trend")
@console.handle_errors
def trend(
    since: str | None = SINCE,
    points: int = typer.Option(6, min=2, max=120, help="Moments across the history."),
    json: bool = console.JSON_OPTION,
) -> None:
    """How the learned rates moved across the history."""
    with console.session() as session:
        found = analysis.rate_trend(
            session, now=console.clock().now(), since=_since(since), points=points
        )
    rows = views.trend_rows(found)
    if json:
        console.print_json(
            [TrendPoint(at=at, rates=[views.rate_read(e) for e in items]) for at, items in found]
        )
        return
    console.print_table(
        "Failure-rate trend (incidents per asset-year)",
        ["kind", "category", "then", "now", "incidents"],
        [
            (
                r["kind"],
                r["category"],
                f"{r['first'].mean:.3g}",
                f"{r['last'].mean:.3g}",
                r["last"].events,
            )
            for r in rows
        ],
    )


def _print_simulation(read: SimulationRead) -> None:
    console.out.print(f"{read.trials:,} trials, seed {read.seed}")
    what_if = read.what_if is not None
    columns = ["service", "availability", "downtime h/yr", "± h"]
    columns += ["baseline h/yr"] if what_if else []
    console.print_table(
        "Research services",
        [*columns, "contributes most (h/yr)"],
        [
            (
                s.key,
                f"{s.availability * 100:.4f} %",
                f"{s.downtime_hours:.1f}",
                f"{s.margin_hours:.1f}",
                *([f"{s.baseline_downtime_hours:.1f}"] if what_if else []),
                ", ".join(f"{c.asset} {c.hours:.1f}" for c in s.contributors[:3]),
            )
            for s in read.services
        ],
    )


@app.command("simulate")
@console.handle_errors
def simulate(
    trials: int = typer.Option(100_000, help="Monte Carlo trials (1,000 to 1,000,000)."),
    seed: int = typer.Option(1, help="Random seed; the same seed gives the same figures."),
    service_key: list[str] = typer.Option([], "--service", help="Report this asset (repeat)."),
    add_redundant: list[str] = typer.Option(
        [], "--add-redundant", help="What if ASSET had a redundant twin (repeat)."
    ),
    spare: list[str] = typer.Option(
        [], "--spare", help="What if a spare for ASSET[=PART] were kept on site (repeat)."
    ),
    repair: list[str] = typer.Option(
        [], "--repair-hours", help="What if ASSET=HOURS were its repair time (repeat)."
    ),
    json: bool = console.JSON_OPTION,
) -> None:
    """Simulate research-service availability; what-ifs are shown beside the baseline."""
    request = console.validated(
        SimulationRequest,
        trials=trials,
        seed=seed,
        services=service_key,
        add_redundant=add_redundant,
        spares=_pairs(spare, "spare"),
        repair_hours=_pairs(repair, "repair-hours"),
    )
    with console.session() as session:
        report, baseline = analysis.simulate(session, now=console.clock().now(), request=request)
    read = views.simulation_read(report, baseline, request)
    if json:
        console.print_json(read)
        return
    _print_simulation(read)
