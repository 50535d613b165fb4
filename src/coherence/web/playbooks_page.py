"""The playbook library: every playbook, its versions, one version's steps, and a diff between
two versions, so a responder can see what changed since the last drill."""

from __future__ import annotations

import difflib
from typing import Annotated

from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.http import SessionDep
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.models import PlaybookVersion
from coherence.reviews.domain import yaml_text
from coherence.web.guards import AllowPage
from coherence.web.rendering import render

router = APIRouter(include_in_schema=False)

PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]
PlaybookKey = Annotated[str, Path(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Version = Annotated[int | None, Query(ge=1, le=1_000_000)]


def version_diff(before: PlaybookVersion | None, after: PlaybookVersion) -> list[str]:
    """Return the unified diff of two versions' YAML, line by line (empty if the same)."""
    lines = difflib.unified_diff(
        yaml_text(before.document if before else None).splitlines(),
        yaml_text(after.document).splitlines(),
        fromfile=f"{after.key} v{before.version}" if before else "/dev/null",
        tofile=f"{after.key} v{after.version}",
        lineterm="",
    )
    return list(lines)


@router.get("/playbooks")
def library(request: Request, session: SessionDep, caller: PageReadsFacility) -> Response:
    """List every playbook's newest version."""
    rows = sorted(playbooks_service.list_latest(session), key=lambda r: (r.category, r.key))
    return render(request, "playbooks.html", {"playbooks": rows}, person=caller.person)


@router.get("/playbooks/{key}")
def playbook_page(
    request: Request,
    key: PlaybookKey,
    session: SessionDep,
    caller: PageReadsFacility,
    version: Version = None,
    compare: Version = None,
) -> Response:
    """Show one version's steps and procedures, and its diff from ``compare`` (the one before)."""
    versions = list(playbooks_service.history(session, key))
    shown = (
        playbooks_service.get_version_or_raise(session, key, version)
        if version is not None
        else playbooks_service.get_latest_or_raise(session, key)
    )
    if compare is not None:
        base: PlaybookVersion | None = playbooks_service.get_version_or_raise(session, key, compare)
    else:
        base = next((v for v in reversed(versions) if v.version < shown.version), None)
    context = {
        "playbook": shown,
        "document": playbooks_service.document_of(shown),
        "versions": list(reversed(versions)),
        "base": base,
        "diff": version_diff(base, shown) if base is not None else [],
    }
    return render(request, "playbook.html", context, person=caller.person)
