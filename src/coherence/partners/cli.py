"""`coherence agreement` and `coherence unified`: partner agreements and unified command."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer

from coherence import console
from coherence.documents import load_yaml_file
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.partners import service, unified, views

agreement_app = typer.Typer(
    help="Partner agreements: who shares what with whom, on what basis, until when.",
    no_args_is_help=True,
)
unified_app = typer.Typer(
    help="Unified command: joint objectives per operational period and the status summary.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")


@agreement_app.command("load")
@console.handle_errors
def load(
    path: Path = typer.Argument(..., help="An agreements YAML file.", exists=True, dir_okay=False),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Load agreements by key; any problem rejects the whole file and changes nothing."""
    with console.session() as session:
        report = service.load_agreements(
            session,
            clock=console.clock(),
            data=load_yaml_file(path),
            actor=console.actor(as_person),
            source=path.name,
        )
    console.out.print(
        f"agreements {path.name}: created {len(report.created)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}"
    )


@agreement_app.command("list")
@console.handle_errors
def list_agreements(json: bool = console.JSON_OPTION) -> None:
    """List agreements: parties, ceiling, data shared and whether each is in force today."""
    today = console.clock().now().date()
    with console.session() as session:
        rows = [views.agreement_read(a, today=today) for a in service.list_agreements(session)]
    if json:
        console.print_json([r.model_dump(mode="json") for r in rows])
        return
    console.print_table(
        "Agreements",
        ["key", "parties", "ceiling", "data", "valid", "in force"],
        [
            (
                r.key,
                ", ".join(r.parties),
                r.ceiling.value,
                ", ".join(c.value for c in r.data_categories),
                f"{r.valid_from} to {r.valid_until}",
                "yes" if r.in_force else "NO",
            )
            for r in rows
        ],
    )


@agreement_app.command("show")
@console.handle_errors
def show(key: str = typer.Argument(..., help="Agreement key.")) -> None:
    """Show one agreement in full, as JSON."""
    today = console.clock().now().date()
    with console.session() as session:
        row = views.agreement_read(service.get_agreement_or_raise(session, key), today=today)
    console.print_json(row.model_dump(mode="json"))


@agreement_app.command("check")
@console.handle_errors
def check(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Who an incident is shared with under agreements in force, and what the export guard says."""
    now = console.clock().now()
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        found = views.partner_views(session, incident, now=now)
    if json:
        console.print_json([v.model_dump(mode="json") for v in found])
        return
    if not found:
        console.out.print("no agreement in force shares this incident")
        return
    for view in found:
        sees = "sees it" if view.sees_incident else f"does not see it: {view.why_not}"
        console.out.print(
            f"{view.organisation} ({', '.join(view.agreements)}; ceiling TLP:{view.ceiling.value};"
            f" data: {', '.join(c.value for c in view.data_categories)}) — {sees}"
        )
        for finding in view.export_findings:
            state = "overridden" if view.overridden else "BLOCKS a share"
            console.out.print(f"  export guard ({state}): {finding}")


@unified_app.command("objectives")
@console.handle_errors
def objectives(
    ref: str = REF,
    objective: list[str] = typer.Option(..., help="A joint objective (repeat)."),
    hours: float = typer.Option(12, help="Length of the operational period, in hours."),
    starts: datetime | None = typer.Option(None, help="Start (UTC); default now."),
    organisation: list[str] = typer.Option([], help="Organisation under unified command (repeat)."),
    safety: str = typer.Option("", help="Safety message for the period."),
    number: int | None = typer.Option(None, help="Period number to replace; default the next."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Set the joint objectives of an operational period (in the spirit of ICS 202)."""
    if not 0 < hours <= 24 * 7:
        raise ValidationFailed("hours must be more than 0 and at most 168", field="hours")
    begin = (starts.replace(tzinfo=UTC) if starts and starts.tzinfo is None else starts) or (
        console.clock().now()
    )
    with console.session() as session:
        row = unified.set_period(
            session,
            clock=console.clock(),
            incident=incidents_service.get_or_raise(session, ref),
            number=number,
            starts_at=begin,
            ends_at=begin + timedelta(hours=hours),
            objectives=objective,
            organisations=organisation,
            safety_message=safety,
            actor=console.actor(as_person),
        )
        console.out.print(
            f"period {row.number}: {len(row.objectives)} objective(s) until "
            f"{row.ends_at:%Y-%m-%d %H:%M} UTC; organisations: {', '.join(row.organisations)}"
        )


@unified_app.command("periods")
@console.handle_errors
def periods(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """List an incident's operational periods and their objectives."""
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        rows = [views.period_read(p) for p in unified.periods(session, incident.id)]
    if json:
        console.print_json([r.model_dump(mode="json") for r in rows])
        return
    for row in rows:
        console.out.print(
            f"Period {row.number}: {row.starts_at:%Y-%m-%d %H:%M} to {row.ends_at:%Y-%m-%d %H:%M}"
            f" UTC ({', '.join(row.organisations)})"
        )
        for n, text in enumerate(row.objectives, start=1):
            console.out.print(f"  {n}. {text}")


@unified_app.command("summary")
@console.handle_errors
def summary(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Print the status summary (in the spirit of ICS 209) as Markdown, or JSON."""
    now = console.clock().now()
    with console.session() as session:
        found = unified.status_summary(session, incidents_service.get_or_raise(session, ref), now)
    if json:
        console.print_json(found)
        return
    console.out.print(unified.summary_markdown(found))
