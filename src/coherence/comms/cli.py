"""`coherence statement`: templates and clearance, issuing, withdrawing, plain language."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from coherence import console
from coherence.comms import plain, statements_service
from coherence.comms.schemas import statement_read, template_read
from coherence.documents import load_yaml_file

app = typer.Typer(
    help="Statements to audiences: templates, clearance, issue, withdraw, plain language.",
    no_args_is_help=True,
)
templates_app = typer.Typer(
    help="Load, list and approve statement templates.", no_args_is_help=True
)
app.add_typer(templates_app, name="template")


@templates_app.command("load")
@console.handle_errors
def load(
    file: Path = typer.Argument(..., help="Templates YAML file."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Store each changed template as a new draft version; unchanged ones are left alone."""
    data = load_yaml_file(file)
    with console.session() as session:
        report = statements_service.load_templates(
            session,
            clock=console.clock(),
            data=data,
            actor=console.actor(as_person),
            source=file.name,
        )
    if json:
        console.print_json(report)
        return
    rows = [(key, str(version), "new version") for key, version in report.created]
    rows += [(key, "-", "unchanged") for key in report.unchanged]
    console.print_table(f"Loaded {file}", ["template", "version", "result"], rows)


@templates_app.command("list")
@console.handle_errors
def list_templates(json: bool = console.JSON_OPTION) -> None:
    """Every template version: audience, status, approvals given and still needed."""
    with console.session() as session:
        rows = [template_read(t) for t in statements_service.list_templates(session)]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Statement templates",
        ["template", "version", "audience", "status", "approved by", "still needs"],
        [
            (
                t.key,
                t.version,
                t.audience,
                t.status,
                ", ".join(f"{a['person']} ({a['approval']})" for a in t.approvals) or "-",
                ", ".join(t.still_needs) or "-",
            )
            for t in rows
        ],
    )


@templates_app.command("approve")
@console.handle_errors
def approve(
    key: str = typer.Argument(..., help="Template key."),
    version: int = typer.Argument(..., help="Version to approve."),
    approval: str | None = typer.Option(
        None, help="Which approval you give (e.g. legal); default: the first you may give."
    ),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Clear a template version for use outside; each required approval from a different person."""
    with console.session() as session:
        row = template_read(
            statements_service.approve(
                session,
                clock=console.clock(),
                key=key,
                version=version,
                person_key=console.actor(as_person),
                approval=approval,
            )
        )
    if json:
        console.print_json(row)
        return
    needs = ", ".join(row.still_needs)
    console.out.print(
        f"{row.key} v{row.version}: {row.status}" + (f"; still needs {needs}" if needs else "")
    )


@app.command("issue")
@console.handle_errors
def issue(
    ref: str = typer.Argument(..., help="Incident id or reference, e.g. INC-00042."),
    template: str = typer.Argument(..., help="Template key."),
    version: int | None = typer.Option(
        None, help="Template version; default: the latest approved (or latest, if internal)."
    ),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Render a template for an incident and record the statement (public ones go on /status)."""
    with console.session() as session:
        row = statement_read(
            statements_service.issue(
                session,
                clock=console.clock(),
                ref=ref,
                template_key=template,
                version=version,
                actor=console.actor(as_person),
            )
        )
    if json:
        console.print_json(row)
        return
    console.out.print(f"statement #{row.id} to {row.audience} ({row.cap_msg_type}): {row.title}")
    console.out.print(row.body)
    if row.plain_score is not None:
        console.out.print(f"plain-language score: {row.plain_score}/100")


@app.command("withdraw")
@console.handle_errors
def withdraw(
    statement_id: int = typer.Argument(..., help="Statement id."),
    reason: str = typer.Option(..., help="Why it is withdrawn; published with the withdrawal."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Withdraw an issued statement (a CAP Cancel referencing it)."""
    with console.session() as session:
        row = statement_read(
            statements_service.withdraw(
                session,
                clock=console.clock(),
                statement_id=statement_id,
                actor=console.actor(as_person),
                reason=console.validated_text(reason, "reason", max_length=2000),
            )
        )
    if json:
        console.print_json(row)
        return
    console.out.print(f"statement #{statement_id} withdrawn (cancel #{row.id})")


@app.command("check")
@console.handle_errors
def check(
    file: Path = typer.Argument(..., help="Text file to check, or - for standard input."),
    json: bool = console.JSON_OPTION,
) -> None:
    """Check a draft for a non-specialist reader: jargon, long sentences, and a score."""
    text = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    report = plain.check_plain(text)
    if json:
        console.print_json(report)
        return
    console.out.print(f"score {report.score}/100 ({report.grade}); {report.words} words")
    console.print_table(
        "Findings",
        ["kind", "text", "what to do", "plain wording"],
        [(f.kind, f.text, f.message, f.suggestion or "-") for f in report.findings],
    )
