"""`coherence incident` and `coherence task`: drive incidents from the terminal."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import typer
from rich.text import Text
from sqlalchemy.orm import Session

from coherence import console
from coherence.access.domain import DataCategory, Tlp
from coherence.catalog.domain import IcsRole
from coherence.errors import ValidationFailed
from coherence.incidents import records as incident_records
from coherence.incidents import service, views
from coherence.incidents.domain import OPEN_STATUSES, Kind, Status, TaskStatus
from coherence.incidents.models import Incident
from coherence.incidents.schemas import IncidentCreate, IncidentDetail, TaskRead

app = typer.Typer(
    help="Open incidents and drive them through their lifecycle.", no_args_is_help=True
)
tasks_app = typer.Typer(help="List and complete incident tasks.", no_args_is_help=True)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")


def _show(detail: IncidentDetail, *, json: bool) -> None:
    if json:
        console.print_json(detail)
        return
    console.out.print(Text(detail.reference, style="bold") + Text(f" {detail.title}"))
    console.out.print(
        f"  {detail.kind.value} | {detail.status.value} | {detail.severity.upper()} | "
        f"{detail.category} | asset {detail.asset} at {detail.site}\n"
        f"  playbook {detail.playbook or '-'} v{detail.playbook_version or '-'} | "
        f"escalation level {detail.escalation_level} | "
        f"next: {', '.join(detail.allowed_transitions) or 'reopen'}"
    )
    console.print_table("Roles", ["role", "person"], sorted(detail.roles.items()))
    _tasks_table(detail.tasks)


def _apply(change: Callable[[Session], Incident], *, json: bool) -> None:
    """Run one state change in its own transaction, then show the incident as it now stands."""
    with console.session() as session:
        detail = views.incident_detail(change(session))
    _show(detail, json=json)


def _tasks_table(tasks: list[TaskRead]) -> None:
    console.print_table(
        "Tasks",
        ["id", "due (UTC)", "owner", "assignee", "status", "task"],
        [
            (
                t.id,
                t.due_at,
                t.owner_role,
                t.assignee,
                "OVERDUE" if t.overdue else t.status.value,
                t.title + (f"  [hazard: {t.hazard}]" if t.hazard else ""),
            )
            for t in tasks
        ],
    )


def _parse_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO 8601 time with an offset, e.g. 2026-11-26T03:00:00+00:00",
            field=field,
        ) from None
    if parsed.tzinfo is None:
        raise ValidationFailed(f"{field} needs a UTC offset, e.g. +00:00", field=field)
    return parsed


@app.command("open")
@console.handle_errors
def open_incident(
    asset: str = typer.Option(..., help="Key of the affected asset."),
    playbook: str | None = typer.Option(None, help="Playbook key (see `playbook list`)."),
    category: str | None = typer.Option(None, help="Category if no playbook is named."),
    impact: str | None = typer.Option(None, help="negligible, minor, major or severe."),
    urgency: str | None = typer.Option(None, help="low, medium, high or immediate."),
    title: str | None = typer.Option(None, help="Default: playbook title and asset."),
    summary: str = typer.Option("", help="What is known so far."),
    kind: Kind = typer.Option(Kind.REAL, help="real, exercise or test (fixed for life)."),
    occurred_at: str | None = typer.Option(None, help="When the fault began (ISO 8601)."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Open, classify and staff an incident; its playbook's steps become timed tasks."""
    request = console.validated(
        IncidentCreate,
        asset=asset,
        playbook=playbook,
        category=category,
        impact=impact,
        urgency=urgency,
        title=title,
        summary=summary,
        kind=kind,
        occurred_at=_parse_time(occurred_at, "occurred_at"),
    )
    _apply(
        lambda session: service.open_incident(
            session, clock=console.clock(), request=request, actor=console.actor(as_person)
        ),
        json=json,
    )


