"""`coherence training`: the curriculum, people's records, qualifications and readiness."""

from __future__ import annotations

from pathlib import Path

import typer

from coherence import console
from coherence.documents import load_yaml_file
from coherence.training import loading, service, views
from coherence.training.schemas import CompletionCreate, ParticipationCreate, ReadinessRead

app = typer.Typer(
    help="Training: the curriculum, people's records, qualifications and readiness.",
    no_args_is_help=True,
)
curriculum_app = typer.Typer(help="The training curriculum.", no_args_is_help=True)
app.add_typer(curriculum_app, name="curriculum")

PERSON = typer.Argument(..., help="Person key, e.g. helen-marsh.")
FILE = typer.Argument(..., help="A YAML file.", exists=True, dir_okay=False)
DAYS = typer.Option(7, min=1, max=90, help="How many days of shifts ahead to look at.")


def load_files(curriculum: Path, records: Path, *, actor: str) -> list[str]:
    """Load a curriculum and then a records file; return what each did, in words."""
    with console.session() as session:
        loaded = loading.load_curriculum(
            session,
            clock=console.clock(),
            data=load_yaml_file(curriculum),
            actor=actor,
            source=curriculum.name,
        )
    with console.session() as session:
        added = loading.load_records(
            session,
            clock=console.clock(),
            data=load_yaml_file(records),
            actor=actor,
            source=records.name,
        )
    return [
        f"curriculum {curriculum.name}: version {loaded.version} "
        f"({'new' if loaded.changed else 'unchanged'}), {loaded.courses} courses",
        f"training {records.name}: created {added.created}, unchanged {added.unchanged}",
    ]


@curriculum_app.command("show")
@console.handle_errors
def show_curriculum(json: bool = console.JSON_OPTION) -> None:
    """Show the courses and drills in force and the roles they qualify for."""
    with console.session() as session:
        row, _parsed = service.current_or_raise(session)
        read = views.curriculum_read(row)
    if json:
        console.print_json(read)
        return
    console.out.print(
        f"curriculum version {read.version} ({read.source}); checked roles: "
        f"{', '.join(read.checked_roles)}; reminders {', '.join(map(str, read.reminder_days))} "
        "days ahead"
    )
    console.print_table(
        "Courses and drills",
        ["key", "kind", "title", "qualifies for", "valid (days)", "pass score", "playbook"],
        [
            (
                c.key,
                c.kind,
                c.title,
                ", ".join(c.qualifies_for),
                c.validity_days,
                c.pass_score,
                c.playbook,
            )
            for c in read.courses
        ],
    )


@curriculum_app.command("load")
@console.handle_errors
def load_curriculum(path: Path = FILE, as_person: str | None = console.AS_OPTION) -> None:
    """Make a curriculum file the one in force; any problem changes nothing."""
    with console.session() as session:
        loaded = loading.load_curriculum(
            session,
            clock=console.clock(),
            data=load_yaml_file(path),
            actor=console.actor(as_person),
            source=path.name,
        )
    state = "now in force" if loaded.changed else "unchanged"
    console.out.print(f"curriculum version {loaded.version} {state}: {loaded.courses} courses")


@app.command("load")
@console.handle_errors
def load_records(path: Path = FILE, as_person: str | None = console.AS_OPTION) -> None:
    """Add the training records of a file not held yet; any problem changes nothing."""
    with console.session() as session:
        added = loading.load_records(
            session,
            clock=console.clock(),
            data=load_yaml_file(path),
            actor=console.actor(as_person),
            source=path.name,
        )
    console.out.print(f"training {path.name}: created {added.created}, unchanged {added.unchanged}")


@app.command("show")
@console.handle_errors
def show(person: str = PERSON, json: bool = console.JSON_OPTION) -> None:
    """Show a person's qualifications (until when) and training records."""
    with console.session() as session:
        read = views.person_training(session, person_key=person, now=console.clock().now())
    if json:
        console.print_json(read)
        return
    console.print_table(
        f"Qualifications of {read.name} ({read.person})",
        ["role", "standing", "lapses on", "checked", "renew or complete"],
        [
            (q.role, q.standing, q.expires_on, "yes" if q.checked else "", ", ".join(q.renew))
            for q in read.qualifications
        ],
    )
    console.print_table(
        "Training records",
        ["on", "kind", "course or drill", "exercise", "score", "assessor", "evidence"],
        [
            (r.completed_on, r.kind, r.course, r.exercise, r.score, r.assessor, r.evidence)
            for r in read.records
        ],
    )


