"""`coherence watch`: access histories, unusual reading found, and a sweep on demand."""

from __future__ import annotations

import typer

from coherence import console
from coherence.access.domain import Tlp
from coherence.watch import service as watch_service
from coherence.watch import views as watch_views

app = typer.Typer(
    help="Watchful access: who read incident data, and unusual reading.", no_args_is_help=True
)
LIMIT = typer.Option(200, min=1, max=5000, help="At most this many, newest first.")


@app.command("history")
@console.handle_errors
def history(
    ref: str = typer.Argument(..., help="Incident reference, e.g. INC-0001."),
    tlp: Tlp | None = typer.Option(None, help="Only reads decided under this label."),
    limit: int = LIMIT,
    json: bool = console.JSON_OPTION,
) -> None:
    """Who read an incident's data and when, and every read that had fields redacted."""
    with console.session() as session:
        incident, found = watch_service.history(session, ref=ref, tlp=tlp, limit=limit)
        read = watch_views.access_history(incident, found)
    if json:
        console.print_json(read)
        return
    console.print_table(
        f"Reads of {read.incident} (TLP:{read.tlp})",
        ["at", "person", "organisation", "TLP", "what"],
        [(r.at, r.person, r.organisation, r.tlp, r.path) for r in read.reads],
    )
    console.print_table(
        "Reads with fields redacted",
        ["at", "reader", "what", "categories", "fields"],
        [(r.at, r.reader, r.what, ", ".join(r.categories), r.fields) for r in read.redactions],
    )


@app.command("findings")
@console.handle_errors
def findings(limit: int = LIMIT, json: bool = console.JSON_OPTION) -> None:
    """Unusual reading of incident data raised as security signals, newest first."""
    with console.session() as session:
        rows = [
            watch_views.finding_read(f) for f in watch_service.list_findings(session, limit=limit)
        ]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Unusual access",
        ["raised", "person", "rule", "incident", "detail"],
        [(f.raised_at, f.person, f.rule, f.incident, f.detail) for f in rows],
    )


@app.command("run")
@console.handle_errors
def run() -> None:
    """Sweep recent reads now (the workers do it every minute) and raise what is unusual."""
    with console.session() as session:
        raised = watch_service.sweep(session, clock=console.clock())
        lines = [f"{f.person}: {f.rule} ({f.detail})" for f in raised or ()]
    if raised is None:
        console.out.print(
            "another process is sweeping right now; see `coherence watch findings` for its result"
        )
        return
    console.out.print(f"unusual access raised: {len(lines)}")
    for line in lines:
        console.out.print(f"  {line}")
