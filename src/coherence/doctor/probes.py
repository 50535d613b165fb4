"""What `coherence doctor` looks at: the database, its clock, the key, directories and disks."""

from __future__ import annotations

import math
import os
import shutil
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import Engine, make_url, text
from sqlalchemy.exc import DBAPIError, SQLAlchemyError

from coherence.clock import Clock
from coherence.db import make_engine, make_session_factory
from coherence.doctor import domain
from coherence.doctor.domain import Finding, SettingsFacts, Thresholds, Verdict
from coherence.errors import CoherenceError
from coherence.ledger import checkpoints, keys, note
from coherence.migrations import runner
from coherence.settings import DEVELOPMENT_SECRET, Environment, Settings

LATENCY_SAMPLES = 3


@dataclass(frozen=True)
class Options:
    """How far the doctor reaches: timeouts, test messages, thresholds."""

    timeout: float = 3.0
    send: bool = True
    test_to: dict[str, str] = field(default_factory=dict)
    thresholds: Thresholds = field(default_factory=Thresholds)


def settings_facts(settings: Settings) -> SettingsFacts:
    """The settings the security warnings are judged from."""
    return SettingsFacts(
        production=settings.environment is Environment.PRODUCTION,
        default_secret=settings.secret_key == DEVELOPMENT_SECRET,
        secret_length=len(settings.secret_key),
        host=settings.host,
        public_url=settings.public_url,
    )


