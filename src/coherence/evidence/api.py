"""Evidence HTTP API: upload, list, custody, read (recorded) and verify."""

from __future__ import annotations

import io
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from coherence.access import guard
from coherence.access.api import Audits, Caller, ListsIncidents, OpensIncident, Reads, Records
from coherence.access.domain import DataCategory, Tlp
from coherence.access.policy import Action
from coherence.access.redaction import CATEGORY_NAMES, Redactions, placeholder
from coherence.errors import PermissionDenied
from coherence.evidence import service
from coherence.evidence.domain import CustodyAction
from coherence.evidence.models import EvidenceItem
from coherence.evidence.store import ContentStore
from coherence.http import ERROR_RESPONSES, ClockDep, SessionDep
from coherence.incidents import service as incidents_service
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
    caller: OpensIncident,
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
    if incident is not None:
        caller.require(Action.RECORD, incidents_service.get_or_raise(session, incident), tlp=tlp)
    return _read(
        service.collect(
            session,
            clock=clock,
            store=_store(request),
            content=io.BytesIO(content),
            name=name,
            actor=caller.person.key,
            tlp=tlp,
            category=category,
            incident=incident,
            asset=asset,
            description=description,
            max_bytes=settings.max_evidence_bytes,
        )
    )


@router.get("/evidence", response_model=list[EvidenceRead], summary="List evidence")
def list_items(session: SessionDep, caller: ListsIncidents) -> list[EvidenceRead]:
    """Every item you may see, oldest first; descriptions you are not entitled to are redacted."""
    found = Redactions([], set())
    shown = [
        _shown(caller, session, item, found)
        for item in service.list_items(session)
        if _visible(caller, session, item)
    ]
    if found:
        caller.record_redaction("evidence", found)
    return shown


@router.get("/evidence/{item_id}", response_model=EvidenceReport, summary="Custody report")
def report(item_id: int, session: SessionDep, caller: Reads) -> EvidenceReport:
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
    found = Redactions([], set())
    shown = _shown(caller, session, item, found)
    if found:
        caller.record_redaction(f"evidence:{item.id}", found, incident=caller.incident)
    return EvidenceReport(**shown.model_dump(), custody=trail)


@router.post("/evidence/{item_id}/custody", response_model=EvidenceRead, summary="Custody step")
def custody(
    item_id: int,
    change: CustodyRequest,
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    caller: Records,
) -> EvidenceRead:
    """Transfer, seal, release or destroy, with a reason; 409 if the item's state forbids it."""
    return _read(
        service.custody(
            session,
            clock=clock,
            item_id=item_id,
            action=CustodyAction(change.action),
            actor=caller.person.key,
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
    caller: Reads,
    reason: Annotated[str, Query(min_length=1, max_length=2000)],
) -> Response:
    """The stored bytes; the access, its reason and who made it go into the ledger.

    A reader not entitled to the item's data category is refused, and the refusal recorded."""
    category = DataCategory(service.get_or_raise(session, item_id).category)
    if category not in caller.decision.entitled:
        found = Redactions([], set())
        found.add("content", category)
        caller.record_redaction(f"evidence:{item_id}", found, incident=caller.incident)
        refused = PermissionDenied(
            f"the item holds {CATEGORY_NAMES[category]}, which you are not entitled to read",
            field="item_id",
        )
        # Answered rather than raised, so the record of the refusal is committed.
        return JSONResponse(refused.as_dict(), status_code=refused.status_code)
    item, stream = service.read(
        session,
        clock=clock,
        store=_store(request),
        item_id=item_id,
        actor=caller.person.key,
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
def verify(request: Request, session: SessionDep, _caller: Audits) -> list[StoreProblemRead]:
    """Re-hash every item against the hash the ledger recorded; an empty list means all match."""
    return [
        StoreProblemRead(item_id=p.item_id, sha256=p.sha256, problem=p.problem)
        for p in service.verify(session, _store(request))
    ]


def _visible(caller: Caller, session: Session, item: EvidenceItem) -> bool:
    """Whether the caller may see an item: by its incident, or facility-wide if it has none."""
    tlp = Tlp(item.tlp)
    if item.incident_id is None:
        if tlp is Tlp.RED:
            return caller.person.key in (item.collected_by, item.custodian)
        return caller.can(Action.READ, None)
    incident = incidents_service.get_or_raise(session, item.incident_id)
    return caller.can(Action.READ, incident, tlp=tlp)


def _shown(caller: Caller, session: Session, item: EvidenceItem, found: Redactions) -> EvidenceRead:
    """The item's read model, its description withheld from a reader not entitled to it."""
    shown = _read(item)
    category = DataCategory(item.category)
    incident = (
        incidents_service.get_or_raise(session, item.incident_id) if item.incident_id else None
    )
    entitled = caller.decision.entitled
    if caller.incident is not incident:
        entitled = guard.decide_for(
            session,
            person=caller.person,
            action=Action.READ,
            now=caller.clock.now(),
            incident=incident,
            tlp=Tlp(item.tlp),
        ).entitled
    if category not in entitled and shown.description:
        found.add(f"evidence:{item.id}.description", category)
        return shown.model_copy(update={"description": placeholder(category)})
    return shown
