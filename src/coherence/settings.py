"""Runtime settings, read from ``COHERENCE_*`` environment variables."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import Self

from pydantic import Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEVELOPMENT_SECRET = "development-only-insecure-secret"


class Environment(StrEnum):
    """Where this process runs; decides how strict start-up checks are."""

    DEVELOPMENT = "development"
    PRODUCTION = "production"


class QualificationPolicy(StrEnum):
    """What assigning a checked role to someone not qualified for it does."""

    WARN = "warn"
    REFUSE = "refuse"


# Recorded reads of incident data are personal data (who read what, when): kept as long as
# the shipped retention policy keeps personal data.
ACCESS_EVENT_DAYS = 365
# Samples of one asset a detector keeps for an incident's evidence snapshot: about 10 minutes
# of ten metrics every 3 s, at roughly 260 bytes each (docs/operations.md has the arithmetic).
EVIDENCE_MAX_SAMPLES = 2_000


class Settings(BaseSettings):
    """Every setting Coherence reads; each maps to ``COHERENCE_<NAME>``."""

    model_config = SettingsConfigDict(env_prefix="COHERENCE_", extra="ignore")

    environment: Environment = Field(
        Environment.DEVELOPMENT,
        description="development or production; production refuses the default secret key.",
    )
    data_dir: Path = Field(
        Path("coherence-data"),
        description="Directory for the embedded SQLite database and local files.",
    )
    database_url: str = Field(
        "",
        description="SQLAlchemy URL; empty means a SQLite file inside data_dir.",
    )
    host: str = Field("127.0.0.1", description="Address the HTTP server binds to.")
    port: int = Field(8000, ge=1, le=65535, description="Port the HTTP server binds to.")
    secret_key: str = Field(
        DEVELOPMENT_SECRET,
        min_length=16,
        description="Secret that signs one-click acknowledgement links; change it in production.",
    )
    session_hours: float = Field(
        12, gt=0, le=24 * 7, description="How long a dashboard sign-in lasts, in hours."
    )
    max_request_bytes: int = Field(
        1_000_000, ge=1024, description="Largest HTTP request body accepted, in bytes."
    )
    mqtt_url: str = Field(
        "",
        description="MQTT broker to take telemetry from, e.g. mqtt://127.0.0.1:1883; "
        "empty means no MQTT intake.",
    )
    mqtt_ca_file: Path | None = Field(
        None,
        description="PEM file of the CAs that sign an mqtts:// broker's certificate; unset "
        "means the system's CAs.",
    )
    nats_url: str = Field(
        "nats://127.0.0.1:4222",
        description="NATS server with JetStream that `coherence worker detect` consumes.",
    )
    nats_ack_wait_seconds: float = Field(
        30,
        ge=1,
        le=3600,
        description="How long a telemetry batch taken by a detector that stops answering waits "
        "before JetStream delivers it again; applies when a site's consumer is first created.",
    )
    channels_file: Path | None = Field(
        None,
        description="YAML file naming the transport for each kind of contact point (see "
        "docs/notifications.md); unset means every message is printed to the console.",
    )
    public_url: str = Field(
        "",
        description="Address people reach the dashboard at, for links inside messages; "
        "empty means http://<host>:<port>.",
    )
    dispatch_concurrency: int = Field(
        4, ge=1, le=256, description="How many messages one dispatcher sends at once."
    )
    dispatch_batch: int = Field(
        100, ge=1, le=10_000, description="How many messages one dispatcher pass claims."
    )
    dispatch_lease_seconds: float = Field(
        30.0,
        ge=1,
        le=3600,
        description="How long a dispatcher holds a message it is sending; if it dies, another "
        "takes the message up after this.",
    )
    ledger_key_file: Path | None = Field(
        None,
        description="The ledger's Ed25519 signing key (owner-only); empty means "
        "ledger-signer.key inside data_dir. Created by `coherence init` if missing.",
    )
    ledger_origin: str = Field(
        "",
        max_length=120,
        pattern=r"^[^\s+]*$",
        description="The log's name in its checkpoints when the key is made, e.g. "
        "ledger.lab.example.org; empty means a random coherence-ledger-<id>.",
    )
    evidence_dir: Path | None = Field(
        None,
        description="Where evidence content is stored, by SHA-256; empty means evidence/ "
        "inside data_dir.",
    )
    max_evidence_bytes: int = Field(
        100_000_000, ge=1024, description="Largest single evidence item accepted, in bytes."
    )
    evidence_max_samples: int = Field(
        EVIDENCE_MAX_SAMPLES,
        ge=1,
        le=10_000_000,
        description="Most samples of one asset the detector keeps for the evidence snapshot "
        "taken when an incident opens (the newest are kept; the snapshot says how many older "
        "ones were dropped).",
    )
    retention_file: Path | None = Field(
        None,
        description="YAML file of days to keep each data category (see docs/retention.md); "
        "unset means the shipped policy.",
    )
    access_event_days: int = Field(
        ACCESS_EVENT_DAYS,
        ge=15,
        le=36_500,
        description="Days to keep each recorded read of incident data (access events) once "
        "its incident is closed; at least 15, as unusual-access detection compares with the "
        "last 14 days.",
    )
    obligations_file: Path | None = Field(
        None,
        description="YAML file of regulatory obligations, their triggers and report clocks "
        "(see docs/obligations.md); unset means the shipped file.",
    )
    qualification_policy: QualificationPolicy = Field(
        QualificationPolicy.WARN,
        description="warn or refuse: assigning a checked role (see docs/training.md) to someone "
        "not qualified is allowed and recorded, or refused unless an override reason is given.",
    )
    worker_interval_seconds: float = Field(
        1.0, gt=0, le=60, description="How often the embedded timer and outbox workers poll."
    )
    login_attempts_per_minute: int = Field(
        30,
        ge=0,
        le=1_000_000,
        description="Dashboard sign-in attempts one client address may make a minute (in a "
        "burst of as many); 0 turns the limit off.",
    )
    login_failures_per_hour: int = Field(
        20,
        ge=0,
        le=1_000_000,
        description="Failed password sign-ins one person key may have an hour (in a burst of as "
        "many) before password sign-in for that key pauses; 0 turns the limit off.",
    )
    intake_requests_per_second: float = Field(
        1000,
        ge=0,
        le=1_000_000,
        description="Telemetry and alert requests one API token may send a second (bursts of "
        "twice as many); each may carry a whole batch. 0 turns the limit off.",
    )

    @model_validator(mode="after")
    def _refuse_default_secret_outside_development(self) -> Self:
        if self.environment is Environment.PRODUCTION and self.secret_key == DEVELOPMENT_SECRET:
            raise ValueError(
                "COHERENCE_SECRET_KEY is the development default; set a long random value "
                "(e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`) "
                "before running with COHERENCE_ENVIRONMENT=production"
            )
        return self

    @property
    def resolved_public_url(self) -> str:
        """The dashboard's address as people reach it, without a trailing slash."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def resolved_ledger_key_file(self) -> Path:
        """Where the ledger's signing key lives."""
        return self.ledger_key_file or self.data_dir / "ledger-signer.key"

    @property
    def resolved_evidence_dir(self) -> Path:
        """Where evidence content is stored."""
        return self.evidence_dir or self.data_dir / "evidence"

    @property
    def resolved_database_url(self) -> str:
        """The database URL in use: the explicit one, or the embedded SQLite file."""
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'coherence.db').as_posix()}"
