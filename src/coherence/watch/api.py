"""Watchful access over HTTP: a record's access history and unusual reading found."""

from __future__ import annotations

from fastapi import APIRouter, Query

from coherence.access.api import Audits
from coherence.access.domain import Tlp
from coherence.http import ERROR_RESPONSES
from coherence.watch import service as watch_service
from coherence.watch import views as watch_views
from coherence.watch.views import AccessHistory, FindingRead

router = APIRouter(prefix="/api/v1", tags=["access"], responses=ERROR_RESPONSES)

LIMIT = Query(200, ge=1, le=5000, description="At most this many of each, newest first.")


@router.get(
    "/incidents/{ref}/access", response_model=AccessHistory, summary="Incident access history"
)
def access_history(
    ref: str,
    caller: Audits,
    tlp: Tlp | None = Query(None, description="Only reads decided under this label."),
    limit: int = LIMIT,
) -> AccessHistory:
    """Who read the incident's data (its pages, timeline, tasks, evidence) and when, under
    which TLP label, and every read that had fields redacted; for auditors and administrators."""
    incident, found = watch_service.history(caller.session, ref=ref, tlp=tlp, limit=limit)
    return watch_views.access_history(incident, found)


@router.get("/access/findings", response_model=list[FindingRead], summary="Unusual access")
def findings(caller: Audits, limit: int = LIMIT) -> list[FindingRead]:
    """Unusual reading of incident data raised as security signals, newest first."""
    return [
        watch_views.finding_read(f)
        for f in watch_service.list_findings(caller.session, limit=limit)
    ]
