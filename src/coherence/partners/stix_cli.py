"""`coherence stix`: export a cyber incident as a STIX 2.1 bundle for a partner."""

from __future__ import annotations

from pathlib import Path

import typer

from coherence import console
from coherence.errors import NotFound
from coherence.incidents import service as incidents_service
from coherence.partners import stix_api

app = typer.Typer(
    help="STIX 2.1: cyber incidents as bundles marked with their TLP 2.0 label.",
    no_args_is_help=True,
)


@app.command("export")
@console.handle_errors
def export(
    ref: str = typer.Argument(..., help="Incident id or reference, e.g. INC-00042."),
    organisation: str = typer.Option(..., "--for", help="The recipient organisation's key."),
    out: Path | None = typer.Option(
        None, "-o", "--out", help="File to write (default: REF-ORG.stix.json here); - for stdout."
    ),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Write the bundle ORG may receive under its agreements; a partner's is ledgered as
    share:sent. Refused when no agreement covers it (404), the label is above the agreement's
    ceiling (403) or the export guard blocks it (451)."""
    clock = console.clock()
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        exported = stix_api.export(
            session,
            clock=clock,
            incident=incident,
            organisation=organisation,
            actor=console.actor(as_person),
        )
        if out is not None and str(out) == "-":
            typer.echo(exported.data.decode())
            return
        target = out or Path(exported.filename)
        # Written before the commit: the ledger never records a bundle that was not written.
        try:
            target.write_bytes(exported.data)
        except OSError as exc:
            raise NotFound(f"cannot write {target}: {exc.strerror}", field="out") from None
    shared = f"ledger entry {exported.seq}" if exported.seq is not None else "not a share"
    console.out.print(
        f"wrote {target}: {len(exported.bundle.objects)} STIX objects for {organisation}"
        + (f" under {', '.join(exported.agreements)}" if exported.agreements else "")
        + f"; sha256 {exported.sha256} ({shared})"
    )
