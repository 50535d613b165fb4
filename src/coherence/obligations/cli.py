"""`coherence obligation`: triage answers, running clocks and regulatory report drafts."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.text import Text

from coherence import console
from coherence.errors import NotFound, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.obligations import config, repository, views
from coherence.obligations import report_service as reports
from coherence.obligations import service as obligations_service
from coherence.obligations.domain import Answer, ObligationSet
from coherence.obligations.drafting import MAX_SUBMITTED_CHARS
from coherence.obligations.schemas import AssessmentUpdate, ClockRead, ReportRead

app = typer.Typer(
    help="Regulatory obligations: triage answers, report clocks, report drafts.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")
KEY = typer.Argument(..., help="Report key OBLIGATION.REPORT, e.g. eu-nis2.early-warning.")


def _in_force() -> ObligationSet:
    return config.for_settings(console.load_settings())


def _clocks_table(title: str, clocks: list[ClockRead]) -> None:
    console.print_table(
        title,
        ["report", "incident", "due (UTC)", "left", "state", "draft", "counted as"],
        [
            (
                c.key,
                c.incident,
                c.due_at,
                ("OVERDUE " if c.overdue else "") + console.duration(abs(c.seconds_left)),
                c.state.upper() if c.state in ("warned", "missed") else c.state,
                c.report_status,
                c.basis + (" (provisional)" if c.provisional else ""),
            )
            for c in clocks
        ],
    )


def _show_report(read: ReportRead, *, json: bool) -> None:
    if json:
        console.print_json(read)
        return
    console.out.print(Text(read.title, style="bold") + Text(f"  [{read.status}]"))
    console.out.print(
        f"  {read.incident} | due {console.format_cell(read.due_at)} UTC | clock {read.clock_state}"
        f" | authors {', '.join(read.authors)}"
        + (f" | reviewed by {read.reviewed_by}" if read.reviewed_by else "")
    )
    if read.submitted_sha256:
        console.out.print(
            f"  submitted {console.format_cell(read.submitted_at)} UTC by {read.submitted_by}; "
            f"SHA-256 {read.submitted_sha256}"
        )
    if read.missing:
        console.out.print(f"  still empty: {', '.join(read.missing)}")
    console.out.print("")
    console.out.print(read.text)


@app.command("list")
@console.handle_errors
def list_obligations(json: bool = console.JSON_OPTION) -> None:
    """The obligations in force: trigger, reports and their deadlines."""
    shown = views.obligations_file(_in_force())
    if json:
        console.print_json(shown)
        return
    console.print_table(
        f"Obligations ({shown.source})",
        ["obligation", "on", "where", "requires", "reports and deadlines"],
        [
            (
                o.key,
                "yes" if o.enabled else "off",
                ", ".join(o.jurisdictions),
                ", ".join([*o.entity_classes, *o.requires]) or "-",
                "; ".join(f"{r.key}: {' / '.join(r.due)}" for r in o.reports),
            )
            for o in shown.obligations
        ],
    )


@app.command("check")
@console.handle_errors
def check(
    file: Path | None = typer.Argument(None, help="File to check; default: the one in force."),
) -> None:
    """Validate an obligations file; every problem is named by its path."""
    found = config.load_obligations(file) if file else _in_force()
    enabled = sum(1 for o in found.obligations if o.enabled)
    console.out.print(f"{found.source}: {len(found.obligations)} obligations, {enabled} on")


@app.command("assess")
@console.handle_errors
def assess(
    ref: str = REF,
    personal_data: bool | None = typer.Option(None, "--personal-data/--no-personal-data"),
    cross_border: bool | None = typer.Option(None, "--cross-border/--no-cross-border"),
    significant: bool | None = typer.Option(None, "--significant/--not-significant"),
    major_ict: bool | None = typer.Option(None, "--major-ict/--not-major-ict"),
    ransom_paid: bool | None = typer.Option(None, "--ransom-paid/--no-ransom-paid"),
    aware_at: str | None = typer.Option(None, help="When you became aware (ISO 8601)."),
    classified_at: str | None = typer.Option(None, help="When classified as major (ISO 8601)."),
    ransom_paid_at: str | None = typer.Option(None, help="When a ransom was paid (ISO 8601)."),
    impact: str | None = typer.Option(None, help="What happened and its impact, for reports."),
    clear: list[Answer] = typer.Option([], help="Set an answer back to unanswered (repeat)."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Record triage answers; obligations are decided again and their clocks started."""
    given: dict[str, Any] = {
        "personal_data": personal_data,
        "cross_border": cross_border,
        "significant": significant,
        "major_ict": major_ict,
        "ransom_paid": ransom_paid,
        "aware_at": _parse_time(aware_at, "aware_at"),
        "classified_at": _parse_time(classified_at, "classified_at"),
        "ransom_paid_at": _parse_time(ransom_paid_at, "ransom_paid_at"),
        "impact_summary": impact,
    }
    changes = {name: value for name, value in given.items() if value is not None}
    changes |= {answer.value: None for answer in clear}
    body = console.validated(AssessmentUpdate, **changes)
    obligations = _in_force()
    with console.session() as session:
        evaluation = obligations_service.assess(
            session,
            clock=console.clock(),
            obligations=obligations,
            ref=ref,
            changes=body.model_dump(exclude_unset=True),
            actor=console.actor(as_person),
        )
        shown = views.incident_obligations(
            session,
            incidents_service.get_or_raise(session, ref),
            obligations,
            now=console.clock().now(),
            evaluation=evaluation,
        )
    if json:
        console.print_json(shown)
        return
    for label, keys in (
        ("started", shown.started),
        ("moved", shown.moved),
        ("withdrawn", shown.withdrawn),
    ):
        if keys:
            console.out.print(f"{label}: {', '.join(keys)}")
    _print_obligations(shown.verdicts, shown.clocks, shown.incident)


