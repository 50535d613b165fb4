"""Small helpers shared by tests."""

from __future__ import annotations

import os
from importlib import metadata
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

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
