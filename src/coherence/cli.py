"""The `coherence` command: one root with a sub-command group per capability."""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from coherence import __version__, console
from coherence.access import service as access_service
from coherence.access.cli import access_app, password_app, session_app
from coherence.access.cli import app as token_app
from coherence.access.retention_cli import app as retention_app
from coherence.catalog import service as catalog_service
from coherence.catalog.cli import app as facility_app
from coherence.catalog.domain import IcsRole
from coherence.comms import statements_service
from coherence.comms.cli import app as statement_app
from coherence.containment.cli import app as change_app
from coherence.db import make_engine, make_session_factory
from coherence.detection.cli import app as telemetry_app
from coherence.detection.simulation import parse_fault
from coherence.doctor.cli import doctor
from coherence.documents import load_yaml_file
from coherence.errors import NotFound, ValidationFailed
from coherence.evidence.cli import app as evidence_app
from coherence.exercises.cli import app as exercise_app
from coherence.incidents.cli import app as incident_app
from coherence.incidents.cli import tasks_app
from coherence.incidents.metrics_cli import app as metrics_app
from coherence.learning import lessons_cli
from coherence.learning.cli import app as nearmiss_app
from coherence.ledger import keys, note
from coherence.ledger.cli import app as ledger_app
from coherence.migrations import runner
from coherence.obligations.cli import app as obligation_app
from coherence.partners import service as partners_service
from coherence.partners.cli import agreement_app, unified_app
from coherence.partners.package_cli import app as package_app
from coherence.partners.stix_cli import app as stix_app
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.cli import app as playbook_app
from coherence.recovery import supply_service
from coherence.recovery.cli import app as recovery_app
from coherence.reviews.cli import app as review_app
from coherence.risk import service as risk_service
from coherence.risk.cli import app as risk_app
from coherence.training import cli as training_cli
from coherence.watch.cli import app as watch_app

app = typer.Typer(
    help="Coherence: emergency response for critical quantum infrastructure.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
db_app = typer.Typer(help="Database schema migrations.", no_args_is_help=True)
worker_app = typer.Typer(
    help="Background roles: timers and message delivery.", no_args_is_help=True
)
app.add_typer(db_app, name="db")
app.add_typer(facility_app, name="facility")
app.add_typer(playbook_app, name="playbook")
app.add_typer(incident_app, name="incident")
app.add_typer(tasks_app, name="task")
app.add_typer(token_app, name="token")
app.add_typer(password_app, name="password")
app.add_typer(session_app, name="session")
app.add_typer(access_app, name="access")
app.add_typer(ledger_app, name="ledger")
app.add_typer(telemetry_app, name="telemetry")
app.add_typer(worker_app, name="worker")
app.add_typer(statement_app, name="statement")
app.add_typer(evidence_app, name="evidence")
app.add_typer(retention_app, name="retention")
app.add_typer(agreement_app, name="agreement")
app.add_typer(unified_app, name="unified")
app.add_typer(package_app, name="package")
app.add_typer(stix_app, name="stix")
app.add_typer(obligation_app, name="obligation")
app.add_typer(change_app, name="change")
app.add_typer(recovery_app, name="recovery")
app.add_typer(review_app, name="review")
app.add_typer(metrics_app, name="metrics")
app.add_typer(risk_app, name="risk")
app.add_typer(exercise_app, name="exercise")
app.add_typer(training_cli.app, name="training")
app.add_typer(watch_app, name="watch")
app.add_typer(nearmiss_app, name="nearmiss")
app.add_typer(lessons_cli.app, name="lessons")
app.add_typer(lessons_cli.summary_app, name="readiness-summary")
app.command("doctor")(doctor)

TOKEN_PATTERN = re.compile(r"coh_[A-Za-z0-9_\-]+")
# Whatever else may carry a credential in a log line: a query or form field or cookie such as
# password=, token= or coherence_token= (the session cookie), a bearer header, URL userinfo.
SECRET_PATTERNS = (
    (
        re.compile(
            r"(?i)\b(password|passwd|secret|token|access_token|api_key|coherence_token)"
            r"=(?!coh_\[redacted\]|\[redacted\])[^&\s;,\"']+"
        ),
        r"\1=[redacted]",
    ),
    (re.compile(r"(?i)\bbearer\s+(?!coh_\[redacted\])[A-Za-z0-9._~+/=\-]+"), "Bearer [redacted]"),
    (re.compile(r"(://[^/\s:@]+):[^@\s/]+@"), r"\1:[redacted]@"),
)


def _sample_file(name: str) -> Path:
    packaged = Path(__file__).resolve().parent / "examples" / name
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "examples" / name


def _version(value: bool) -> None:
    if value:
        console.out.print(f"coherence {__version__}")
        raise typer.Exit


@app.callback()
def root(
    _version_flag: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version and exit."
    ),
) -> None:
    """Settings come from COHERENCE_* environment variables; see docs/operations.md."""


