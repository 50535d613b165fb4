"""`coherence exercise`: check and run scenarios, step the clock, write the report."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from enum import StrEnum
from pathlib import Path

import typer

from coherence import console
from coherence.db import ensure_migrated, make_engine, make_session_factory
from coherence.documents import load_yaml_file
from coherence.errors import ValidationFailed
from coherence.evidence.store import LocalStore
from coherence.exercises import report, scenario, service, views, writing
from coherence.exercises.runner import Runner
from coherence.exercises.schemas import AdvanceRequest, ExerciseRead

app = typer.Typer(
    help="Exercises: scenarios with timed injects on a simulated clock, scored afterwards.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Exercise id or reference, e.g. EX-00001.")
SCENARIO = typer.Argument(..., help="A scenario YAML file.", exists=True, dir_okay=False)


class ReportFormat(StrEnum):
    """What the report is written as."""

    MD = "md"
    HTML = "html"
    JSON = "json"


@contextmanager
def _runner() -> Iterator[Runner]:
    settings = console.load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        ensure_migrated(engine)
        yield Runner(
            make_session_factory(engine),
            clock=console.clock(),
            store=LocalStore(settings.resolved_evidence_dir),
        )
    finally:
        engine.dispose()


def _show(exercise_id: int, json: bool) -> None:
    with console.session() as session:
        read = views.exercise_read(
            service.get_or_raise(session, exercise_id), console.clock().now()
        )
    if json:
        console.print_json(read)
        return
    _print(read)


def _print(read: ExerciseRead) -> None:
    upcoming = (
        "none left" if read.next_inject_minutes is None else f"T+{read.next_inject_minutes:g} min"
    )
    console.out.print(
        f"{read.reference} {read.title} ({read.mode}, {read.status}): "
        f"T+{read.elapsed_minutes:g} min; next inject {upcoming}; "
        f"incidents {', '.join(read.incidents) or 'none'}"
    )
    if read.complications:
        console.out.print(f"in force: {'; '.join(read.complications)}")
    console.print_table(
        "Injects",
        ["at", "kind", "title", "status", "fired", "detail"],
        [
            (
                f"T+{i.at_minutes:g}",
                i.kind,
                i.title,
                i.status,
                "" if i.fired_at_minutes is None else f"T+{i.fired_at_minutes:g}",
                i.detail,
            )
            for i in read.injects
        ],
    )


@app.command("validate")
@console.handle_errors
def validate(path: Path = SCENARIO) -> None:
    """Check a scenario against the format and the loaded facility; changes nothing."""
    data = load_yaml_file(path)
    with console.session() as session:
        checked = scenario.check(session, data, source=path.name)
        console.out.print(
            f"{path.name}: scenario {checked.document.key} is valid: playbook "
            f"{checked.playbook.key} v{checked.playbook.version}, "
            f"{len(checked.document.injects)} injects, clock {checked.document.clock.mode.value}"
        )


@app.command("start")
@console.handle_errors
def start(
    path: Path = SCENARIO,
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Start a run of a scenario and fire what is due at T+0."""
    data = load_yaml_file(path)
    with _runner() as runner:
        exercise_id = runner.start(data=data, actor=console.actor(as_person), source=path.name)
    _show(exercise_id, json)


@app.command("advance")
@console.handle_errors
def advance(
    ref: str = REF,
    minutes: float | None = typer.Option(
        None, help="Step on by this many minutes (default: to the next inject)."
    ),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Step a stepped clock to the next inject (or by --minutes) and fire what is due."""
    body = console.validated(AdvanceRequest, minutes=minutes)
    with _runner() as runner:
        exercise_id = runner.advance(ref, minutes=body.minutes, actor=console.actor(as_person))
    _show(exercise_id, json)


@app.command("run")
@console.handle_errors
def run(ref: str = REF, as_person: str | None = console.AS_OPTION) -> None:
    """Fire injects as an accelerated or real-time clock reaches them, until none are left."""
    with _runner() as runner:
        fired = runner.run(ref, actor=console.actor(as_person), sleep=time.sleep)
    console.out.print(f"{fired} inject(s) fired")


@app.command("status")
@console.handle_errors
def status(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show the exercise clock, the injects and what they did, and complications in force."""
    with console.session() as session:
        exercise_id = service.get_or_raise(session, ref).id
    _show(exercise_id, json)


@app.command("end")
@console.handle_errors
def end(
    ref: str = REF,
    note: str = typer.Option("", help="Why or how it ended (kept in the ledger)."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """End the exercise: its clock stops and pending injects never fire."""
    if len(note) > 2000:
        raise ValidationFailed("--note is over 2000 characters", field="note")
    with _runner() as runner:
        exercise_id = runner.end(ref, actor=console.actor(as_person), note=note)
    _show(exercise_id, json=False)


@app.command("list")
@console.handle_errors
def list_command(json: bool = console.JSON_OPTION) -> None:
    """List exercise runs, newest first."""
    now = console.clock().now()
    with console.session() as session:
        rows = [views.exercise_read(e, now) for e in service.list_exercises(session)]
    if json:
        console.print_json(rows)
        return
    console.print_table(
        "Exercises",
        ["ref", "scenario", "clock", "status", "at", "incidents", "started (UTC)"],
        [
            (
                r.reference,
                r.key,
                r.mode,
                r.status,
                f"T+{r.elapsed_minutes:g}",
                ", ".join(r.incidents),
                r.started_at,
            )
            for r in rows
        ],
    )


@app.command("report")
@console.handle_errors
def report_command(
    ref: str = REF,
    fmt: ReportFormat = typer.Option(ReportFormat.MD, "--format", help="md, html or json."),
    output: Path | None = typer.Option(None, "-o", "--output", help="Write to this file."),
) -> None:
    """Write the after-action report: scores, bottlenecks, findings and the timeline chart."""
    with console.session() as session:
        built = report.build(session, clock=console.clock(), ref=ref)
    if fmt is ReportFormat.HTML:
        data = writing.html(built).encode()
    elif fmt is ReportFormat.JSON:
        data = writing.as_json(built) + b"\n"
    else:
        data = writing.markdown(built).encode()
    if output is None:
        console.out.file.write(data.decode())
        return
    try:
        output.write_bytes(data)
    except OSError as exc:
        raise ValidationFailed(f"cannot write {output}: {exc.strerror}", field="output") from None
    console.out.print(f"wrote {output} ({len(data)} bytes)")
