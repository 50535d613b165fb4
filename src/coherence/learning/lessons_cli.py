"""`coherence lessons` and `coherence readiness-summary`: the library, sharing, summaries."""

from __future__ import annotations

from pathlib import Path

import typer

from coherence import console
from coherence.access.domain import DataCategory, Tlp
from coherence.errors import NotFound
from coherence.learning import lessons, sharing, summary, views
from coherence.learning.schemas import LessonCreate, LessonRead
from coherence.ledger import checkpoints, keys

app = typer.Typer(
    help="The lessons library: publish findings, search, share with partners, import theirs.",
    no_args_is_help=True,
)
summary_app = typer.Typer(
    help="Partner readiness summaries: top risks, role coverage, latest exercises.",
    no_args_is_help=True,
)
EVERY_CATEGORY = frozenset(DataCategory)
OUT = typer.Option(None, "-o", "--out", help="File to write (default: a name in this folder).")
FOR = typer.Option(..., "--for", help="The partner organisation's key.")


def _print(read: LessonRead) -> None:
    where = " · ".join(x for x in (read.category, read.asset_kind, read.playbook) if x)
    origin = (
        f" (from {read.origin_organisation} {read.origin_reference})"
        if read.origin_reference
        else ""
    )
    console.out.print(f"{read.reference} [TLP:{read.tlp}] {read.title} — {where}{origin}")
    console.out.print(f"  {read.summary}")
    console.out.print(f"  lesson: {read.lesson}")


def _write(path: Path, data: bytes) -> None:
    # Written before the commit: the ledger never records a file that was not written.
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise NotFound(f"cannot write {path}: {exc.strerror}", field="out") from None


def _signer() -> str:
    settings = console.load_settings()
    return keys.ensure_signer(settings.resolved_ledger_key_file, origin=settings.ledger_origin)


@app.command("list")
@console.handle_errors
def list_lessons(
    asset_kind: str | None = typer.Option(None, help="Only this asset kind."),
    category: str | None = typer.Option(None, help="Only this category."),
    playbook: str | None = typer.Option(None, help="Only lessons about this playbook."),
    q: str | None = typer.Option(None, "--q", help="Words in the title or text."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Search the lessons library, newest first."""
    with console.session() as session:
        rows = lessons.search(
            session, asset_kind=asset_kind, category=category, playbook=playbook, text=q
        )
        reads = [views.lesson_read(r, EVERY_CATEGORY) for r in rows]
    if json:
        console.print_json(reads)
        return
    if not reads:
        console.out.print("no lessons match")
    for read in reads:
        _print(read)


@app.command("publish")
@console.handle_errors
def publish(
    finding: str = typer.Argument(..., help="The finding, e.g. INC-00042/F1 or NM-00003/F1."),
    lesson: str = typer.Option(..., help="What to do differently."),
    title: str | None = typer.Option(None, help="Title; default: the finding's."),
    tlp: Tlp | None = typer.Option(None, help="Label; default: the incident's or near miss's."),
    data_category: DataCategory = typer.Option(DataCategory.OPERATIONAL, help="Data category."),
    playbook: str | None = typer.Option(None, help="The playbook it is about."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Publish a finding as a lesson, with people's names, keys and contacts replaced."""
    body = console.validated(
        LessonCreate,
        finding=finding,
        lesson=lesson,
        title=title,
        tlp=tlp,
        data_category=data_category,
        playbook=playbook,
    )
    with console.session() as session:
        row = lessons.publish(
            session, clock=console.clock(), request=body, actor=console.actor(as_person)
        )
        read = views.lesson_read(row, EVERY_CATEGORY)
    if json:
        console.print_json(read)
        return
    console.out.print(f"published {read.reference}: {read.title}")


@app.command("export")
@console.handle_errors
def export(
    organisation: str = FOR, out: Path | None = OUT, as_person: str | None = console.AS_OPTION
) -> None:
    """Write the signed lessons package ORG's agreements let it have; ledgered as share:sent."""
    signer, clock = _signer(), console.clock()
    with console.session() as session:
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)
        exported = sharing.export(
            session,
            clock=clock,
            organisation=organisation,
            signer_key=signer,
            actor=console.actor(as_person),
        )
        target = out or Path(exported.filename)
        _write(target, exported.data)
    console.out.print(
        f"wrote {target}: {len(exported.lessons)} lessons ({exported.withheld} redacted) for "
        f"{organisation}; sha256 {exported.sha256} (ledger entry {exported.seq})"
    )


@app.command("import")
@console.handle_errors
def import_lessons(
    path: Path = typer.Argument(..., help="A partner's lessons package."),
    key: str = typer.Option(..., help="The partner log's verifier key, or a file holding it."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Verify a partner's lessons package and add the lessons not held yet."""
    verifier = Path(key).read_text(encoding="ascii").strip() if Path(key).is_file() else key
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise NotFound(f"cannot read {path}: {exc.strerror}", field="path") from None
    with console.session() as session:
        done = sharing.import_package(
            session,
            clock=console.clock(),
            data=data,
            verifier_key=verifier,
            actor=console.actor(as_person),
        )
    console.out.print(
        f"imported {len(done.imported)} lessons from {done.organisation} "
        f"({len(done.skipped)} already held); sha256 {done.sha256}"
    )


@summary_app.command("show")
@console.handle_errors
def show_summary(
    organisation: str | None = typer.Option(None, "--for", help="As this partner would see it."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show the readiness summary: top risks, role coverage and latest exercises."""
    with console.session() as session:
        read = summary.build(session, clock=console.clock(), organisation=organisation)
    if json:
        console.print_json(read)
        return
    bands = ", ".join(f"{band} {count}" for band, count in read.risks.by_band.items())
    console.out.print(f"readiness summary TLP:{read.tlp}; open risks: {bands}")
    console.print_table(
        "Top risks",
        ["risk", "band", "score", "scenario"],
        [(r.key, r.band, r.score, r.scenario) for r in read.risks.top],
    )
    console.print_table(
        "Role coverage",
        ["site", "role", "status", "gaps", "single-point shifts"],
        [(r.site, r.role, r.status, r.gaps, r.fragile_shifts) for r in read.roles],
    )
    console.print_table(
        "Latest exercises",
        ["playbook", "exercise", "ended"],
        [(e.playbook, e.title, e.ended_at) for e in read.exercises],
    )


@summary_app.command("export")
@console.handle_errors
def export_summary(
    organisation: str = FOR, out: Path | None = OUT, as_person: str | None = console.AS_OPTION
) -> None:
    """Write the signed summary ORG's agreements let it see; ledgered as share:sent."""
    signer = _signer()
    with console.session() as session:
        exported = summary.export(
            session,
            clock=console.clock(),
            organisation=organisation,
            signer_key=signer,
            actor=console.actor(as_person),
        )
        target = out or Path(exported.filename)
        _write(target, exported.data)
    console.out.print(
        f"wrote {target} for {organisation}; sha256 {exported.sha256} (ledger entry {exported.seq})"
    )
