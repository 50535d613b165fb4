"""The application factory: builds the HTTP API, dashboard and embedded workers."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from sqlalchemy import Engine

from coherence import __version__
from coherence.access import throttle
from coherence.access.api import router as access_router
from coherence.access.retention_service import RetentionJob
from coherence.apidocs import mount_api_docs
from coherence.catalog.api import router as catalog_router
from coherence.clock import Clock, SystemClock
from coherence.comms.api import router as comms_router
from coherence.comms.channels import Channel
from coherence.comms.config import make_dispatcher
from coherence.containment.api import router as containment_router
from coherence.db import ensure_migrated, make_engine, make_session_factory
from coherence.dbhealth import DatabaseHealth
from coherence.detection.api import router as detection_router
from coherence.detection.leadership import MQTT_INTAKE_LOCK, leadership_for
from coherence.detection.mqtt import MqttStats, broker_from_settings, run_mqtt_intake
from coherence.detection.pipeline import Pipeline
from coherence.detection.simulation import SimulationRunner
from coherence.detection.sweeper import SilenceSweeper
from coherence.errors import DatabaseUnavailable
from coherence.evidence.api import EVIDENCE_UPLOAD_PATH
from coherence.evidence.api import router as evidence_router
from coherence.evidence.store import LocalStore
from coherence.exercises.api import router as exercises_router
from coherence.exercises.views import router as exercise_pages
from coherence.http import ERROR_RESPONSES, BodySizeLimit, install_error_handlers
from coherence.incidents.api import router as incidents_router
from coherence.incidents.metrics_exposition import router as prometheus_router
from coherence.inflight import InFlightLimit, pool_capacity
from coherence.learning.api import router as learning_router
from coherence.learning.pages import router as learning_pages
from coherence.ledger import keys, note
from coherence.ledger.api import router as ledger_router
from coherence.obligations.api import router as obligations_router
from coherence.partners.api import router as partners_router
from coherence.partners.taxii import router as taxii_router
from coherence.playbooks.api import router as playbooks_router
from coherence.recovery.api import router as recovery_router
from coherence.reviews.api import router as reviews_router
from coherence.risk.api import router as risk_router
from coherence.risk.views import router as risk_pages
from coherence.settings import Settings
from coherence.training.api import router as training_router
from coherence.training.pages import router as training_pages
from coherence.watch.api import router as watch_router
from coherence.watch.pages import router as watch_pages
from coherence.web.live import LIVE_EVENTS_PATH
from coherence.web.routes import mount_web
from coherence.workers import EmbeddedWorkers

API_DESCRIPTION = """
Coherence coordinates the response to incidents at quantum facilities: it opens and
classifies incidents, starts their playbooks, pages responders, records every change in
an append-only ledger and measures the response.

Authenticate with `Authorization: Bearer <token>`; issue a token with
`coherence token create --person KEY`. Errors are JSON with `code`, `message` and the
`field` to fix.
"""


def create_app(
    settings: Settings | None = None,
    *,
    engine: Engine | None = None,
    clock: Clock | None = None,
    channels: Mapping[str, Channel] | None = None,
    run_workers: bool = True,
    simulate: tuple[tuple[str, str], ...] | None = None,
    fault_after: float = 60.0,
) -> FastAPI:
    """Build the app; refuses an unmigrated database before serving anything.

    ``simulate`` streams simulated telemetry for the facility, striking each
    (fault, asset) ``fault_after`` seconds after start.
    """
    settings = settings or Settings()
    engine = engine or make_engine(settings.resolved_database_url)
    ensure_migrated(engine)
    clock = clock or SystemClock()
    session_factory = make_session_factory(engine)
    evidence_store = LocalStore(settings.resolved_evidence_dir)
    pipeline = Pipeline(
        session_factory,
        clock=clock,
        store=evidence_store,
        evidence_max_samples=settings.evidence_max_samples,
    )
    # Every process holding telemetry state sweeps it, workers or not (--no-workers too).
    sweeper = SilenceSweeper(pipeline)
    signer = keys.ensure_signer(settings.resolved_ledger_key_file, origin=settings.ledger_origin)
    workers = EmbeddedWorkers(
        session_factory,
        clock=clock,
        dispatcher=make_dispatcher(settings, session_factory, clock=clock, channels=channels),
        interval=settings.worker_interval_seconds,
        ledger_signer=signer,
        retention=RetentionJob.from_settings(settings),
    )

    mqtt_stats = MqttStats()
    mqtt_broker = broker_from_settings(settings)
    simulation = (
        SimulationRunner(
            session_factory, pipeline, clock=clock, faults=simulate, fault_after=fault_after
        )
        if simulate is not None
        else None
    )

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        if run_workers:
            workers.start()
        sweeper.start()
        if simulation is not None:
            simulation.start()
        mqtt = (
            asyncio.create_task(
                run_mqtt_intake(
                    mqtt_broker,
                    pipeline,
                    mqtt_stats,
                    clock,
                    leadership_for(engine, name="mqtt-intake", job=MQTT_INTAKE_LOCK),
                )
            )
            if mqtt_broker is not None
            else None
        )
        try:
            yield
        finally:
            if mqtt is not None:
                mqtt.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await mqtt
            if simulation is not None:
                simulation.stop()
            workers.stop()
            sweeper.stop()

    app = FastAPI(
        title="Coherence",
        version=__version__,
        description=API_DESCRIPTION,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.engine = engine
    app.state.session_factory = session_factory
    app.state.clock = clock
    app.state.database_health = DatabaseHealth(engine, clock)
    app.state.workers = workers
    app.state.evidence_store = evidence_store
    app.state.ledger_verifier = note.verifier_for(signer)
    app.state.pipeline = pipeline
    app.state.mqtt_stats = mqtt_stats
    app.state.simulation = simulation
    install_error_handlers(app)
    throttle.install(app, settings)
    for router in (
        access_router,
        catalog_router,
        playbooks_router,
        incidents_router,
        ledger_router,
        detection_router,
        comms_router,
        evidence_router,
        partners_router,
        obligations_router,
        containment_router,
        recovery_router,
        exercises_router,
        reviews_router,
        risk_router,
        training_router,
        watch_router,
        learning_router,
    ):
        app.include_router(router)
    app.include_router(taxii_router)
    app.include_router(prometheus_router)
    mount_api_docs(app)
    mount_web(app)
    app.include_router(risk_pages)
    app.include_router(exercise_pages)
    app.include_router(training_pages)
    app.include_router(watch_pages)
    app.include_router(learning_pages)

    @app.get("/healthz", tags=["ops"], summary="Liveness")
    def healthz() -> dict[str, str]:
        """Answer ok while the process serves requests."""
        return {"status": "ok"}

    @app.get("/readyz", tags=["ops"], summary="Readiness", responses=ERROR_RESPONSES)
    def readyz(request: Request) -> dict[str, str]:
        """Answer ok while the database answers; 503, saying since when, while it does not."""
        health: DatabaseHealth = request.app.state.database_health
        if not health.probe():
            since = health.failed()
            raise DatabaseUnavailable(
                f"the database is unreachable (since {since:%H:%M:%S} UTC)",
                field="database",
                unreachable_since=since.isoformat(),
            )
        return {"status": "ok", "database": "ok"}

    app.add_middleware(
        InFlightLimit, connections=pool_capacity(engine), exempt=frozenset({LIVE_EVENTS_PATH})
    )
    app.add_middleware(
        BodySizeLimit,
        max_bytes=settings.max_request_bytes,
        larger={EVIDENCE_UPLOAD_PATH: settings.max_evidence_bytes},
    )
    return app
