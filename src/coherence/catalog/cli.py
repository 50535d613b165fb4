"""`coherence facility`: load a facility file and look at what is in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import typer

from coherence import console
from coherence.catalog import service, views
from coherence.catalog.domain import IcsRole
from coherence.documents import load_yaml_file

app = typer.Typer(
    help="Load the facility (sites, assets, people, rotations) and inspect it.",
    no_args_is_help=True,
)


@app.command("load")
@console.handle_errors
def load(
    file: Path = typer.Argument(..., help="Facility YAML file."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Load a whole facility idempotently; an invalid file is rejected whole, every error listed."""
    data = load_yaml_file(file)
    with console.session() as session:
        report = service.load_facility(
            session,
            clock=console.clock(),
            data=data,
            actor=console.actor(as_person),
            source=file.name,
        )
    if json:
        console.print_json(report)
        return
    rows = [
        (kind, report.created[kind], report.updated[kind], report.unchanged[kind])
        for kind in report.created
    ]
    console.print_table(f"Loaded {file}", ["kind", "created", "updated", "unchanged"], rows)


@app.command("assets")
@console.handle_errors
def assets(
    site: str | None = typer.Option(None, help="Only this site."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List assets with their kind, site, criticality and dependencies."""
    with console.session() as session:
        items = [views.asset_read(a) for a in service.list_assets(session, site_key=site)]
    if json:
        console.print_json(items)
        return
    console.print_table(
        "Assets",
        ["key", "name", "kind", "site", "criticality", "depends on"],
        [
            (
                a.key,
                a.name,
                a.kind,
                a.site,
                a.criticality,
                "; ".join(f"{d.needs} of {', '.join(d.assets)}" for d in a.depends_on),
            )
            for a in items
        ],
    )


@app.command("people")
@console.handle_errors
def people(json: bool = console.JSON_OPTION) -> None:
    """List people, their organisation and the ICS roles they can fill."""
    with console.session() as session:
        items = [views.person_read(p) for p in service.list_people(session)]
    if json:
        console.print_json(items)
        return
    console.print_table(
        "People",
        ["key", "name", "organisation", "roles"],
        [(p.key, p.name, p.organisation, ", ".join(p.roles)) for p in items],
    )


@app.command("oncall")
@console.handle_errors
def oncall(
    site: str = typer.Argument(..., help="Site key."),
    at: datetime | None = typer.Option(None, help="Moment to ask about (UTC); default now."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show who is on call for every incident role at a site."""
    when = (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC) if at else None
    with console.session() as session:
        site_row = service.get_site_or_raise(session, site)
        when = when or console.clock().now()
        rows = []
        for role in IcsRole:
            found = service.on_call_with_rotation(session, site=site_row, role=role, at=when)
            rows.append(
                {
                    "role": role.value,
                    "person": found[0].key if found else None,
                    "name": found[0].name if found else None,
                    "rotation": found[1].key if found else None,
                }
            )
    if json:
        console.print_json(rows)
        return
    console.print_table(
        f"On call at {site} ({when:%Y-%m-%d %H:%M} UTC)",
        ["role", "person", "name", "rotation"],
        [(r["role"], r["person"], r["name"], r["rotation"]) for r in rows],
    )