def sqlite_file(url: str) -> Path | None:
    """The file behind a SQLite URL; None for other databases and in-memory SQLite."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return None
    return Path(parsed.database)


def check_database(settings: Settings, *, clock: Clock, options: Options) -> list[Finding]:
    """Database reachable and fast, migrated, on time; then the ledger key against it."""
    url = settings.resolved_database_url
    where = make_url(url).render_as_string(hide_password=True)
    database_file = sqlite_file(url)
    if database_file is not None and not database_file.is_file():
        missing = f"no database file at {database_file}"
        return [
            Finding(
                "database",
                Verdict.FAIL,
                missing,
                "run `coherence init` (or `coherence db upgrade`), or correct COHERENCE_DATA_DIR",
            ),
            domain.not_checked("migrations", missing),
            domain.not_checked("clock", missing),
            check_key(settings, None),
        ]
    engine = make_engine(url, **_connect_args(url, options.timeout))
    try:
        latency, error = _latency(engine)
        found = [
            domain.judge_database(
                where, latency_ms=latency, error=error, thresholds=options.thresholds
            )
        ]
        if error is not None:
            unreachable = "the database is unreachable"
            return [
                *found,
                domain.not_checked("migrations", unreachable),
                domain.not_checked("clock", unreachable),
                check_key(settings, None),
            ]
        migrations = _migrations(engine)
        migrated = migrations.verdict is Verdict.OK
        return [
            *found,
            migrations,
            _clock(engine, clock, options.thresholds),
            check_key(settings, engine if migrated else None),
        ]
    finally:
        engine.dispose()


def _connect_args(url: str, timeout: float) -> dict[str, Any]:
    if make_url(url).get_backend_name() == "postgresql":
        # libpq takes whole seconds.
        return {"connect_args": {"connect_timeout": max(1, math.ceil(timeout))}}
    return {}


def _latency(engine: Engine) -> tuple[float | None, str | None]:
    try:
        with engine.connect() as connection:
            timings = []
            for _ in range(LATENCY_SAMPLES):
                start = time.perf_counter()
                connection.execute(text("SELECT 1"))
                timings.append((time.perf_counter() - start) * 1000)
    except SQLAlchemyError as exc:
        return None, first_line(exc.orig if isinstance(exc, DBAPIError) else exc)
    return statistics.median(timings), None


def _migrations(engine: Engine) -> Finding:
    current, head = runner.current_revision(engine), runner.head_revision()
    known = False
    if current is not None:
        try:
            known = (
                ScriptDirectory.from_config(runner.alembic_config()).get_revision(current)
                is not None
            )
        except CommandError:
            known = False
    return domain.judge_migrations(current, head, known=known)


def _clock(engine: Engine, clock: Clock, thresholds: Thresholds) -> Finding:
    postgres = engine.dialect.name == "postgresql"
    # clock_timestamp(), not now(): now() is when the transaction began.
    query = "SELECT clock_timestamp()" if postgres else "SELECT strftime('%Y-%m-%d %H:%M:%f')"
    try:
        with engine.connect() as connection:
            before = clock.now()
            value = connection.execute(text(query)).scalar_one()
            after = clock.now()
    except SQLAlchemyError as exc:
        return domain.judge_clock(None, uncertainty=0, error=first_line(exc), thresholds=thresholds)
    server = _as_utc(value)
    midpoint = before + (after - before) / 2
    # SQLite reports milliseconds, so half a millisecond more is unknowable.
    uncertainty = (after - before).total_seconds() / 2 + (0 if postgres else 0.0005)
    return domain.judge_clock(
        (server - midpoint).total_seconds(),
        uncertainty=uncertainty,
        error=None,
        thresholds=thresholds,
    )


def _as_utc(value: datetime | str) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def check_key(settings: Settings, engine: Engine | None) -> Finding:
    """The ledger key: present, owner-only, a key, and the one that signed the ledger."""
    path = settings.resolved_ledger_key_file
    try:
        mode: int | None = path.stat().st_mode if os.name == "posix" else None
    except FileNotFoundError:
        return domain.judge_key(str(path), exists=False, mode=None, error=None, signed_latest=None)
    except OSError as exc:
        return domain.judge_key(
            str(path),
            exists=True,
            mode=None,
            error=f"cannot read {path}: {exc}",
            signed_latest=None,
        )
    try:
        signer = keys.load_signer(path)
    except CoherenceError as exc:
        return domain.judge_key(
            str(path), exists=True, mode=mode, error=exc.message, signed_latest=None
        )
    signed = _signed_latest(engine, note.verifier_for(signer)) if engine is not None else None
    return domain.judge_key(str(path), exists=True, mode=mode, error=None, signed_latest=signed)


def _signed_latest(engine: Engine, verifier: str) -> bool | None:
    with make_session_factory(engine)() as session:
        latest = checkpoints.latest(session)
        signed_note = None if latest is None else latest.note
        session.rollback()
    if signed_note is None:
        return None
    try:
        note.open_note(signed_note, [verifier])
    except note.NoteError:
        return False
    return True


def check_evidence_dir(settings: Settings) -> Finding:
    """Whether evidence can be written where the settings put it."""
    path = settings.resolved_evidence_dir
    if not path.exists():
        parent = existing_ancestor(path)
        writable = os.access(parent, os.W_OK | os.X_OK)
        error = None if writable else f"{parent} is not writable, so it cannot be made"
        return domain.judge_directory("evidence store", str(path), error=error, exists=False)
    if not path.is_dir():
        return domain.judge_directory(
            "evidence store", str(path), error="it is not a directory", exists=True
        )
    try:
        with tempfile.NamedTemporaryFile(dir=path, prefix=".doctor-") as probe:
            probe.write(b"coherence doctor")
            probe.flush()
    except OSError as exc:
        return domain.judge_directory(
            "evidence store", str(path), error=exc.strerror or str(exc), exists=True
        )
    return domain.judge_directory("evidence store", str(path), error=None, exists=True)


def check_disks(settings: Settings, thresholds: Thresholds) -> list[Finding]:
    """Free space on each volume holding the SQLite database or the evidence store."""
    places = {"evidence": settings.resolved_evidence_dir}
    database_file = sqlite_file(settings.resolved_database_url)
    if database_file is not None:
        places = {"database": database_file.parent, **places}
    volumes: dict[int, tuple[list[str], Path]] = {}
    for what, place in places.items():
        existing = existing_ancestor(place)
        names, _path = volumes.setdefault(existing.stat().st_dev, ([], existing))
        names.append(what)
    found = []
    for names, path in volumes.values():
        usage = shutil.disk_usage(path)
        found.append(
            domain.judge_disk(
                " and ".join(names),
                str(path),
                free=usage.free,
                total=usage.total,
                thresholds=thresholds,
            )
        )
    return found


def existing_ancestor(path: Path) -> Path:
    """The path itself if it exists, else its nearest parent that does."""
    for candidate in (path, *path.absolute().parents):
        if candidate.exists():
            return candidate
    return Path("/")


def first_line(exc: BaseException | Any) -> str:
    """An exception as one line, for a summary."""
    message = str(exc).strip().splitlines()
    return message[0] if message else type(exc).__name__