@db_app.command("upgrade")
@console.handle_errors
def db_upgrade() -> None:
    """Create or migrate the database schema to the newest version."""
    settings = console.load_settings()
    engine = make_engine(settings.resolved_database_url)
    try:
        runner.upgrade(engine)
        current = runner.current_revision(engine)
    finally:
        engine.dispose()
    console.out.print(f"database at migration {current}")


@db_app.command("current")
@console.handle_errors
def db_current() -> None:
    """Print the migration the database is at and the newest one this version ships."""
    engine = make_engine(console.load_settings().resolved_database_url)
    try:
        current = runner.current_revision(engine)
    finally:
        engine.dispose()
    console.out.print(f"database: {current or 'not migrated'}; code: {runner.head_revision()}")


@app.command("init")
@console.handle_errors
def init(
    sample: bool = typer.Option(False, "--sample", help="Also load the sample facility."),
    facility: Path | None = typer.Option(None, help="Also load this facility file."),
) -> None:
    """Migrate the database, publish the shipped playbooks, and optionally load a facility."""
    db_upgrade()
    settings = console.load_settings()
    signer = keys.ensure_signer(settings.resolved_ledger_key_file, origin=settings.ledger_origin)
    with console.session() as session:
        published = playbooks_service.publish_library(
            session, clock=console.clock(), actor="coherence-init"
        )
        templates = statements_service.load_shipped_templates(
            session, clock=console.clock(), actor="coherence-init"
        )
    created = sum(1 for _row, new in published if new)
    console.out.print(f"playbooks: {len(published)} shipped, {created} new or changed")
    console.out.print(
        f"statement templates: {len(templates.created) + len(templates.unchanged)} shipped, "
        f"{len(templates.created)} new or changed"
    )
    console.out.print(
        f"ledger key: {settings.resolved_ledger_key_file} (owner-only); "
        f"verifier key: {note.verifier_for(signer)}"
    )
    files = [_sample_file("facility.yaml")] if sample else []
    files += [facility] if facility else []
    for path in files:
        data = load_yaml_file(path)
        with console.session() as session:
            report = catalog_service.load_facility(
                session, clock=console.clock(), data=data, actor="coherence-init", source=path.name
            )
        console.out.print(
            f"facility {path.name}: created {sum(report.created.values())}, "
            f"updated {sum(report.updated.values())}, "
            f"unchanged {sum(report.unchanged.values())}"
        )
    if sample:
        for name, load, summary in SAMPLE_FILES:
            path = _sample_file(name)
            with console.session() as session:
                report = load(
                    session,
                    clock=console.clock(),
                    data=load_yaml_file(path),
                    actor="coherence-init",
                    source=path.name,
                )
            console.out.print(summary(path.name, report))
        curriculum, records = _sample_file("curriculum.yaml"), _sample_file("training.yaml")
        for line in training_cli.load_files(curriculum, records, actor="coherence-init"):
            console.out.print(line)
        _issue_sample_token()


