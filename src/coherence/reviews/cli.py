"""`coherence review`: after-action reviews, findings, playbook changes and review dates."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import typer

from coherence import console
from coherence.documents import load_yaml_file
from coherence.incidents import service as incidents_service
from coherence.reviews import changes, service, views
from coherence.reviews.domain import ChangeStatus, FindingStatus
from coherence.reviews.models import PlaybookChange
from coherence.reviews.schemas import (
    ChangeCreate,
    ChangeRead,
    Decision,
    FindingCreate,
    FindingRead,
    FindingUpdate,
    ReviewUpdate,
)

app = typer.Typer(
    help="After-action reviews: findings, proposed playbook changes, playbook review dates.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")
NUMBER = typer.Argument(..., help="The finding's number (F1 is 1).", min=1)


def _finding(read: FindingRead) -> None:
    due = read.due_on.isoformat() if read.due_on else "no due date"
    flag = " OVERDUE" if read.overdue else ""
    console.out.print(
        f"{read.reference} [{read.status.value}{flag}] {read.title} — owner {read.owner}, {due}"
    )
    for version in read.playbook_versions:
        console.out.print(f"  published as playbook {version}")


def _change(read: ChangeRead, json: bool, *, diff: bool = True) -> None:
    if json:
        console.print_json(read)
        return
    published = f", published as v{read.published_version}" if read.published_version else ""
    console.out.print(
        f"change {read.id} for {read.finding}: {read.playbook} "
        f"(from v{read.base_version or 0}) is {read.status.value}{published}"
    )
    if diff:
        console.out.print(read.diff or "(no difference)")


@app.command("show")
@console.handle_errors
def show(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show an incident's review: summary and findings."""
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        review = service.get_review_or_raise(session, incident.id)
        read = views.review_read(session, incident, review, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    console.out.print(f"Review of {read.incident} ({read.kind}, {read.incident_status})")
    if read.summary:
        console.out.print(read.summary)
    for finding in read.findings:
        _finding(finding)


@app.command("start")
@console.handle_errors
def start(
    ref: str = REF,
    summary: str = typer.Option("", help="What the review concluded, in a paragraph."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Start an incident's review, or change its summary."""
    body = console.validated(ReviewUpdate, summary=summary)
    with console.session() as session:
        service.start_review(
            session,
            clock=console.clock(),
            ref=ref,
            summary=body.summary,
            actor=console.actor(as_person),
        )
    console.out.print(f"review of {ref} started")


@app.command("add-finding")
@console.handle_errors
def add_finding(
    ref: str = REF,
    title: str = typer.Option(..., help="The finding in a line."),
    what: str = typer.Option(..., "--what", help="What happened."),
    owner: str = typer.Option(..., help="Person key of who follows it up."),
    due: str | None = typer.Option(None, help="Due date, YYYY-MM-DD."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Record a finding with an owner and a due date."""
    body = console.validated(
        FindingCreate, title=title, what_happened=what, owner=owner, due_on=due
    )
    with console.session() as session:
        row = service.add_finding(
            session, clock=console.clock(), ref=ref, request=body, actor=console.actor(as_person)
        )
        read = views.finding_read(session, row, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    _finding(read)


@app.command("update-finding")
@console.handle_errors
def update_finding(
    ref: str = REF,
    number: int = NUMBER,
    status: FindingStatus | None = typer.Option(None, help="open, in_progress, done, wont_do."),
    reason: str | None = typer.Option(None, help="Why it will not be done (wont_do)."),
    owner: str | None = typer.Option(None, help="New owner's person key."),
    due: str | None = typer.Option(None, help="New due date, YYYY-MM-DD."),
    title: str | None = typer.Option(None, help="New title."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Change a finding's status, owner, due date or title."""
    given = {"status": status, "reason": reason, "owner": owner, "due_on": due, "title": title}
    body = console.validated(FindingUpdate, **{k: v for k, v in given.items() if v is not None})
    with console.session() as session:
        row = service.update_finding(
            session,
            clock=console.clock(),
            ref=ref,
            number=number,
            request=body,
            actor=console.actor(as_person),
        )
        read = views.finding_read(session, row, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    _finding(read)


@app.command("propose")
@console.handle_errors
def propose(
    ref: str = REF,
    number: int = NUMBER,
    file: Path = typer.Argument(..., help="The whole proposed playbook, YAML."),
    rationale: str = typer.Option(..., help="What the change fixes."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Propose a new playbook version for a finding (a draft), showing the diff."""
    body = console.validated(ChangeCreate, rationale=rationale, document=load_yaml_file(file))
    with console.session() as session:
        change = changes.propose(
            session,
            clock=console.clock(),
            ref=ref,
            number=number,
            rationale=body.rationale,
            document=body.document,
            actor=console.actor(as_person),
        )
        _change(views.change_read(session, change), json)


@app.command("submit")
@console.handle_errors
def submit(
    ref: str = REF,
    number: int = NUMBER,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Send a finding's draft change for review."""
    with console.session() as session:
        change = changes.submit(
            session, clock=console.clock(), ref=ref, number=number, actor=console.actor(as_person)
        )
        _change(views.change_read(session, change), json, diff=False)


@app.command("approve")
@console.handle_errors
def approve(
    ref: str = REF,
    number: int = NUMBER,
    note: str = typer.Option("", help="A note on the approval."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Approve a change in review (not your own) and publish it as the next playbook version."""
    _decide(ref, number, note, as_person, json, changes.approve)


@app.command("reject")
@console.handle_errors
def reject(
    ref: str = REF,
    number: int = NUMBER,
    note: str = typer.Option(..., help="Why the change is rejected."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Reject a change in review, saying why."""
    _decide(ref, number, note, as_person, json, changes.reject)


def _decide(
    ref: str,
    number: int,
    note: str,
    as_person: str | None,
    json: bool,
    decide: Callable[..., PlaybookChange],
) -> None:
    """Approve or reject the finding's change in review, with the note given."""
    body = console.validated(Decision, note=note)
    with console.session() as session:
        change = decide(
            session,
            clock=console.clock(),
            ref=ref,
            number=number,
            note=body.note,
            actor=console.actor(as_person),
        )
        _change(views.change_read(session, change), json, diff=False)


@app.command("diff")
@console.handle_errors
def diff(ref: str = REF, number: int = NUMBER, json: bool = console.JSON_OPTION) -> None:
    """Show the newest change proposed for a finding, with its unified diff."""
    with console.session() as session:
        finding = service.get_finding_or_raise(session, ref, number)
        change = changes.latest_change(finding)
        if change is None:
            console.out.print(f"no change proposed for finding {number}")
            return
        _change(views.change_read(session, change), json)


@app.command("changes")
@console.handle_errors
def list_changes(
    status: list[ChangeStatus] = typer.Option([], help="Only these states (repeat)."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List proposed playbook changes (default: drafts and those in review)."""
    with console.session() as session:
        reads = [views.change_read(session, c) for c in changes.pending(session, statuses=status)]
    if json:
        console.print_json(reads)
        return
    console.print_table(
        "Proposed playbook changes",
        ["id", "finding", "playbook", "from", "status", "proposed by", "rationale"],
        [
            (
                c.id,
                c.finding,
                c.playbook,
                c.base_version,
                c.status.value,
                c.proposed_by,
                c.rationale,
            )
            for c in reads
        ],
    )


@app.command("playbooks")
@console.handle_errors
def playbooks(
    overdue: bool = typer.Option(False, "--overdue", help="Only playbooks past their review."),
    json: bool = console.JSON_OPTION,
) -> None:
    """List each playbook's last review and when the next is due."""
    with console.session() as session:
        found = changes.standings(session, now=console.clock().now(), overdue_only=overdue)
    reads = [views.standing_read(s) for s in found]
    if json:
        console.print_json(reads)
        return
    console.print_table(
        "Playbook reviews" + (" overdue" if overdue else ""),
        ["playbook", "version", "last review", "how", "every (days)", "due", "overdue"],
        [
            (
                s.playbook,
                s.version,
                s.last_reviewed_at,
                s.last_review,
                s.interval_days,
                s.due_at.date().isoformat(),
                "OVERDUE" if s.overdue else "",
            )
            for s in reads
        ],
    )


@app.command("playbook-reviewed")
@console.handle_errors
def playbook_reviewed(
    key: str = typer.Argument(..., help="The playbook key."),
    note: str = typer.Option("", help="What was checked."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record that a playbook was reviewed and needs no change."""
    with console.session() as session:
        row = changes.record_review(
            session, clock=console.clock(), key=key, note=note, actor=console.actor(as_person)
        )
        console.out.print(
            f"{row.playbook_key} v{row.version} reviewed on {row.reviewed_at:%Y-%m-%d}, no change"
        )
