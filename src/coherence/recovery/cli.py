"""`coherence recovery`: restoration plans, step progress, gates and supply data."""

from __future__ import annotations

from datetime import UTC
from pathlib import Path

import typer

from coherence import console
from coherence.documents import load_yaml_file
from coherence.errors import ValidationFailed
from coherence.recovery import pausing, service, supply_service, verification, views
from coherence.recovery.models import RecoveryPlan
from coherence.recovery.schemas import PlanCreate

app = typer.Typer(
    help="Recovery: restoration order, verification gates, rollback, spares and contracts.",
    no_args_is_help=True,
)
REF = typer.Argument(..., help="Incident id or reference, e.g. INC-00042.")
ASSET = typer.Argument(..., help="The asset key of the step.")


def _print(plan: RecoveryPlan, json: bool) -> None:
    read = views.plan_read(plan)
    if json:
        console.print_json(read)
        return
    eta = "unknown (a branch is paused or a part has no source)"
    if read.eta_hours is not None and read.full_service_at is not None:
        eta = f"{read.eta_hours:g} h, full service by {read.full_service_at:%Y-%m-%d %H:%M} UTC"
    console.out.print(
        f"{read.incident} plan v{read.version} ({read.status}, {read.reason}): "
        f"{read.done}/{read.total} done, {read.waves} wave(s); estimate {eta}"
    )
    console.print_table(
        "Restoration order",
        ["wave", "asset", "criticality", "state", "waits for", "start +h", "done +h"],
        [
            (
                "done" if s.wave < 0 else s.wave + 1,
                s.asset,
                s.criticality,
                s.state,
                views.wait_text(s),
                "" if s.start_hours is None else f"{s.start_hours:g}",
                "" if s.finish_hours is None else f"{s.finish_hours:g}",
            )
            for s in plan.steps
        ],
    )
    # Where each part comes from (vendor, window, mutual aid) and why a step is paused.
    for step in plan.steps:
        for line in (step.part["detail"] if step.part else None, step.note):
            if line:
                console.out.print(f"  {step.asset}: {line}", markup=False)


def _parts(values: list[str]) -> dict[str, str]:
    found: dict[str, str] = {}
    for value in values:
        asset, sep, part = value.partition("=")
        if not sep:
            raise ValidationFailed(f"--part takes ASSET=PART, not {value!r}", field="part")
        found[asset.strip()] = part.strip()
    return found


@app.command("plan")
@console.handle_errors
def plan(
    ref: str = REF,
    also: list[str] = typer.Option([], "--also", help="Another asset that is down (repeat)."),
    part: list[str] = typer.Option([], "--part", help="ASSET=PART needing replacement (repeat)."),
    as_person: str | None = console.AS_OPTION,
    json: bool = console.JSON_OPTION,
) -> None:
    """Plan restoration (or recompute it: a new version that keeps every step's state)."""
    body = console.validated(PlanCreate, also=also, parts=_parts(part))
    with console.session() as session:
        row = service.make_plan(
            session,
            clock=console.clock(),
            ref=ref,
            actor=console.actor(as_person),
            also=body.also,
            parts=body.parts,
        )
        _print(row, json)


@app.command("show")
@console.handle_errors
def show(ref: str = REF, json: bool = console.JSON_OPTION) -> None:
    """Show the plan: waves, waits, states, gates pending and the time to full service."""
    with console.session() as session:
        row = pausing.refresh(session, clock=console.clock(), ref=ref)
        _print(row, json)


@app.command("start")
@console.handle_errors
def start(ref: str = REF, asset: str = ASSET, as_person: str | None = console.AS_OPTION) -> None:
    """Begin work on a ready step."""
    with console.session() as session:
        step = verification.start_step(
            session, clock=console.clock(), ref=ref, asset=asset, actor=console.actor(as_person)
        )
        console.out.print(f"{step.asset}: {step.state}")


@app.command("complete")
@console.handle_errors
def complete(ref: str = REF, asset: str = ASSET, as_person: str | None = console.AS_OPTION) -> None:
    """Finish a step's work and judge its gates (a failed gate rolls back and recomputes)."""
    with console.session() as session:
        step = verification.complete_step(
            session, clock=console.clock(), ref=ref, asset=asset, actor=console.actor(as_person)
        )
        console.out.print(f"{step.asset}: {step.state}")
        for gate in step.gates:
            console.out.print(f"  {gate['key']}: {gate['status']} {gate['detail']}", markup=False)


@app.command("gate")
@console.handle_errors
def gate(
    ref: str = REF,
    asset: str = ASSET,
    key: str = typer.Argument(..., help="The manual gate, e.g. backups-validated."),
    failed: bool = typer.Option(False, "--failed", help="Record the gate as failed."),
    note: str = typer.Option("", help="What was checked."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record a manual gate; telemetry gates are judged from readings, not typed."""
    with console.session() as session:
        step = verification.record_gate(
            session,
            clock=console.clock(),
            ref=ref,
            asset=asset,
            gate=key,
            passed=not failed,
            note=note,
            actor=console.actor(as_person),
        )
        console.out.print(f"{step.asset}: {step.state}")


@app.command("reading")
@console.handle_errors
def reading(
    ref: str = REF,
    asset: str = ASSET,
    metric: str = typer.Argument(..., help="A metric of the metric dictionary."),
    value: str = typer.Argument(..., help="The value (a number or a state)."),
    unit: str = typer.Argument(..., help="Its unit, e.g. K, us, ratio, state."),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Record a telemetry reading for a step's asset and judge its gates again."""
    number: float | str
    try:
        number = float(value)
    except ValueError:
        number = value
    clock = console.clock()
    with console.session() as session:
        sample = supply_service.sample(asset, metric, number, unit, clock.now().astimezone(UTC))
        supply_service.record_readings(session, clock=clock, samples=[sample])
        step = verification.check_gates(
            session, clock=clock, ref=ref, asset=asset, actor=console.actor(as_person)
        )
        console.out.print(f"{step.asset}: {step.state}")


@app.command("resume")
@console.handle_errors
def resume(ref: str = REF, asset: str = ASSET, as_person: str | None = console.AS_OPTION) -> None:
    """Resume a branch paused by an anomaly, once its signal has cleared."""
    with console.session() as session:
        row = pausing.resume(
            session, clock=console.clock(), ref=ref, asset=asset, actor=console.actor(as_person)
        )
        console.out.print(f"plan v{row.version}: {row.status}")


@app.command("load-supply")
@console.handle_errors
def load_supply(
    path: Path = typer.Argument(..., help="A supply YAML file.", exists=True, dir_okay=False),
    as_person: str | None = console.AS_OPTION,
) -> None:
    """Replace spares and vendor contracts from a file; any problem changes nothing."""
    with console.session() as session:
        report = supply_service.load_supply(
            session,
            clock=console.clock(),
            data=load_yaml_file(path),
            actor=console.actor(as_person),
            source=path.name,
        )
    console.out.print(f"supply {path.name}: {report.spares} spares, {report.contracts} contracts")
