"""`coherence playbook`: list, show, validate and publish playbooks."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.text import Text

from coherence import console
from coherence.documents import load_yaml_file
from coherence.playbooks import service, views
from coherence.playbooks.domain import glossary, standard_scheme

app = typer.Typer(help="Versioned playbooks and the classification scheme.", no_args_is_help=True)


@app.command("list")
@console.handle_errors
def list_playbooks(json: bool = console.JSON_OPTION) -> None:
    """List the newest version of every playbook."""
    with console.session() as session:
        items = [views.summary(row) for row in service.list_latest(session)]
    if json:
        console.print_json(items)
        return
    console.print_table(
        "Playbooks",
        ["key", "version", "category", "steps", "title"],
        [(p.key, p.version, p.category, p.steps, p.title) for p in items],
    )


@app.command("show")
@console.handle_errors
def show(
    key: str = typer.Argument(..., help="Playbook key."),
    version: int | None = typer.Option(None, help="A particular version; default newest."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show a playbook: triggers, notifications and timed steps."""
    with console.session() as session:
        row = (
            service.get_version_or_raise(session, key, version)
            if version
            else service.get_latest_or_raise(session, key)
        )
        playbook = views.full(row)
    if json:
        console.print_json(playbook)
        return
    doc = playbook.document
    console.out.print(
        Text(doc["title"], style="bold")
        + Text(
            f" ({playbook.key} v{playbook.version}, {doc['category']}, "
            f"applies to {', '.join(doc['applies_to'])})"
        )
    )
    console.out.print(doc["summary"])
    if doc.get("triggers"):
        console.print_table(
            "Triggers",
            ["key", "kind", "metric", "condition", "hold/window"],
            [
                (
                    t["key"],
                    t["kind"],
                    t["metric"],
                    f"{t.get('operator', 'in')} {t.get('value', t.get('values'))}",
                    f"{t.get('hold_seconds', t.get('window_seconds', 0)):g}s",
                )
                for t in doc["triggers"]
            ],
        )
    console.print_table(
        "Steps",
        ["due", "owner", "step", "hazard", "change record"],
        [
            (
                f"+{s['due_minutes']:g} min",
                s["owner_role"],
                s["title"],
                s.get("hazard") or "",
                "yes" if s["requires_change_record"] else "",
            )
            for s in doc["steps"]
        ],
    )
    if doc.get("notify"):
        console.print_table(
            "Notify",
            ["who", "within", "from severity"],
            [
                (
                    n.get("role") or n.get("organisation_kind"),
                    f"{n['within_minutes']:g} min",
                    n.get("min_severity") or "any",
                )
                for n in doc["notify"]
            ],
        )


@app.command("validate")
@console.handle_errors
def validate(file: Path = typer.Argument(..., help="Playbook YAML file.")) -> None:
    """Check a playbook file against the schema and classification scheme; stores nothing."""
    doc = service.validate(load_yaml_file(file), source=str(file))
    console.out.print(
        f"{file}: valid playbook {doc.key!r} with {len(doc.triggers)} trigger(s) "
        f"and {len(doc.steps)} step(s)"
    )


@app.command("publish")
@console.handle_errors
def publish(
    file: Path = typer.Argument(..., help="Playbook YAML file."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Store a playbook file as the next version of its playbook (unchanged files are skipped)."""
    data = load_yaml_file(file)
    with console.session() as session:
        row, created = service.publish(
            session,
            clock=console.clock(),
            data=data,
            actor=console.actor(as_person),
            source=file.name,
        )
        key, version = row.key, row.version
    state = "published as" if created else "unchanged; still"
    console.out.print(f"{key}: {state} version {version}")


@app.command("history")
@console.handle_errors
def history(key: str = typer.Argument(...), json: bool = console.JSON_OPTION) -> None:
    """List every version of a playbook."""
    with console.session() as session:
        service.get_latest_or_raise(session, key)
        items = [views.summary(row) for row in service.history(session, key)]
    if json:
        console.print_json(items)
        return
    console.print_table(
        f"History of {key}",
        ["version", "published", "steps", "title"],
        [(p.version, p.published_at, p.steps, p.title) for p in items],
    )


@app.command("classes")
def classes(json: bool = console.JSON_OPTION) -> None:
    """Show the classification scheme: categories, severities and the impact x urgency matrix."""
    scheme = standard_scheme()
    if json:
        console.print_json(
            {
                "categories": [
                    {"key": c.key, "name": c.name, "checklist": list(c.checklist)}
                    for c in scheme.categories.values()
                ],
                "severities": [
                    {"key": s.key, "name": s.name, "criteria": s.criteria}
                    for s in scheme.severities.values()
                ],
                "matrix": {f"{i}/{u}": s for (i, u), s in scheme.matrix.items()},
            }
        )
        return
    console.print_table(
        "Categories",
        ["key", "name", "description"],
        [(c.key, c.name, c.description) for c in scheme.categories.values()],
    )
    console.print_table(
        "Severities",
        ["key", "name", "criteria"],
        [(s.key, s.name, s.criteria) for s in scheme.severities.values()],
    )
    urgencies = list(scheme.urgencies)
    console.print_table(
        "Severity = impact x urgency",
        ["impact", *urgencies],
        [(i, *(scheme.matrix[(i, u)] for u in urgencies)) for i in scheme.impacts],
    )


@app.command("glossary")
def show_glossary(
    term: str | None = typer.Argument(None, help="Only terms containing this text."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show the shared glossary: precise and plain-language definitions."""
    terms = [t for t in glossary() if term is None or term.lower() in t[0].lower()]
    if json:
        console.print_json([{"term": t, "definition": d, "plain": p} for t, d, p in terms])
        return
    console.print_table("Glossary", ["term", "definition", "in plain words"], terms)