def _parse_time(value: str | None, field: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValidationFailed(
            f"{field} must be an ISO 8601 time with an offset, e.g. 2026-01-05T10:00:00+00:00",
            field=field,
        ) from None


def _print_obligations(verdicts: list[Any], clocks: list[ClockRead], incident: str) -> None:
    console.print_table(
        f"Obligations of {incident}",
        ["obligation", "applies", "why"],
        [(v.obligation, "YES" if v.applies else "no", v.reason) for v in verdicts],
    )
    _clocks_table(f"Clocks of {incident}", clocks)


@app.command("show")
@console.handle_errors
def show(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """An incident's triage answers, which obligations apply and why, and its clocks."""
    obligations = _in_force()
    with console.session() as session:
        shown = views.incident_obligations(
            session,
            incidents_service.get_or_raise(session, ref),
            obligations,
            now=console.clock().now(),
        )
    if json:
        console.print_json(shown)
        return
    answers = shown.assessment
    if answers is None:
        console.out.print("No triage answers yet: `coherence obligation assess REF ...`")
    else:
        said = {a.value: getattr(answers, a.value) for a in Answer}
        console.out.print(
            "Answers: "
            + ", ".join(
                f"{k} {'?' if v is None else ('yes' if v else 'no')}" for k, v in said.items()
            )
        )
    console.out.print(f"Aware since {console.format_cell(shown.awareness)} UTC ({shown.source})")
    _print_obligations(shown.verdicts, shown.clocks, shown.incident)


@app.command("clocks")
@console.handle_errors
def clocks(
    incident: str | None = typer.Option(None, help="Only this incident's clocks."),
    all_states: bool = typer.Option(False, "--all", help="Also submitted and withdrawn ones."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Every clock still waiting for a report, soonest deadline first."""
    with console.session() as session:
        incident_id = incidents_service.get_or_raise(session, incident).id if incident else None
        shown = views.running_clocks(
            session, now=console.clock().now(), incident_id=incident_id, include_done=all_states
        )
    if json:
        console.print_json(shown)
        return
    _clocks_table("Report clocks" if all_states else "Running report clocks", shown)


@app.command("draft")
@console.handle_errors
def draft(
    ref: str = REF,
    key: str = KEY,
    refresh: bool = typer.Option(False, help="Fill again every field nobody edited."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Draft a report pre-filled from the incident, and print it."""
    obligations = _in_force()
    with console.session() as session:
        found, report = reports.draft(
            session,
            clock=console.clock(),
            obligations=obligations,
            ref=ref,
            key=key,
            refresh=refresh,
            actor=console.actor(as_person),
        )
        shown = views.report_read(found, report)
    _show_report(shown, json=json)


@app.command("edit")
@console.handle_errors
def edit(
    ref: str = REF,
    key: str = KEY,
    set_: list[str] = typer.Option(..., "--set", help="FIELD=VALUE (repeat)."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Change fields of a draft; a reviewed draft then needs a fresh review."""
    changes: dict[str, str] = {}
    for item in set_:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValidationFailed(f"--set takes FIELD=VALUE, not {item[:60]!r}", field="set")
        changes[name.strip()] = value
    with console.session() as session:
        found, report = reports.edit(
            session,
            clock=console.clock(),
            ref=ref,
            key=key,
            changes=changes,
            actor=console.actor(as_person),
        )
        shown = views.report_read(found, report)
    _show_report(shown, json=json)


@app.command("report")
@console.handle_errors
def show_report(ref: str = REF, key: str = KEY, json: bool = console.JSON_OPTION) -> None:
    """Print a report: its fields, what is still empty, and what was sent."""
    with console.session() as session:
        incident = incidents_service.get_or_raise(session, ref)
        found = reports.clock_or_raise(session, incident, key)
        report = repository.report_for(session, found.id)
        if report is None:
            raise NotFound(f"{key} has no draft yet; `coherence obligation draft`", field="report")
        shown = views.report_read(found, report)
    _show_report(shown, json=json)


@app.command("review")
@console.handle_errors
def review(
    ref: str = REF,
    key: str = KEY,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Review a complete draft: someone other than its authors must."""
    with console.session() as session:
        found, report = reports.review(
            session, clock=console.clock(), ref=ref, key=key, actor=console.actor(as_person)
        )
        shown = views.report_read(found, report)
    _show_report(shown, json=json)


@app.command("submit")
@console.handle_errors
def submit(
    ref: str = REF,
    key: str = KEY,
    content_file: Path | None = typer.Option(
        None, help="The exact text sent, if not the report's JSON; its SHA-256 is kept."
    ),
    receipt: str | None = typer.Option(None, help="The authority's receipt or case number."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Mark a reviewed report submitted: its clock stops and the hash of what was sent is kept."""
    content = None
    if content_file is not None:
        if not content_file.is_file():
            raise NotFound(f"no such file: {content_file}", field="content_file")
        if content_file.stat().st_size > MAX_SUBMITTED_CHARS * 4:
            raise ValidationFailed(f"{content_file} is too large", field="content_file")
        try:
            content = content_file.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise ValidationFailed(
                f"{content_file} is not UTF-8 text", field="content_file"
            ) from None
    obligations = _in_force()
    with console.session() as session:
        found, report = reports.submit(
            session,
            clock=console.clock(),
            obligations=obligations,
            ref=ref,
            key=key,
            content=content,
            receipt=receipt,
            actor=console.actor(as_person),
        )
        shown = views.report_read(found, report)
    _show_report(shown, json=json)
