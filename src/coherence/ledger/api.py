"""Ledger HTTP API: read the record, its checkpoints and proofs, and export bundles."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, Field

from coherence.access.api import Audits, Public
from coherence.http import ERROR_RESPONSES, MAX_INT64, SessionDep
from coherence.ledger import checkpoints, service, tree

router = APIRouter(prefix="/api/v1", tags=["ledger"], responses=ERROR_RESPONSES)
# A text route's errors are still JSON, but FastAPI documents a route's error models in the
# route's own media type; these say application/json for the checkpoint route.
JSON_ERRORS: dict[int | str, dict[str, Any]] = {
    status: {
        "description": spec["description"],
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorBody"}}},
    }
    for status, spec in ERROR_RESPONSES.items()
}


class LedgerEntryRead(BaseModel):
    """One ledger entry."""

    seq: int
    type: str
    recorded_at: datetime
    actor: str
    subject: str
    incident_id: int | None
    payload: dict[str, Any]
    purged_at: datetime | None = Field(
        None, description="When retention purged the payload; its leaf hash still proves it."
    )


@router.get("/ledger", response_model=list[LedgerEntryRead], summary="Read the ledger")
def read_ledger(
    session: SessionDep,
    _caller: Audits,
    after: int = Query(
        -1, ge=-1, le=MAX_INT64, description="Only entries with a larger sequence number."
    ),
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
            purged_at=e.purged_at,
        )
        for e in service.list_entries(session, after_seq=after, limit=limit)
    ]


class InclusionProof(BaseModel):
    """Proof that one entry is in the tree of a given size (RFC 9162 2.1.3)."""

    seq: int
    size: int
    leaf: str = Field(description="Base64 leaf hash of the entry's canonical bytes.")
    root: str = Field(description="Base64 root of the tree at ``size``.")
    proof: list[str] = Field(description="Base64 hashes, leaf to root.")


class ConsistencyProof(BaseModel):
    """Proof that the tree at ``to`` extends the tree at ``from`` (RFC 9162 2.1.4)."""

    from_size: int = Field(alias="from")
    to_size: int = Field(alias="to")
    from_root: str
    to_root: str
    proof: list[str]

    model_config = {"populate_by_name": True}


@router.get(
    "/ledger/key",
    response_class=PlainTextResponse,
    summary="The ledger's verifier key",
    responses=JSON_ERRORS,
    dependencies=[Depends(Public("anyone checking a bundle needs the public key"))],
)
def verifier_key(request: Request) -> str:
    """The public key checkpoints are signed with, as a C2SP note verifier key. No token needed:
    anyone checking a bundle needs it, and it reveals nothing."""
    key: str = request.app.state.ledger_verifier
    return key + "\n"


@router.get(
    "/ledger/checkpoint",
    response_class=PlainTextResponse,
    summary="The latest checkpoint",
    responses=JSON_ERRORS,
)
def latest_checkpoint(session: SessionDep, _caller: Audits) -> str:
    """The latest signed checkpoint: a C2SP tlog-checkpoint in a signed note."""
    return checkpoints.latest_or_raise(session).note


@router.get("/ledger/proofs/inclusion", response_model=InclusionProof, summary="Inclusion proof")
def inclusion_proof(
    session: SessionDep,
    _caller: Audits,
    seq: int = Query(ge=0, le=MAX_INT64, description="The entry."),
    size: int | None = Query(
        None, ge=1, le=MAX_INT64, description="Tree size; default the latest checkpoint."
    ),
) -> InclusionProof:
    """Prove entry ``seq`` is in the tree of ``size`` entries."""
    tree_size = size if size is not None else checkpoints.latest_or_raise(session).size
    proof = tree.inclusion(session, seq, tree_size)
    return InclusionProof(
        seq=seq,
        size=tree_size,
        leaf=checkpoints.encoded(tree.reader(session)(0, seq)),
        root=checkpoints.encoded(tree.root_at(session, tree_size)),
        proof=[checkpoints.encoded(h) for h in proof],
    )


@router.get(
    "/ledger/proofs/consistency", response_model=ConsistencyProof, summary="Consistency proof"
)
def consistency_proof(
    session: SessionDep,
    _caller: Audits,
    old: int = Query(alias="from", ge=0, le=MAX_INT64, description="The older tree size."),
    new: int = Query(alias="to", ge=0, le=MAX_INT64, description="The newer tree size."),
) -> ConsistencyProof:
    """Prove the tree of ``to`` entries extends the tree of ``from`` entries."""
    proof = tree.consistency(session, old, new)
    return ConsistencyProof(
        from_size=old,
        to_size=new,
        from_root=checkpoints.encoded(tree.root_at(session, old)),
        to_root=checkpoints.encoded(tree.root_at(session, new)),
        proof=[checkpoints.encoded(h) for h in proof],
    )


@router.get("/ledger/bundle", summary="Export a range as a bundle")
def export_bundle(
    session: SessionDep,
    _caller: Audits,
    first: int = Query(0, ge=0, le=MAX_INT64, description="The first entry in the bundle."),
) -> Response:
    """Entries from ``first`` to the latest checkpoint with every checkpoint in between; check it
    offline with `coherence ledger verify`."""
    body = service.export_bundle(session, first=first)
    return Response(body, media_type="application/octet-stream")
