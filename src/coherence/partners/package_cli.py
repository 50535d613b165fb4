"""`coherence package`: export a partner's share package and verify one offline."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

import typer

from coherence import console
from coherence.errors import NotFound
from coherence.incidents import service as incidents_service
from coherence.ledger import checkpoints, keys
from coherence.partners import packages

app = typer.Typer(
    help="Share packages: a partner's signed, provable view of an incident.",
    no_args_is_help=True,
)


@app.command("export")
@console.handle_errors
def export(
    ref: str = typer.Argument(..., help="Incident id or reference, e.g. INC-00042."),
    organisation: str = typer.Option(..., "--for", help="The partner organisation's key."),
    out: Path | None = typer.Option(
        None, "-o", "--out", help="File to write (default: REF-ORG.package.json here)."
    ),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Write the package ORG may receive under its agreements; ledgered as share:sent.

    Signs a fresh checkpoint first if the last one is over a second old."""
    settings = console.load_settings()
    signer = keys.ensure_signer(settings.resolved_ledger_key_file, origin=settings.ledger_origin)
    clock = console.clock()
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)
        exported = packages.export(
            session,
            clock=clock,
            incident=incident,
            organisation=organisation,
            signer_key=signer,
            actor=console.actor(as_person),
        )
        target = out or Path(exported.filename)
        # Written before the commit: the ledger never records a package that was not written.
        try:
            target.write_bytes(exported.data)
        except OSError as exc:
            raise NotFound(f"cannot write {target}: {exc.strerror}", field="out") from None
    console.out.print(
        f"wrote {target}: {exported.entries} entries ({exported.withheld} withheld) of "
        f"{exported.incident} for {exported.organisation} under "
        f"{', '.join(exported.agreements)}; sha256 {exported.sha256} (ledger entry "
        f"{exported.seq})"
    )


@app.command("verify")
@console.handle_errors
def verify(
    path: Path = typer.Argument(..., help="A package from `coherence package export`."),
    key: str = typer.Option(..., help="The log's verifier key, or a file holding it."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Check a package offline: checkpoint, every entry against its leaf and proof, signature.

    Exits 1 naming the first problem."""
    verifier = Path(key).read_text(encoding="ascii").strip() if Path(key).is_file() else key
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}", field="path") from None
    verdict = packages.verify(data, verifier)
    if json:
        console.print_json(asdict(verdict))
    elif verdict.ok:
        console.out.print(_describe(verdict))
    else:
        console.err.print(_describe(verdict))
    if not verdict.ok:
        raise typer.Exit(1)


def _describe(verdict: packages.Verdict) -> str:
    """One line for people: what verified, or the first problem."""
    if not verdict.ok:
        where = f" (entry {verdict.first_bad_seq})" if verdict.first_bad_seq is not None else ""
        return f"FAILED{where}: {verdict.problem}"
    return (
        f"OK: {verdict.incident} for {verdict.organisation} (TLP:{verdict.tlp}): "
        f"{verdict.entries} entries ({verdict.withheld} withheld) prove against the checkpoint "
        f"of {verdict.origin} at size {verdict.checkpoint_size}; the package signature verifies"
    )