def _counted(what: str) -> Callable[[str, Any], str]:
    """Say what a load created, updated and left as it was."""
    return lambda name, report: (
        f"{what} {name}: created {len(report.created)}, updated {len(report.updated)}, "
        f"unchanged {len(report.unchanged)}"
    )


# The sample's other files, loaded by `init --sample` after the facility, in this order.
SAMPLE_FILES: tuple[tuple[str, Callable[..., Any], Callable[[str, Any], str]], ...] = (
    ("agreements.yaml", partners_service.load_agreements, _counted("agreements")),
    (
        "supply.yaml",
        supply_service.load_supply,
        lambda name, report: f"supply {name}: {report.spares} spares, {report.contracts} contracts",
    ),
    ("risks.yaml", risk_service.load_register, _counted("risks")),
)


def _issue_sample_token() -> None:
    settings = console.load_settings()
    with console.session() as session:
        commander = next(
            (
                p
                for p in catalog_service.list_people(session)
                if IcsRole.INCIDENT_COMMANDER.value in p.roles
            ),
            None,
        )
        if commander is None:
            raise NotFound("the sample facility has no incident commander", field="facility")
        _row, secret = access_service.create_token(
            session,
            clock=console.clock(),
            person_key=commander.key,
            name="init --sample",
            actor="coherence-init",
        )
    console.out.print(
        f"\nDashboard login for {commander.name} ({commander.key}), an incident commander:\n"
        f"  http://{settings.host}:{settings.port}/login?token={secret}\n"
        f"API token (use as `Authorization: Bearer ...`): {secret}"
    )


@app.command("serve")
@console.handle_errors
def serve(
    host: str | None = typer.Option(None, help="Bind address (default COHERENCE_HOST)."),
    port: int | None = typer.Option(None, help="Port (default COHERENCE_PORT)."),
    workers: bool = typer.Option(True, help="Run the timer and delivery workers in-process."),
    simulate: bool = typer.Option(
        False, "--simulate", help="Stream simulated telemetry for the facility's assets."
    ),
    fault: list[str] = typer.Option(
        [], help="With --simulate: strike an asset, as NAME@ASSET (e.g. cooling-outage@fridge-1)."
    ),
    fault_after: float = typer.Option(60.0, min=0, help="Seconds before the faults strike."),
) -> None:
    """Serve the API and dashboard, with timers and message delivery in the same process."""
    import uvicorn

    from coherence.app import create_app

    settings = console.load_settings()
    # Links in messages point at the address this run serves on.
    settings = settings.model_copy(
        update={"host": host or settings.host, "port": port or settings.port}
    )
    try:
        faults = tuple(parse_fault(text) for text in fault)
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="fault") from None
    if faults and not simulate:
        raise ValidationFailed("--fault needs --simulate", field="fault")
    try:
        application = create_app(
            settings,
            run_workers=workers,
            simulate=faults if simulate else None,
            fault_after=fault_after,
        )
    except ValueError as exc:
        raise ValidationFailed(str(exc), field="fault") from None
    if simulate:
        struck = ", ".join(fault) or "none (add --fault NAME@ASSET)"
        console.err.print(f"Simulating the facility; faults in {fault_after:g} s: {struck}")
    bind_host, bind_port = settings.host, settings.port
    console.err.print(
        f"Coherence {__version__} on http://{bind_host}:{bind_port} "
        f"(database {application.state.engine.url.render_as_string()}, "
        f"{settings.environment.value} mode)"
    )
    console.err.print(f"Dashboard: http://{bind_host}:{bind_port}/login  API: /docs")
    uvicorn.run(
        application,
        host=bind_host,
        port=bind_port,
        log_config=_log_config(),
        # Open dashboards hold live-update streams; stopping must not wait minutes for them.
        timeout_graceful_shutdown=5,
    )


