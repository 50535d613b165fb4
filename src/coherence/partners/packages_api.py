"""Share packages over HTTP: a partner downloads its own organisation's package."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from coherence.access.api import Reads
from coherence.http import ERROR_RESPONSES, ErrorBody
from coherence.ledger import keys
from coherence.partners import packages

router = APIRouter(tags=["partners"], responses=ERROR_RESPONSES)


@router.get(
    "/incidents/{ref}/package",
    summary="Your organisation's share package",
    response_class=Response,
    responses={
        200: {"content": {"application/json": {}}, "description": "The signed package."},
        451: {"model": ErrorBody, "description": "The export guard blocks this share."},
    },
)
def share_package(ref: str, request: Request, caller: Reads) -> Response:
    """The incident as your organisation's agreements share it: redacted, TLP-marked, signed,
    each ledger entry with its inclusion proof. Check it offline with `coherence package verify`.
    Ledgered as share:sent; 409 until a checkpoint covers the latest entries (a second)."""
    signer = keys.load_signer(request.app.state.settings.resolved_ledger_key_file)
    exported = packages.export(
        caller.session,
        clock=caller.clock,
        incident=caller.target,
        organisation=caller.person.organisation.key,
        signer_key=signer,
        actor=caller.person.key,
    )
    return Response(
        exported.data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{exported.filename}"'},
    )
