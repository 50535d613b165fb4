"""`coherence ledger`: read the append-only record."""

from __future__ import annotations

import typer

from coherence import console
from coherence.incidents import service as incidents_service
from coherence.ledger import service

app = typer.Typer(help="Read the append-only ledger of every state change.", no_args_is_help=True)


@app.command("list")
@console.handle_errors
def list_entries(
    incident: str | None = typer.Option(None, help="Only entries about this incident."),
    after: int = typer.Option(-1, min=-1, help="Only entries with a larger sequence number."),
    limit: int = typer.Option(100, min=1, max=10_000, help="At most this many entries."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List ledger entries in sequence order; page with --after set to the last seq seen."""
    with console.session() as session:
        incident_id = incidents_service.get_or_raise(session, incident).id if incident else None
        entries = [
            {
                "seq": e.seq,
                "type": e.entry_type,
                "recorded_at": e.recorded_at,
                "actor": e.actor,
                "subject": e.subject,
                "payload": service.payload_of(e),
            }
            for e in service.list_entries(
                session, incident_id=incident_id, after_seq=after, limit=limit
            )
        ]
    if json:
        console.print_json(entries)
        return
    console.print_table(
        "Ledger",
        ["seq", "recorded (UTC)", "type", "actor", "subject"],
        [(e["seq"], e["recorded_at"], e["type"], e["actor"], e["subject"]) for e in entries],
    )
