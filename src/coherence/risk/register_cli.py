"""`coherence risk register`: list, show, add, update and load risks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from coherence import console
from coherence.documents import load_yaml_file
from coherence.risk import service, views
from coherence.risk.domain import Status
from coherence.risk.schemas import RiskRead, RiskSpec, RiskUpdate

register_app = typer.Typer(help="The risk register.", no_args_is_help=True)

KEY = typer.Argument(..., help="The risk key, e.g. fridge-1-warm-up.")


def _print_risks(rows: list[RiskRead], json: bool) -> None:
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Risk register",
        ["key", "status", "likelihood", "impact", "severity", "owner", "review", "scenario"],
        [
            (
                r.key,
                r.status,
                f"{r.effective_likelihood} (recorded {r.likelihood})"
                if r.raised_by
                else r.likelihood,
                r.impact,
                f"{r.band} {r.score}",
                r.owner,
                f"{r.review_date}{' OVERDUE' if r.review_overdue else ''}",
                r.scenario,
            )
            for r in rows
        ],
    )
    for r in rows:
        for reason in r.raised_by:
            console.out.print(f"{r.key}: likelihood raised by {reason}")


@register_app.command("list")
@console.handle_errors
def list_risks(
    status: Status | None = typer.Option(None, help="Only risks with this status."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List the register with likelihoods as raised by advisories in force, and why."""
    clock = console.clock()
    with console.session() as session:
        found = service.list_risks(session, status=status.value if status else None)
        rows = views.risk_reads(session, found, now=clock.now())
    _print_risks(rows, json)


@register_app.command("show")
@console.handle_errors
def show(key: str = KEY, json: bool = console.JSON_OPTION) -> None:
    """Show one risk."""
    with console.session() as session:
        row = service.get_risk_or_raise(session, key)
        read = views.risk_reads(session, [row], now=console.clock().now())
    _print_risks(read, json)


@register_app.command("add")
@console.handle_errors
def add(
    key: str = KEY,
    scenario: str = typer.Option(..., help="What could happen."),
    asset: list[str] = typer.Option(..., "--asset", help="An asset it threatens (repeat)."),
    likelihood: int = typer.Option(..., help="1 rare ... 5 almost certain."),
    impact: int = typer.Option(..., help="1 negligible ... 5 severe."),
    owner: str = typer.Option(..., help="Person key of the owner."),
    review_date: str = typer.Option(..., help="Next review, YYYY-MM-DD."),
    control: list[str] = typer.Option([], "--control", help="A control in place (repeat)."),
    category: str | None = typer.Option(None, help="Incident category to learn from."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Add a risk to the register."""
    spec = console.validated(
        RiskSpec,
        key=key,
        scenario=scenario,
        assets=asset,
        likelihood=likelihood,
        impact=impact,
        owner=owner,
        review_date=review_date,
        controls=control,
        category=category,
    )
    clock = console.clock()
    with console.session() as session:
        row = service.add_risk(session, clock=clock, spec=spec, actor=console.actor(as_person))
        read = views.risk_reads(session, [row], now=clock.now())
    _print_risks(read, json)


@register_app.command("update")
@console.handle_errors
def update(
    key: str = KEY,
    scenario: str | None = typer.Option(None),
    asset: list[str] = typer.Option([], "--asset", help="Replace the assets (repeat)."),
    likelihood: int | None = typer.Option(None),
    impact: int | None = typer.Option(None),
    owner: str | None = typer.Option(None),
    review_date: str | None = typer.Option(None, help="YYYY-MM-DD."),
    control: list[str] = typer.Option([], "--control", help="Replace the controls (repeat)."),
    category: str | None = typer.Option(None),
    status: str | None = typer.Option(None, help="open, treated, accepted or closed."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Change some fields of a risk; each change is ledgered."""
    given: dict[str, Any] = {
        "scenario": scenario,
        "assets": asset or None,
        "likelihood": likelihood,
        "impact": impact,
        "owner": owner,
        "review_date": review_date,
        "controls": control or None,
        "category": category,
        "status": status,
    }
    changes = console.validated(RiskUpdate, **{k: v for k, v in given.items() if v is not None})
    clock = console.clock()
    with console.session() as session:
        row = service.update_risk(
            session, clock=clock, key=key, changes=changes, actor=console.actor(as_person)
        )
        read = views.risk_reads(session, [row], now=clock.now())
    _print_risks(read, json)


@register_app.command("load")
@console.handle_errors
def load(
    path: Path = typer.Argument(..., help="A risks YAML file.", exists=True, dir_okay=False),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Add or update risks by key from a file; any problem changes nothing."""
    with console.session() as session:
        result = service.load_register(
            session,
            clock=console.clock(),
            data=load_yaml_file(path),
            actor=console.actor(as_person),
            source=path.name,
        )
    console.out.print(
        f"risks {path.name}: created {len(result.created)}, updated {len(result.updated)}, "
        f"unchanged {len(result.unchanged)}"
    )
