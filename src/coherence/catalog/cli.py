"""`coherence facility`: load a facility file and look at what is in it."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    """Show who is on call for every incident role at a site, until when, and any cover."""
    when = _utc(at) if at else None
    with console.session() as session:
        site_row = service.get_site_or_raise(session, site)
        when = when or console.clock().now()
        rows: list[dict[str, Any]] = []
        for role in IcsRole:
            found = service.on_call_detail(session, site=site_row, role=role, at=when)
            rows.append(
                {
                    "role": role.value,
                    "person": found.person.key if found else None,
                    "name": found.person.name if found else None,
                    "rotation": found.rotation.key if found else None,
                    "until": found.until if found else None,
                    "covering": bool(found and found.override),
                }
            )
    if json:
        console.print_json(rows)
        return
    console.print_table(
        f"On call at {site} ({when:%Y-%m-%d %H:%M} UTC)",
        ["role", "person", "name", "rotation", "hands over (UTC)", "cover"],
        [
            (
                r["role"],
                r["person"],
                r["name"],
                r["rotation"],
                r["until"],
                "yes" if r["covering"] else "",
            )
            for r in rows
        ],
    )


def _utc(at: datetime) -> datetime:
    return (at if at.tzinfo else at.replace(tzinfo=UTC)).astimezone(UTC)


override_app = typer.Typer(
    help="Put someone on call in place of a rotation's turn for a while.", no_args_is_help=True
)
app.add_typer(override_app, name="override")


@override_app.command("add")
@console.handle_errors
def add_override(
    rotation: str = typer.Argument(..., help="Rotation key."),
    person: str = typer.Argument(..., help="Who covers; they must have the rotation's role."),
    start: datetime = typer.Option(..., "--from", help="When the cover starts (UTC)."),
    until: datetime = typer.Option(..., help="When it ends (UTC); at most 31 days later."),
    reason: str = typer.Option(..., help="Why, e.g. who is away."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Cover a rotation: pages and escalations go to PERSON in that window."""
    with console.session() as session:
        row = views.override_read(
            service.add_override(
                session,
                clock=console.clock(),
                rotation_key=rotation,
                person_key=person,
                starts_at=_utc(start),
                ends_at=_utc(until),
                reason=console.validated_text(reason, "reason", max_length=2000),
                actor=console.actor(as_person),
            )
        )
    if json:
        console.print_json(row)
        return
    console.out.print(
        f"override #{row.id}: {row.person} covers {row.rotation} "
        f"from {row.starts_at:%Y-%m-%d %H:%M} until {row.ends_at:%Y-%m-%d %H:%M} UTC"
    )


@override_app.command("list")
@console.handle_errors
def list_overrides(json: bool = console.JSON_OPTION) -> None:
    """Overrides running now or to come."""
    with console.session() as session:
        now = console.clock().now()
        rows = [views.override_read(o) for o in service.list_overrides(session, now=now)]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "On-call overrides",
        ["id", "rotation", "person", "from (UTC)", "until (UTC)", "reason", "by"],
        [
            (r.id, r.rotation, r.person, r.starts_at, r.ends_at, r.reason, r.created_by)
            for r in rows
        ],
    )


@override_app.command("cancel")
@console.handle_errors
def cancel_override(
    override_id: int = typer.Argument(..., help="Override id (see `override list`)."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Cancel an override; the rotation's own turn applies again."""
    with console.session() as session:
        service.cancel_override(
            session, clock=console.clock(), override_id=override_id, actor=console.actor(as_person)
        )
    console.out.print(f"override #{override_id} cancelled")