@app.command("list")
@console.handle_errors
def list_incidents(
    status: list[Status] = typer.Option([], help="Only these phases (repeatable)."),
    kind: list[Kind] = typer.Option([], help="Only these kinds (repeatable)."),
    all_: bool = typer.Option(False, "--all", help="Include resolved and closed incidents."),
    limit: int = typer.Option(50, min=1, max=200),
    json: bool = console.JSON_OPTION,
) -> None:
    """List incidents, newest first; open ones only unless --all or --status."""
    statuses = status or ([] if all_ else sorted(OPEN_STATUSES))
    with console.session() as session:
        page = views.incident_page(session, statuses=statuses, kinds=kind, limit=limit)
    if json:
        console.print_json(page)
        return
    console.print_table(
        f"Incidents ({page.total})",
        ["ref", "sev", "status", "kind", "asset", "detected (UTC)", "tasks", "title"],
        [
            (
                i.reference,
                i.severity.upper(),
                i.status.value,
                i.kind.value,
                i.asset,
                i.detected_at,
                f"{i.open_tasks} open, {i.overdue_tasks} overdue",
                i.title,
            )
            for i in page.items
        ],
    )


@app.command("show")
@console.handle_errors
def show(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show an incident: phase, roles and tasks with due times."""
    with console.session() as session:
        detail = views.incident_detail(service.get_or_raise(session, ref))
    _show(detail, json=json)


@app.command("ack")
@console.handle_errors
def ack(
    ref: str = REF, as_person: str | None = console.AS_OPTION, json: bool = console.JSON_OPTION
) -> None:
    """Acknowledge an incident; escalation stops."""
    _apply(
        lambda session: service.acknowledge(
            session, clock=console.clock(), ref=ref, actor=console.actor(as_person), via="cli"
        ),
        json=json,
    )


@app.command("transition")
@console.handle_errors
def transition(
    ref: str = REF,
    status: Status = typer.Argument(..., help="Phase to move to."),
    note: str = typer.Option("", help="Why, for the timeline."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Move an incident to another phase (illegal moves are refused, naming the legal ones)."""
    _apply(
        lambda session: service.transition(
            session,
            clock=console.clock(),
            ref=ref,
            target=status,
            actor=console.actor(as_person),
            note=note,
        ),
        json=json,
    )


@app.command("reopen")
@console.handle_errors
def reopen(
    ref: str = REF,
    reason: str = typer.Option(..., help="Why it is reopened."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Reopen a resolved or closed incident."""
    _apply(
        lambda session: service.reopen(
            session,
            clock=console.clock(),
            ref=ref,
            reason=reason,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("assign")
@console.handle_errors
def assign(
    ref: str = REF,
    role: IcsRole = typer.Argument(..., help="ICS role."),
    person: str = typer.Argument(..., help="Person key."),
    override_reason: str | None = typer.Option(
        None, help="Why someone not qualified for the role must take it (recorded)."
    ),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Give an ICS role on the incident to a person (they are paged); a checked role for
    someone not qualified is warned about or refused, by COHERENCE_QUALIFICATION_POLICY."""
    policy = console.load_settings().qualification_policy
    _apply(
        lambda session: service.assign_role(
            session,
            clock=console.clock(),
            ref=ref,
            role=role,
            person_key=person,
            actor=console.actor(as_person),
            policy=policy,
            override_reason=override_reason,
        ),
        json=json,
    )


@app.command("label")
@console.handle_errors
def label(
    ref: str = REF,
    tlp: Tlp = typer.Option(..., help="CLEAR, GREEN, AMBER, AMBER+STRICT or RED."),
    recipient: list[str] = typer.Option(
        [], help="A person named to see a TLP:RED incident (repeat); role holders are added."
    ),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Set the incident's TLP label; RED limits it to the named recipients."""
    _apply(
        lambda session: incident_records.label(
            session,
            clock=console.clock(),
            ref=ref,
            tlp=tlp,
            recipients=recipient,
            actor=console.actor(as_person),
        ),
        json=json,
    )


@app.command("note")
@console.handle_errors
def note(
    ref: str = REF,
    text: str = typer.Argument(..., help="The note."),
    category: DataCategory = typer.Option(
        DataCategory.OPERATIONAL, help="What the text holds; redacted for readers not entitled."
    ),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Add a note to the incident timeline."""
    console.validated_text(text, "text")
    with console.session() as session:
        incident = incident_records.add_note(
            session,
            clock=console.clock(),
            ref=ref,
            text=text,
            actor=console.actor(as_person),
            category=category,
        )
        console.out.print(f"note added to {views.incident_read(incident).reference}")


@app.command("decide")
@console.handle_errors
def decide(
    ref: str = REF,
    decision: str = typer.Argument(..., help="What was decided."),
    rationale: str = typer.Option(..., help="Why."),
    by: str | None = typer.Option(None, help="Person key of who decided; default --as."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record a decision, its rationale and who took it."""
    console.validated_text(decision, "decision")
    console.validated_text(rationale, "rationale")
    with console.session() as session:
        incident = incident_records.record_decision(
            session,
            clock=console.clock(),
            ref=ref,
            decision=decision,
            rationale=rationale,
            decided_by=by or as_person,
            actor=console.actor(as_person),
        )
        console.out.print(f"decision recorded on {views.incident_read(incident).reference}")


@app.command("timeline")
@console.handle_errors
def timeline(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show every recorded change, note and decision, oldest first."""
    with console.session() as session:
        entries = views.timeline(session, service.get_or_raise(session, ref).id)
    if json:
        console.print_json(entries)
        return
    console.print_table(
        "Timeline",
        ["#", "at (UTC)", "type", "actor", "details"],
        [
            (
                e.seq,
                e.at,
                e.type,
                e.actor,
                ", ".join(f"{k}={v}" for k, v in e.payload.items() if v not in (None, "", [], {})),
            )
            for e in entries
        ],
    )


@app.command("metrics")
@console.handle_errors
def metrics(
    kind: Kind = typer.Option(Kind.REAL, help="real (default), exercise or test."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Show response metrics (time to acknowledge, contain, recover...) across incidents."""
    with console.session() as session:
        summary = views.metrics_summary(session, kind=kind)
    if json:
        console.print_json(summary)
        return
    console.print_table(
        f"Response metrics over {summary.incidents} {kind.value} incident(s)",
        ["metric", "measured", "count", "mean", "median", "p90"],
        [
            (
                name,
                summary.descriptions[name],
                m["count"],
                console.duration(m["mean"]),
                console.duration(m["median"]),
                console.duration(m["p90"]),
            )
            for name, m in summary.metrics.items()
        ],
    )


@tasks_app.command("list")
@console.handle_errors
def list_tasks(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """List an incident's tasks with owners and due times."""
    with console.session() as session:
        tasks = [views.task_read(t) for t in service.get_or_raise(session, ref).tasks]
    if json:
        console.print_json(tasks)
        return
    _tasks_table(tasks)


@tasks_app.command("done")
@console.handle_errors
def done(
    task_id: int = typer.Argument(..., help="Task id (see `task list`)."),
    note: str = typer.Option("", help="What was done, for the timeline."),
    skip: bool = typer.Option(False, "--skip", help="Mark skipped instead (needs --note)."),
    reopen_task: bool = typer.Option(False, "--reopen", help="Open a finished task again."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Mark a task done (or skipped, or open again)."""
    status = TaskStatus.OPEN if reopen_task else TaskStatus.SKIPPED if skip else TaskStatus.DONE
    with console.session() as session:
        task = views.task_read(
            service.update_task(
                session,
                clock=console.clock(),
                task_id=task_id,
                status=status,
                note=note,
                actor=console.actor(as_person),
            )
        )
    if json:
        console.print_json(task)
        return
    console.out.print(f"task {task.id} is {task.status.value}: {task.title}")
