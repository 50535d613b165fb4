"""`coherence evidence`: collect items, move them through custody, read and verify them."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import typer

from coherence import console
from coherence.access.domain import DataCategory, Tlp
from coherence.errors import NotFound
from coherence.evidence import service
from coherence.evidence.domain import CustodyAction
from coherence.evidence.store import LocalStore
from coherence.ledger import service as ledger_service

app = typer.Typer(
    help="Evidence with a chain of custody: collect, transfer, seal, release, destroy, verify.",
    no_args_is_help=True,
)
REASON = typer.Option(..., help="Why; recorded in the ledger.")
ITEM = typer.Argument(..., help="Evidence item id.")


def _store() -> LocalStore:
    return LocalStore(console.load_settings().resolved_evidence_dir)


@app.command("collect")
@console.handle_errors
def collect(
    path: Path = typer.Argument(..., help="File to register as evidence."),
    tlp: Tlp = typer.Option(..., help="Sharing label: CLEAR, GREEN, AMBER, AMBER+STRICT, RED."),
    category: DataCategory = typer.Option(DataCategory.OPERATIONAL, help="Kind of data."),
    name: str | None = typer.Option(None, help="Name; default the file's name."),
    incident: str | None = typer.Option(None, help="Incident it belongs to."),
    asset: str | None = typer.Option(None, help="Asset it was taken from."),
    description: str = typer.Option("", help="What it is and how it was taken."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Store a file by its SHA-256 and register it; you become its custodian."""
    settings = console.load_settings()
    if not path.is_file():
        raise NotFound(f"no such file: {path}", field="path")
    with console.session() as session, path.open("rb") as content:
        item = service.collect(
            session,
            clock=console.clock(),
            store=LocalStore(settings.resolved_evidence_dir),
            content=content,
            name=name or path.name,
            actor=console.actor(as_person),
            tlp=tlp,
            category=category,
            incident=incident,
            asset=asset,
            description=description,
            max_bytes=settings.max_evidence_bytes,
        )
        console.out.print(
            f"evidence #{item.id}: {item.name} sha256 {item.sha256} ({item.size:,} B)"
        )


@app.command("list")
@console.handle_errors
def list_items(json: bool = console.JSON_OPTION) -> None:
    """Every item: hash, labels, custodian and state."""
    with console.session() as session:
        rows: list[dict[str, Any]] = [
            {
                "id": i.id,
                "name": i.name,
                "sha256": i.sha256,
                "size": i.size,
                "tlp": i.tlp,
                "category": i.category,
                "custodian": i.custodian,
                "state": i.state,
                "incident_id": i.incident_id,
            }
            for i in service.list_items(session)
        ]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Evidence",
        ["id", "name", "sha256", "TLP", "category", "custodian", "state"],
        [
            (
                r["id"],
                r["name"],
                r["sha256"][:16],
                r["tlp"],
                r["category"],
                r["custodian"],
                r["state"],
            )
            for r in rows
        ],
    )


@app.command("report")
@console.handle_errors
def report(item_id: int = ITEM, json: bool = console.JSON_OPTION) -> None:
    """The custody report: the item and every custody event, from the ledger."""
    with console.session() as session:
        item = service.get_or_raise(session, item_id)
        trail: list[dict[str, Any]] = [
            {
                "seq": e.seq,
                "at": e.recorded_at,
                "event": e.entry_type.removeprefix("evidence:"),
                "by": e.actor,
                "details": ledger_service.payload_of(e),
            }
            for e in service.custody_trail(session, item_id)
        ]
        header = (
            f"evidence #{item.id} {item.name}: sha256 {item.sha256}, {item.size:,} B, "
            f"TLP:{item.tlp}, {item.category}, held by {item.custodian} ({item.state})"
        )
    if json:
        console.print_json({"item": header, "custody": trail})
        return
    console.out.print(header)
    console.print_table(
        "Custody",
        ["ledger seq", "at (UTC)", "event", "by", "reason / to"],
        [
            (
                t["seq"],
                t["at"],
                t["event"],
                t["by"],
                t["details"].get("to") or t["details"].get("reason", ""),
            )
            for t in trail
        ],
    )


def _custody(
    action: CustodyAction, item_id: int, reason: str, as_person: str | None, to: str | None = None
) -> None:
    with console.session() as session:
        item = service.custody(
            session,
            clock=console.clock(),
            item_id=item_id,
            action=action,
            actor=console.actor(as_person),
            reason=reason,
            to_person=to,
            store=_store(),
        )
        console.out.print(f"evidence #{item.id}: {action.value}; held by {item.custodian}")


@app.command("transfer")
@console.handle_errors
def transfer(
    item_id: int = ITEM,
    to: str = typer.Option(..., help="Person taking custody."),
    reason: str = REASON,
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Hand custody to another person."""
    _custody(CustodyAction.TRANSFERRED, item_id, reason, as_person, to)


@app.command("seal")
@console.handle_errors
def seal(
    item_id: int = ITEM, reason: str = REASON, as_person: str | None = console.AS_OPTION
) -> None:
    """Seal an item: nobody may read it until it is released."""
    _custody(CustodyAction.SEALED, item_id, reason, as_person)


@app.command("release")
@console.handle_errors
def release(
    item_id: int = ITEM, reason: str = REASON, as_person: str | None = console.AS_OPTION
) -> None:
    """Release a sealed item."""
    _custody(CustodyAction.RELEASED, item_id, reason, as_person)


@app.command("destroy")
@console.handle_errors
def destroy(
    item_id: int = ITEM, reason: str = REASON, as_person: str | None = console.AS_OPTION
) -> None:
    """Destroy an item's content; its record and custody trail stay."""
    _custody(CustodyAction.DESTROYED, item_id, reason, as_person)


@app.command("get")
@console.handle_errors
def get(
    item_id: int = ITEM,
    out: Path = typer.Option(..., help="Where to write the content."),
    reason: str = REASON,
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Copy an item's content out; the access is recorded in the ledger."""
    with console.session() as session:
        item, content = service.read(
            session,
            clock=console.clock(),
            store=_store(),
            item_id=item_id,
            actor=console.actor(as_person),
            reason=reason,
        )
        with content, out.open("wb") as target:
            shutil.copyfileobj(content, target)
    console.out.print(f"wrote {out} ({item.size:,} B, sha256 {item.sha256})")


@app.command("verify")
@console.handle_errors
def verify(json: bool = console.JSON_OPTION) -> None:
    """Re-hash every item's stored content against the hash the ledger recorded."""
    with console.session() as session:
        problems = service.verify(session, _store())
        purged = [(i.id, i.purged_at) for i in service.purged_items(session)]
        count = len(service.list_items(session)) - len(purged)
    if json:
        console.print_json(problems)
    else:
        for item_id, when in purged:
            console.out.print(f"evidence #{item_id}: purged under retention on {when:%Y-%m-%d}")
        for p in problems:
            console.err.print(f"evidence #{p.item_id}: {p.problem}")
        if not problems:
            console.out.print(f"OK: {count} items match the hashes in the ledger")
    if problems:
        raise typer.Exit(1)
