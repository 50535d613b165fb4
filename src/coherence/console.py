"""Shared command-line plumbing: opening the database, actors, output and errors."""

from __future__ import annotations

import getpass
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import wraps
from typing import Any, ParamSpec, TypeVar

import orjson
import typer
from pydantic import BaseModel, ValidationError
from rich.console import Console
from rich.table import Table
from rich.text import Text
from sqlalchemy.exc import OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session

from coherence import dbhealth
from coherence.clock import Clock, SystemClock
from coherence.db import ensure_migrated, make_engine, make_session_factory, session_scope
from coherence.documents import problems_error, validation_problems
from coherence.errors import CoherenceError, ValidationFailed
from coherence.settings import Settings

P = ParamSpec("P")
R = TypeVar("R")
M = TypeVar("M", bound=BaseModel)

# Markup is off: notes, titles and keys are people's text, and "[/x]" in a note must print as is.
out = Console(highlight=False, soft_wrap=True, markup=False)
err = Console(stderr=True, highlight=False, soft_wrap=True, markup=False)

JSON_OPTION = typer.Option(False, "--json", help="Print JSON for scripts instead of a table.")
AS_OPTION = typer.Option(
    None,
    "--as",
    envvar="COHERENCE_AS",
    help="Person key to act as (recorded in the ledger); default: cli:<your login>.",
)


def load_settings() -> Settings:
    """Read settings, turning a bad environment variable into a clear error."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = "; ".join(
            f"COHERENCE_{'_'.join(str(p) for p in e['loc']).upper()}: {e['msg']}"
            if e["loc"]
            else str(e["msg"]).removeprefix("Value error, ")
            for e in exc.errors()
        )
        raise CoherenceError(f"invalid settings: {problems}") from None


def clock() -> Clock:
    """Return the clock commands use."""
    return SystemClock()


@contextmanager
def session(*, check_migrated: bool = True) -> Iterator[Session]:
    """Open one transaction on the configured database; commit if the block succeeds."""
    engine = make_engine(load_settings().resolved_database_url)
    try:
        if check_migrated:
            ensure_migrated(engine)
        with session_scope(make_session_factory(engine)) as opened:
            yield opened
    finally:
        engine.dispose()


def actor(as_person: str | None) -> str:
    """Return who the ledger should say acted."""
    if as_person:
        return as_person
    try:
        return f"cli:{getpass.getuser()}"
    except (KeyError, OSError):
        return f"cli:uid-{os.getuid()}"


def handle_errors(func: Callable[P, R]) -> Callable[P, R]:
    """Print expected failures as one clear line (plus each problem) and exit 1."""

    @wraps(func)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return func(*args, **kwargs)
        except CoherenceError as exc:
            _print_error(exc)
        except (OperationalError, PoolTimeout) as exc:
            # An outage or a full disk is the operator's to fix, not a bug: no traceback.
            _print_error(dbhealth.explain(exc, show_cause=True))
            err.print("  check the database, or run `coherence doctor`", markup=False)
        raise typer.Exit(1)

    return wrapper


def _print_error(exc: CoherenceError) -> None:
    err.print(Text("error: ", style="bold red") + Text(exc.message))
    for problem in exc.details.get("problems", []):
        err.print(f"  - {problem['path']}: {problem['message']}", markup=False)


def require_yes(yes: bool, consequence: str) -> None:
    """Exit with code 1, saying what would happen, unless the command was given --yes."""
    if not yes:
        err.print(f"{consequence} Run again with --yes to do it.")
        raise typer.Exit(1)


def validated(model: type[M], **fields: Any) -> M:
    """Build ``model`` from command options, naming each bad option like the API would."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise problems_error("options", validation_problems(exc)) from None


def validated_text(text: str, field: str, *, max_length: int = 10_000) -> str:
    """Refuse empty or oversized free text, naming the option."""
    if not text.strip():
        raise ValidationFailed(f"{field} must not be empty", field=field)
    if len(text) > max_length:
        raise ValidationFailed(f"{field} is over {max_length} characters", field=field)
    return text


def print_json(value: Any) -> None:
    """Print a model, list of models or plain data as JSON."""
    sys.stdout.write(orjson.dumps(_plain(value), option=orjson.OPT_INDENT_2).decode() + "\n")


def _plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print rows as a table for people."""
    table = Table(title=title, title_justify="left")
    for index, column in enumerate(columns):
        # Keys and references are what people copy into the next command: never cut them.
        table.add_column(column, no_wrap=index == 0, overflow="fold")
    for row in rows:
        table.add_row(*(Text(format_cell(cell)) for cell in row))
    out.print(table)


def format_cell(value: Any) -> str:
    """Render one table cell."""
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def duration(seconds: float | None) -> str:
    """Render seconds as a short human duration."""
    if seconds is None:
        return "-"
    minutes, secs = divmod(int(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s"
