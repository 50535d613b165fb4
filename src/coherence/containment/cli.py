"""`coherence change`: containment change records from the terminal."""

from __future__ import annotations

from collections.abc import Callable

import typer
from sqlalchemy.orm import Session

from coherence import console
from coherence.containment import service, views
from coherence.containment.domain import Risk
from coherence.containment.models import ChangeRecord
from coherence.containment.schemas import (
    ChangeCreate,
    ChangeRead,
    CheckRequest,
    OverrideRequest,
    ReasonRequest,
    VerifyRequest,
)
from coherence.incidents import service as incidents_service

app = typer.Typer(
    help="Containment change records: propose, approve, execute, verify.", no_args_is_help=True
)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")
CHANGE = typer.Argument(..., help="Change record id.")
NOTE = typer.Option("", help="A note for the timeline.")


def _show(change: ChangeRead, *, json: bool) -> None:
    if json:
        console.print_json(change)
        return
    flag = " [SAFETY-CRITICAL]" if change.safety_critical else ""
    console.out.print(f"change {change.id} on {change.incident}: {change.title}{flag}")
    console.out.print(
        f"  {change.state_text} | risk {change.risk.value} | assets {', '.join(change.assets)}\n"
        f"  what: {change.what}\n  why: {change.why}\n"
        f"  expected effect: {change.expected_effect}\n  rollback: {change.rollback_plan}\n"
        f"  proposed by {change.proposed_by}; approvals {len(change.approvals)} of "
        f"{change.approvals_needed}: {', '.join(a.person for a in change.approvals) or '-'}"
        + (
            f"\n  verified by {change.verified_by}: {change.verification}"
            if change.verified_by
            else ""
        )
    )
    console.print_table(
        "Preconditions",
        ["#", "met", "checked by", "precondition"],
        [(p.number, "yes" if p.met else "NO", p.checked_by, p.text) for p in change.preconditions],
    )


def _apply(change: Callable[[Session], ChangeRecord], *, json: bool) -> None:
    """Run one state change in its own transaction, then show the change as it now stands."""
    with console.session() as session:
        read = views.change_read(change(session))
    _show(read, json=json)


@app.command("list")
@console.handle_errors
def list_changes(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """List an incident's change records."""
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        rows = [views.change_read(c) for c in service.changes_for(session, incident.id)]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Changes",
        ["id", "state", "safety-critical", "approvals", "title"],
        [
            (
                c.id,
                c.state_text,
                "yes" if c.safety_critical else "no",
                f"{len(c.approvals)}/{c.approvals_needed}",
                c.title,
            )
            for c in rows
        ],
    )


@app.command("show")
@console.handle_errors
def show(change_id: int = CHANGE, json: bool = console.JSON_OPTION) -> None:
    """Show a change record in full."""
    with console.session() as session:
        read = views.change_read(service.get_or_raise(session, change_id))
    _show(read, json=json)


@app.command("propose")
@console.handle_errors
def propose(
    ref: str = REF,
    procedure: str | None = typer.Option(None, help="A procedure key of the incident's playbook."),
    title: str | None = typer.Option(None, help="Ad hoc: what the change is, in a line."),
    what: str | None = typer.Option(None, help="Ad hoc: exactly what will be done."),
    why: str | None = typer.Option(None, help="Ad hoc: why."),
    expected_effect: str | None = typer.Option(None, help="Ad hoc: the effect expected."),
    risk: Risk | None = typer.Option(None, help="Ad hoc: low, medium or high."),
    rollback_plan: str | None = typer.Option(None, help="Ad hoc: how to undo it."),
    safety_critical: bool = typer.Option(False, help="Ad hoc: needs two-person approval."),
    precondition: list[str] = typer.Option([], help="Ad hoc: a precondition (repeat)."),
    asset: list[str] = typer.Option([], help="Asset key (repeat); default the incident's."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Propose a change from a playbook procedure (--procedure) or ad hoc."""
    request = console.validated(
        ChangeCreate,
        procedure=procedure,
        title=title,
        what=what,
        why=why,
        expected_effect=expected_effect,
        risk=risk,
        rollback_plan=rollback_plan,
        safety_critical=safety_critical,
        preconditions=precondition,
        assets=asset,
    )
    _apply(
        lambda session: service.propose(
            session, clock=console.clock(), ref=ref, request=request, actor=console.actor(as_person)
        ),
        json=json,
    )


@app.command("approve")
@console.handle_errors
def approve(
    change_id: int = CHANGE,
    note: str = NOTE,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Approve a change (not its proposer; safety-critical changes need two people)."""
    _apply(
        lambda session: service.approve(
            session,
            clock=console.clock(),
            change_id=change_id,
            note=note,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("check")
@console.handle_errors
def check(
    change_id: int = CHANGE,
    number: int = typer.Argument(..., help="Precondition number, from 1."),
    note: str = NOTE,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Check one precondition of a change as met."""
    request = console.validated(CheckRequest, precondition=number, note=note)
    _apply(
        lambda session: service.check_precondition(
            session,
            clock=console.clock(),
            change_id=change_id,
            number=request.precondition,
            note=request.note,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("execute")
@console.handle_errors
def execute(
    change_id: int = CHANGE,
    note: str = NOTE,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Mark a change executed (refused until approved and its preconditions are met)."""
    _apply(
        lambda session: service.execute(
            session,
            clock=console.clock(),
            change_id=change_id,
            note=note,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("verify")
@console.handle_errors
def verify(
    change_id: int = CHANGE,
    how: str = typer.Option(..., help="How the effect was verified."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Mark an executed change verified, saying how."""
    request = console.validated(VerifyRequest, how=how)
    _apply(
        lambda session: service.verify(
            session,
            clock=console.clock(),
            change_id=change_id,
            how=request.how,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("rollback")
@console.handle_errors
def rollback(
    change_id: int = CHANGE,
    reason: str = typer.Option(..., help="Why it was undone."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Record that an executed change was rolled back."""
    _end(change_id, reason, as_person, json, service.roll_back)


@app.command("cancel")
@console.handle_errors
def cancel(
    change_id: int = CHANGE,
    reason: str = typer.Option(..., help="Why it will not be done."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Cancel a change that was not executed."""
    _end(change_id, reason, as_person, json, service.cancel)


def _end(
    change_id: int,
    reason: str,
    as_person: str | None,
    json: bool,
    ending: Callable[..., ChangeRecord],
) -> None:
    """Roll back or cancel a change with the reason given."""
    request = console.validated(ReasonRequest, reason=reason)
    _apply(
        lambda session: ending(
            session,
            clock=console.clock(),
            change_id=change_id,
            reason=request.reason,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("override")
@console.handle_errors
def override(
    ref: str = REF,
    reason: str = typer.Option(..., help="Why containment may proceed unverified."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """As incident commander, let the incident be contained despite unverified changes."""
    request = console.validated(OverrideRequest, reason=reason)
    with console.session() as session:
        read = views.override_read(
            service.record_override(
                session,
                clock=console.clock(),
                ref=ref,
                reason=request.reason,
                actor=console.actor(as_person),
            )
        )
    if json:
        console.print_json(read)
    else:
        console.out.print(f"override {read.id} on {read.incident} recorded: {read.reason}")
