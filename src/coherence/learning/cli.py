"""`coherence nearmiss`: report a near miss in a minute, then review it like an incident."""

from __future__ import annotations

from pathlib import Path

import typer

from coherence import console
from coherence.access.domain import Tlp
from coherence.documents import load_yaml_file
from coherence.learning import service, views
from coherence.learning.domain import NearMissStatus
from coherence.learning.schemas import NearMissClose, NearMissCreate, NearMissRead
from coherence.reviews import views as review_views
from coherence.reviews.schemas import ChangeCreate, ChangeRead, Decision, FindingCreate

app = typer.Typer(
    help="Near misses: report one in a minute (anonymously if you wish) and review it.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Near-miss reference, e.g. NM-00003.")
NUMBER = typer.Argument(..., help="The finding's number (F1 is 1).", min=1)


def _print(read: NearMissRead) -> None:
    who = "anonymously" if read.anonymous else f"by {read.reported_by}"
    where = read.asset or read.site or "no asset named"
    console.out.print(
        f"{read.reference} [{read.status.value}] {read.category} at {where}, TLP:{read.tlp}, "
        f"reported {read.reported_at:%Y-%m-%d %H:%M} UTC {who}"
    )
    console.out.print(f"  {read.what_happened}")
    for f in read.findings:
        console.out.print(f"  {f.reference} [{f.status.value}] {f.title} — owner {f.owner}")
        for change in f.changes:
            console.out.print(f"    change {change.id}: {change.playbook} {change.status.value}")


def _change(read: ChangeRead, json: bool) -> None:
    if json:
        console.print_json(read)
        return
    published = f", published as v{read.published_version}" if read.published_version else ""
    console.out.print(
        f"change {read.id} for {read.finding}: {read.playbook} is {read.status.value}{published}"
    )


@app.command("report")
@console.handle_errors
def report(
    what: str = typer.Argument(..., help="What almost happened, and what stopped it."),
    category: str = typer.Option(..., help="Classification category, e.g. cryogenic."),
    site: str | None = typer.Option(None, help="Site key."),
    asset: str | None = typer.Option(None, help="Asset key."),
    tlp: Tlp = typer.Option(Tlp.AMBER, help="CLEAR, GREEN, AMBER or AMBER+STRICT."),
    anonymous: bool = typer.Option(False, "--anonymous", help="Keep who reported it nowhere."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Report a near miss; with --anonymous the reporter is recorded nowhere."""
    body = console.validated(
        NearMissCreate,
        what_happened=what,
        category=category,
        site=site,
        asset=asset,
        tlp=tlp,
        anonymous=anonymous,
    )
    with console.session() as session:
        row = service.report(
            session, clock=console.clock(), request=body, actor=console.actor(as_person)
        )
        read = views.near_miss_read(session, row, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    console.out.print(f"reported {read.reference}{' anonymously' if read.anonymous else ''}")


@app.command("list")
@console.handle_errors
def list_near_misses(
    status: NearMissStatus | None = typer.Option(None, help="reported, reviewing or closed."),
    category: str | None = typer.Option(None, help="Only this category."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Near misses, newest first."""
    with console.session() as session:
        now = console.clock().now()
        reads = [
            views.near_miss_read(session, r, now=now)
            for r in service.list_near_misses(session, status=status, category=category)
        ]
    if json:
        console.print_json(reads)
        return
    console.print_table(
        "Near misses",
        ["near miss", "reported", "category", "where", "status", "findings"],
        [
            (r.reference, r.reported_at, r.category, r.asset or r.site, r.status.value,
             len(r.findings))
            for r in reads
        ],
    )  # fmt: skip


@app.command("show")
@console.handle_errors
def show(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show a near miss with its findings and proposed changes."""
    with console.session() as session:
        row = service.get_or_raise(session, ref)
        read = views.near_miss_read(session, row, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    _print(read)


@app.command("add-finding")
@console.handle_errors
def add_finding(
    ref: str = REF,
    title: str = typer.Option(..., help="The finding in a line."),
    what: str = typer.Option(..., "--what", help="What the review found."),
    owner: str = typer.Option(..., help="Person key of who follows it up."),
    due: str | None = typer.Option(None, help="Due date, YYYY-MM-DD."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Record a finding on a near miss; its review starts and it moves to reviewing."""
    body = console.validated(
        FindingCreate, title=title, what_happened=what, owner=owner, due_on=due
    )
    with console.session() as session:
        row = service.add_finding(
            session, clock=console.clock(), ref=ref, request=body, actor=console.actor(as_person)
        )
        read = review_views.finding_read(session, row, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    console.out.print(f"recorded {read.reference}: {read.title}")


@app.command("propose")
@console.handle_errors
def propose(
    ref: str = REF,
    number: int = NUMBER,
    file: Path = typer.Argument(..., help="The whole new playbook (YAML).", exists=True),
    rationale: str = typer.Option(..., help="What the change fixes."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Propose a new playbook version from a near-miss finding (a draft)."""
    body = console.validated(ChangeCreate, rationale=rationale, document=load_yaml_file(file))
    with console.session() as session:
        change = service.propose_change(
            session,
            clock=console.clock(),
            ref=ref,
            number=number,
            rationale=body.rationale,
            document=body.document,
            actor=console.actor(as_person),
        )
        _change(review_views.change_read(session, change), json)


@app.command("submit")
@console.handle_errors
def submit(
    ref: str = REF,
    number: int = NUMBER,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Send a near-miss finding's draft change for review."""
    with console.session() as session:
        change = service.submit_change(
            session, clock=console.clock(), ref=ref, number=number, actor=console.actor(as_person)
        )
        _change(review_views.change_read(session, change), json)


@app.command("decide")
@console.handle_errors
def decide(
    ref: str = REF,
    number: int = NUMBER,
    approve: bool = typer.Option(..., "--approve/--reject", help="Approve and publish, or reject."),
    note: str = typer.Option("", help="A note; a rejection needs one."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Approve (not your own) and publish, or reject, a near-miss finding's change in review."""
    body = console.validated(Decision, note=note)
    with console.session() as session:
        act = service.approve_change if approve else service.reject_change
        change = act(
            session,
            clock=console.clock(),
            ref=ref,
            number=number,
            note=body.note,
            actor=console.actor(as_person),
        )
        _change(review_views.change_read(session, change), json)


@app.command("close")
@console.handle_errors
def close(
    ref: str = REF,
    note: str = typer.Option(..., help="What came of the review."),
    reopen: bool = typer.Option(False, "--reopen", help="Reopen a closed near miss instead."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Close a near miss's review, saying what came of it (or --reopen it, saying why)."""
    body = console.validated(NearMissClose, note=note)
    target = NearMissStatus.REVIEWING if reopen else NearMissStatus.CLOSED
    with console.session() as session:
        row = service.move(
            session,
            clock=console.clock(),
            ref=ref,
            target=target,
            note=body.note,
            actor=console.actor(as_person),
        )
        status = row.status
    console.out.print(f"{ref} is {status}")
