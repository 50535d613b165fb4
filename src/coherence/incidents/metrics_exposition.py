"""The Prometheus endpoint: incident counts and MTTx summaries for a scraper with a token."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

from coherence.access.api import ReadsFacility
from coherence.http import ERROR_RESPONSES
from coherence.incidents import metrics_query
from coherence.incidents.metrics import exposition

# Mounted at the root, where Prometheus looks by default.
router = APIRouter(tags=["ops"], responses=ERROR_RESPONSES)
EXPOSITION_TYPE = "text/plain; version=0.0.4; charset=utf-8"


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {EXPOSITION_TYPE: {}}}},
)
def prometheus(caller: ReadsFacility) -> Response:
    """Incident counts and MTTx summaries in the Prometheus text format; needs a bearer token."""
    text = exposition(metrics_query.incident_times(caller.session))
    return Response(content=text, media_type=EXPOSITION_TYPE)
