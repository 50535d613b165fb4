"""`coherence ledger`: read the record, its checkpoints and proofs; export and verify bundles."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from coherence import console
from coherence.errors import NotFound
from coherence.incidents import service as incidents_service
from coherence.ledger import bundle, checkpoints, keys, note, service, tree

app = typer.Typer(
    help="Read the append-only ledger, prove entries, export and verify bundles.",
    no_args_is_help=True,
)


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
                "purged_at": e.purged_at,
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


@app.command("key")
@console.handle_errors
def show_key() -> None:
    """Print the verifier key that checks this ledger's checkpoints (safe to publish)."""
    settings = console.load_settings()
    console.out.print(note.verifier_for(keys.load_signer(settings.resolved_ledger_key_file)))


@app.command("checkpoint")
@console.handle_errors
def show_checkpoint() -> None:
    """Print the latest signed checkpoint (a C2SP signed note)."""
    with console.session() as session:
        text = checkpoints.latest_or_raise(session).note
    sys.stdout.write(text)


@app.command("prove")
@console.handle_errors
def prove(
    seq: int = typer.Argument(..., min=0, help="The entry to prove."),
    size: int | None = typer.Option(None, min=1, help="Tree size; default the latest checkpoint."),
) -> None:
    """Print an inclusion proof (JSON) that entry SEQ is in the tree."""
    with console.session() as session:
        tree_size = size if size is not None else checkpoints.latest_or_raise(session).size
        proof = {
            "seq": seq,
            "size": tree_size,
            "leaf": checkpoints.encoded(tree.reader(session)(0, seq)) if seq < tree_size else "",
            "root": checkpoints.encoded(tree.root_at(session, tree_size)),
            "proof": [checkpoints.encoded(h) for h in tree.inclusion(session, seq, tree_size)],
        }
    console.print_json(proof)


@app.command("consistency")
@console.handle_errors
def consistency(
    old: int = typer.Argument(..., min=0, help="The older tree size."),
    new: int = typer.Argument(..., min=0, help="The newer tree size."),
) -> None:
    """Print a consistency proof (JSON) that the tree of NEW entries extends that of OLD."""
    with console.session() as session:
        proof = {
            "from": old,
            "to": new,
            "from_root": checkpoints.encoded(tree.root_at(session, old)),
            "to_root": checkpoints.encoded(tree.root_at(session, new)),
            "proof": [checkpoints.encoded(h) for h in tree.consistency(session, old, new)],
        }
    console.print_json(proof)


@app.command("export")
@console.handle_errors
def export(
    out: Path = typer.Argument(..., help="File to write the bundle to."),
    first: int = typer.Option(0, "--from", min=0, help="The first entry in the bundle."),
) -> None:
    """Write entries from --from to the latest checkpoint, with its checkpoints, as a bundle."""
    with console.session() as session:
        data = service.export_bundle(session, first=first)
    out.write_bytes(data)
    console.out.print(f"wrote {out} ({len(data):,} bytes)")


@app.command("verify")
@console.handle_errors
def verify(
    path: Path = typer.Argument(..., help="A bundle from `coherence ledger export`."),
    key: str = typer.Option(..., help="The log's verifier key, or a file holding it."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Check a bundle offline: signatures, order, every entry's hash and the signed roots.

    Entries purged under retention are checked by their recorded leaf, and must each be named
    by a later retention:purged entry."""
    verifier = Path(key).read_text(encoding="ascii").strip() if Path(key).is_file() else key
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}", field="path") from None
    verdict = bundle.verify(data, verifier)
    if json:
        console.print_json(verdict)
    elif verdict.ok:
        console.out.print(
            f"OK: {verdict.entries_checked} entries from {verdict.first} and "
            f"{verdict.checkpoints_checked} checkpoints of {verdict.origin} verify "
            f"(size {verdict.size})"
        )
        if verdict.entries_purged:
            console.out.print(
                f"{verdict.entries_purged} entries purged under retention, each named by a "
                f"retention:purged entry (content gone, leaf as recorded): {verdict.purged}"
            )
    else:
        where = (
            f" (first bad entry: {verdict.first_bad_seq})"
            if verdict.first_bad_seq is not None
            else ""
        )
        console.err.print(f"FAILED{where}: {verdict.problem}")
    if not verdict.ok:
        raise typer.Exit(1)
