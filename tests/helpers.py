"""Small helpers shared by tests."""

from __future__ import annotations

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