def redact(text: str) -> str:
    """Return ``text`` with API tokens, passwords, session cookies and other credentials masked."""
    text = TOKEN_PATTERN.sub("coh_[redacted]", text)
    for pattern, replacement in SECRET_PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactTokens(logging.Filter):
    """Hide credentials in every log line (the dashboard login link carries a token)."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Rewrite the record with credentials masked, traceback included; never drop it."""
        message = record.getMessage()
        shown = redact(message)
        if shown != message and isinstance(record.args, tuple):
            # uvicorn's access formatter unpacks the arguments: mask them, keep them a tuple.
            record.args = tuple(redact(a) if isinstance(a, str) else a for a in record.args)
        if shown != record.getMessage():
            record.msg, record.args = shown, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _log_config() -> dict[str, Any]:
    from uvicorn.config import LOGGING_CONFIG

    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {})["redact_tokens"] = {"()": RedactTokens}
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).append("redact_tokens")
    # Coherence's own warnings go through the same filtered handler, not Python's bare fallback.
    config["root"] = {"handlers": ["default"], "level": "WARNING"}
    return config


@worker_app.command("run")
@console.handle_errors
def worker_run(
    once: bool = typer.Option(False, "--once", help="Do one pass and exit."),
) -> None:
    """Fire due timers and deliver queued messages (for deployments without `serve`)."""
    from coherence.access.retention_service import RetentionJob
    from coherence.comms.config import make_dispatcher
    from coherence.db import ensure_migrated
    from coherence.workers import EmbeddedWorkers

    settings = console.load_settings()
    engine = make_engine(settings.resolved_database_url)
    ensure_migrated(engine)
    factory, clock = make_session_factory(engine), console.clock()
    workers = EmbeddedWorkers(
        factory,
        clock=clock,
        dispatcher=make_dispatcher(settings, factory, clock=clock),
        interval=settings.worker_interval_seconds,
        ledger_signer=keys.ensure_signer(
            settings.resolved_ledger_key_file, origin=settings.ledger_origin
        ),
        retention=RetentionJob.from_settings(settings),
    )
    if once:
        fired, sent = workers.run_once()
        console.out.print(f"timers fired: {fired}; messages sent: {sent}")
        return
    console.err.print("worker running; Ctrl-C to stop")
    try:
        workers.run_forever()
    except KeyboardInterrupt:
        console.err.print("worker stopped")


@worker_app.command("detect")
@console.handle_errors
def worker_detect(
    site: list[str] = typer.Option(..., "--site", help="Site whose telemetry to take (repeat)."),
    nats_url: str | None = typer.Option(None, help="NATS server (default COHERENCE_NATS_URL)."),
) -> None:
    """Evaluate telemetry from NATS JetStream for the given sites (scale-out detector).

    Each site has one durable consumer: run one detector per site, or one for several.
    """
    import asyncio

    from coherence.db import ensure_migrated
    from coherence.detection.nats_intake import NatsStats, run_nats_detector
    from coherence.detection.pipeline import Pipeline
    from coherence.evidence.store import LocalStore

    settings = console.load_settings()
    engine = make_engine(settings.resolved_database_url)
    ensure_migrated(engine)
    pipeline = Pipeline(
        make_session_factory(engine),
        clock=console.clock(),
        store=LocalStore(settings.resolved_evidence_dir),
        evidence_max_samples=settings.evidence_max_samples,
    )
    url = nats_url or settings.nats_url
    console.err.print(f"detector for {', '.join(site)} on {url}; Ctrl-C to stop")
    try:
        asyncio.run(
            run_nats_detector(
                url,
                site,
                pipeline,
                NatsStats(),
                ack_wait_seconds=settings.nats_ack_wait_seconds,
            )
        )
    except KeyboardInterrupt:
        console.err.print("detector stopped")
    finally:
        engine.dispose()


def main() -> None:
    """Entry point of the `coherence` console script."""
    app()
