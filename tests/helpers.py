"""Small helpers shared by tests."""

from __future__ import annotations

import os
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler
from importlib import metadata
from pathlib import Path

import pytest
from click.testing import Result
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence.cli import app
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from coherence.timers.models import Timer


def counts(factory: sessionmaker[Session]) -> dict[str, int]:
    """Count the rows every state change writes, to prove a refusal wrote nothing."""
    with session_scope(factory) as session:
        return {
            "ledger": session.scalar(select(func.count()).select_from(LedgerEntry)) or 0,
            "outbox": session.scalar(select(func.count()).select_from(OutboxMessage)) or 0,
            "timers": session.scalar(select(func.count()).select_from(Timer)) or 0,
        }


def packaged_file(distribution: str, path: str) -> Path:
    """Return a data file a test extra ships, read as a file; skip locally if it is missing."""
    try:
        found = metadata.distribution(distribution).locate_file(path)
    except metadata.PackageNotFoundError:
        if os.environ.get("CI", "").lower() == "true":
            raise
        pytest.skip(f"{distribution} (a test extra) is not installed")
    return Path(str(found))


Run = Callable[..., Result]


def database_url(engine: Engine) -> str:
    """The URL a separate process (the CLI) opens to reach the test database and schema."""
    url = engine.url.render_as_string(hide_password=False)
    if engine.url.get_backend_name() != "postgresql":
        return url
    with engine.connect() as connection:
        schema = connection.exec_driver_sql("show search_path").scalar()
    return f"{url}?options=-csearch_path%3D{schema}"


def cli_runner(engine: Engine, data_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """Return ``run(*args, code=0)``: the CLI against the test database, failing on tracebacks."""
    monkeypatch.setenv("COHERENCE_DATABASE_URL", database_url(engine))
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(data_dir))
    monkeypatch.delenv("COHERENCE_AS", raising=False)
    runner = CliRunner()

    def invoke(*args: str, code: int = 0) -> Result:
        result = runner.invoke(app, list(args))
        assert "Traceback" not in result.output, result.output
        if result.exception and not isinstance(result.exception, SystemExit):
            raise result.exception
        assert result.exit_code == code, result.output
        return result

    return invoke


class Receiver(BaseHTTPRequestHandler):
    """A webhook receiver that takes a little time per message and remembers each id."""

    received: Counter[str] = Counter()
    lock = threading.Lock()

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("content-length", 0)))
        time.sleep(0.02)
        with self.lock:
            self.received[self.headers["X-Coherence-Message-Id"]] += 1
        self.send_response(204)
        self.end_headers()

    def log_message(self, *_: object) -> None:
        return
