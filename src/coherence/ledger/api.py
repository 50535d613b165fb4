"""Ledger HTTP API: read the append-only record."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel

from coherence.access.api import CurrentPerson
from coherence.http import ERROR_RESPONSES, SessionDep
from coherence.ledger import service

router = APIRouter(prefix="/api/v1", tags=["ledger"], responses=ERROR_RESPONSES)


class LedgerEntryRead(BaseModel):
    """One ledger entry."""

    seq: int
    type: str
    recorded_at: datetime
    actor: str
    subject: str
    incident_id: int | None
    payload: dict[str, Any]


@router.get("/ledger", response_model=list[LedgerEntryRead], summary="Read the ledger")
def read_ledger(
    session: SessionDep,
    _person: CurrentPerson,
    after: int = Query(-1, ge=-1, description="Only entries with a larger sequence number."),
    limit: int = Query(100, ge=1, le=1000),
) -> list[LedgerEntryRead]:
    """Entries in sequence order; page with ``after`` set to the last ``seq`` you saw."""
    return [
        LedgerEntryRead(
            seq=e.seq,
            type=e.entry_type,
            recorded_at=e.recorded_at,
            actor=e.actor,
            subject=e.subject,
            incident_id=e.incident_id,
            payload=service.payload_of(e),
        )
        for e in service.list_entries(session, after_seq=after, limit=limit)
    ]
