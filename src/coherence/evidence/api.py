"""Evidence HTTP API: upload, list, custody, read (recorded) and verify."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from coherence.access.api import CurrentPerson
from coherence.access.domain import DataCategory, Tlp
from coherence.evidence import service
from coherence.evidence.domain import CustodyAction
from coherence.evidence.models import EvidenceItem
from coherence.evidence.store import ContentStore
from coherence.http import ERROR_RESPONSES, ClockDep, SessionDep
from coherence.ledger import service as ledger_service

EVIDENCE_UPLOAD_PATH = "/api/v1/evidence"
router = APIRouter(prefix="/api/v1", tags=["evidence"], responses=ERROR_RESPONSES)


class EvidenceRead(BaseModel):
    """An evidence item as registered."""

    id: int
    name: str
    description: str
    sha256: str
    size: int
    tlp: Tlp
    category: DataCategory
    incident_id: int | None
    asset: str | None
    collected_by: str
    collected_at: datetime
    custodian: str
    state: str


class CustodyRead(BaseModel):
    """One custody event, as the ledger holds it."""

    seq: int
    at: datetime
    event: str
    by: str
    details: dict[str, Any]


class EvidenceReport(EvidenceRead):
    """An item with its custody trail."""

    custody: list[CustodyRead]


class CustodyRequest(BaseModel):
    """Move an item through custody."""

    model_config = ConfigDict(extra="forbid")

    action: Literal["transferred", "sealed", "released", "destroyed"]
    reason: Annotated[str, StringConstraints(min_length=1, max_length=2000)]
    to: str | None = Field(None, max_length=64, description="New custodian, for transferred.")


class StoreProblemRead(BaseModel):
    """An item whose content no longer matches the ledger."""

    item_id: int
    sha256: str
    problem: str


def _read(item: EvidenceItem) -> EvidenceRead:
    return EvidenceRead(
        id=item.id,
        name=item.name,
        description=item.description,
        sha256=item.sha256,
        size=item.size,
        tlp=Tlp(item.tlp),
        category=DataCategory(item.category),
        incident_id=item.incident_id,
        asset=item.asset,
        collected_by=item.collected_by,
        collected_at=item.collected_at,
        custodian=item.custodian,
        state=item.state,
    )


def _store(request: Request) -> ContentStore:
    store: ContentStore = request.app.state.evidence_store
    return store


@router.post("/evidence", response_model=EvidenceRead, status_code=201, summary="Collect evidence")
def collect(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    person: CurrentPerson,
    content: Annotated[bytes, Body(media_type="application/octet-stream")],
    name: Annotated[str, Query(min_length=1, max_length=200)],
    tlp: Tlp,
    category: DataCategory = DataCategory.OPERATIONAL,
    incident: Annotated[str | None, Query(max_length=20)] = None,
    asset: Annotated[str | None, Query(max_length=64)] = None,
    description: Annotated[str, Query(max_length=2000)] = "",
) -> EvidenceRead:
    """Store the request body (raw bytes) by SHA-256 and register it; you become its custodian.

    Bodies over ``COHERENCE_MAX_EVIDENCE_BYTES`` get 413 and nothing is stored."""
    settings = request.app.state.settings
    return _read(
        service.collect(
            session,
            clock=clock,
            store=_store(request),
            content=io.BytesIO(content),
            name=name,
            actor=person.key,
            tlp=tlp,
            category=category,
            incident=incident,
            asset=asset,
            description=description,
            max_bytes=settings.max_evidence_bytes,
        )
    )


@router.get("/evidence", response_model=list[EvidenceRead], summary="List evidence")
def list_items(session: SessionDep, _person: CurrentPerson) -> list[EvidenceRead]:
    """Every item, oldest first."""
    return [_read(i) for i in service.list_items(session)]


@router.get("/evidence/{item_id}", response_model=EvidenceReport, summary="Custody report")
def report(item_id: int, session: SessionDep, _person: CurrentPerson) -> EvidenceReport:
    """The item and every custody event, with its ledger sequence number."""
    item = service.get_or_raise(session, item_id)
    trail = [
        CustodyRead(
            seq=e.seq,
            at=e.recorded_at,
            event=e.entry_type.removeprefix("evidence:"),
            by=e.actor,
            details=ledger_service.payload_of(e),
        )
        for e in service.custody_trail(session, item_id)
    ]
    return EvidenceReport(**_read(item).model_dump(), custody=trail)


@router.post("/evidence/{item_id}/custody", response_model=EvidenceRead, summary="Custody step")
def custody(
    item_id: int,
    change: CustodyRequest,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    person: CurrentPerson,
) -> EvidenceRead:
    """Transfer, seal, release or destroy, with a reason; 409 if the item's state forbids it."""
    return _read(
        service.custody(
            session,
            clock=clock,
            item_id=item_id,
            action=CustodyAction(change.action),
            actor=person.key,
            reason=change.reason,
            to_person=change.to,
            store=_store(request),
        )
    )


@router.get(
    "/evidence/{item_id}/content",
    summary="Read evidence content",
    response_class=Response,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def content(
    item_id: int,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    person: CurrentPerson,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    """The stored bytes; the access, its reason and who made it go into the ledger."""
    item, stream = service.read(
        session,
        clock=clock,
        store=_store(request),
        item_id=item_id,
        actor=person.key,
        reason=reason,
    )
    with stream:
        data = stream.read()
    return Response(
        data,
        media_type="application/octet-stream",
        headers={"X-Content-SHA256": item.sha256, "Cache-Control": "no-store"},
    )


@router.post(
    "/evidence/verify", response_model=list[StoreProblemRead], summary="Verify the evidence store"
)
def verify(request: Request, session: SessionDep, _person: CurrentPerson) -> list[StoreProblemRead]:
    """Re-hash every item against the hash the ledger recorded; an empty list means all match."""
    return [
        StoreProblemRead(item_id=p.item_id, sha256=p.sha256, problem=p.problem)
        for p in service.verify(session, _store(request))
    ]