@app.command("record")
@console.handle_errors
def record(
    person: str = PERSON,
    course: str = typer.Option(..., help="Course or drill key."),
    on: str = typer.Option(..., "--on", help="Day completed, YYYY-MM-DD."),
    assessor: str = typer.Option(..., help="Who taught or assessed it."),
    evidence: str = typer.Option("", help="Certificate number, sign-off sheet, where kept."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record a course (or drill) a person completed."""
    request = console.validated(
        CompletionCreate, course=course, completed_on=on, assessor=assessor, evidence=evidence
    )
    with console.session() as session:
        row = service.record_completion(
            session,
            clock=console.clock(),
            person_key=person,
            request=request,
            actor=console.actor(as_person),
        )
        console.out.print(f"recorded #{row.id}: {person} completed {course} on {on}")


@app.command("exercise")
@console.handle_errors
def exercise(
    person: str = PERSON,
    name: str = typer.Option(..., "--exercise", help="The exercise, e.g. its reference."),
    on: str = typer.Option(..., "--on", help="Day of the exercise, YYYY-MM-DD."),
    drill: str | None = typer.Option(None, help="The curriculum drill it counts for."),
    role: str | None = typer.Option(None, help="The role played."),
    score: float | None = typer.Option(None, help="Score, 0 to 100."),
    assessor: str = typer.Option("exercise director", help="Who scored it."),
    evidence: str = typer.Option("", help="Notes, where the report is kept."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record a person's part in an exercise; a drill passed with its score is renewed."""
    request = console.validated(
        ParticipationCreate,
        exercise=name,
        completed_on=on,
        drill=drill,
        role=role,
        score=score,
        assessor=assessor,
        evidence=evidence,
    )
    with console.session() as session:
        row = service.record_participation(
            session,
            clock=console.clock(),
            person_key=person,
            request=request,
            actor=console.actor(as_person),
        )
        console.out.print(f"recorded #{row.id}: {person} took part in {name} on {on}")


def _print_readiness(read: ReadinessRead) -> None:
    console.print_table(
        f"Readiness {read.at:%Y-%m-%d %H:%M} to {read.until:%Y-%m-%d %H:%M} UTC",
        ["site", "role", "status", "rotations", "shifts", "gaps", "single-point", "min qualified"],
        [
            (
                r.site,
                r.role,
                r.status,
                ", ".join(r.rotations) + (" (another site's)" if r.borrowed else ""),
                r.shifts,
                r.gaps,
                r.fragile_shifts,
                r.min_depth,
            )
            for r in read.roles
        ],
    )


@app.command("readiness")
@console.handle_errors
def readiness(
    site: str | None = typer.Option(None, help="Only this site."),
    days: int = DAYS,
    json: bool = console.JSON_OPTION,
) -> None:
    """For each site and checked role: shifts with an unqualified person on call, and shifts
    a single absence would leave uncovered (fewer than two qualified people)."""
    with console.session() as session:
        read = views.build_readiness(session, now=console.clock().now(), days=days, site=site)
    if json:
        console.print_json(read)
        return
    _print_readiness(read)
    _print_gaps(read)


def _print_gaps(read: ReadinessRead) -> None:
    if not read.on_call_gaps:
        console.out.print("every on-call shift of a checked role is held by someone qualified")
        return
    console.print_table(
        "On call but not qualified",
        ["rotation", "from", "until", "person", "problem"],
        [(g.rotation, g.starts_at, g.ends_at, g.person, g.problem) for g in read.on_call_gaps],
    )


@app.command("on-call")
@console.handle_errors
def on_call(days: int = DAYS, json: bool = console.JSON_OPTION) -> None:
    """List on-call shifts of checked roles held by someone not qualified for them."""
    with console.session() as session:
        read = views.build_readiness(session, now=console.clock().now(), days=days)
    if json:
        console.print_json(read.on_call_gaps)
        return
    _print_gaps(read)
