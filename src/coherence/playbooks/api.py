"""Playbook HTTP API: the classification scheme, glossary and versioned playbooks."""

from __future__ import annotations

from fastapi import APIRouter, Request

from coherence.access.api import ManagesFacility, ReadsFacility
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES, ClockDep, RowId, SessionDep
from coherence.playbooks import service, views
from coherence.playbooks.domain import glossary, standard_scheme
from coherence.playbooks.schemas import (
    CategoryRead,
    GlossaryTerm,
    PlaybookRead,
    PlaybookSummary,
    PlaybookValidation,
    SeverityRead,
)

router = APIRouter(prefix="/api/v1", tags=["playbooks"], responses=ERROR_RESPONSES)

YAML_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get(
    "/classification/categories", response_model=list[CategoryRead], summary="Incident categories"
)
def categories(_caller: ReadsFacility) -> list[CategoryRead]:
    """Every incident category with its base checklist."""
    return [
        CategoryRead(key=c.key, name=c.name, description=c.description, checklist=list(c.checklist))
        for c in standard_scheme().categories.values()
    ]


@router.get(
    "/classification/severities", response_model=list[SeverityRead], summary="Severity levels"
)
def severities(_caller: ReadsFacility) -> list[SeverityRead]:
    """Severity levels, worst first, with written criteria and added checklist items."""
    return [
        SeverityRead(
            key=s.key, name=s.name, rank=s.rank, criteria=s.criteria, checklist=list(s.checklist)
        )
        for s in standard_scheme().severities.values()
    ]


@router.get("/glossary", response_model=list[GlossaryTerm], summary="Shared glossary")
def terms(_caller: ReadsFacility) -> list[GlossaryTerm]:
    """Shared terms with a precise and a plain-language definition."""
    return [GlossaryTerm(term=t, definition=d, plain=p) for t, d, p in glossary()]


@router.get("/playbooks", response_model=list[PlaybookSummary], summary="List playbooks")
def list_playbooks(session: SessionDep, _caller: ReadsFacility) -> list[PlaybookSummary]:
    """The newest version of every playbook."""
    return [views.summary(row) for row in service.list_latest(session)]


@router.get("/playbooks/{key}", response_model=PlaybookRead, summary="Show a playbook")
def get_playbook(key: str, session: SessionDep, _caller: ReadsFacility) -> PlaybookRead:
    """The newest version of one playbook, in full."""
    return views.full(service.get_latest_or_raise(session, key))


@router.get(
    "/playbooks/{key}/versions", response_model=list[PlaybookSummary], summary="Playbook history"
)
def playbook_history(
    key: str, session: SessionDep, _caller: ReadsFacility
) -> list[PlaybookSummary]:
    """Every version of a playbook, oldest first."""
    service.get_latest_or_raise(session, key)
    return [views.summary(row) for row in service.history(session, key)]


@router.get(
    "/playbooks/{key}/versions/{version}",
    response_model=PlaybookRead,
    summary="Show one playbook version",
)
def get_playbook_version(
    key: str, version: RowId, session: SessionDep, _caller: ReadsFacility
) -> PlaybookRead:
    """One version of a playbook, as an incident that ran it saw it."""
    return views.full(service.get_version_or_raise(session, key, version))


@router.post(
    "/playbooks", response_model=PlaybookRead, summary="Publish a playbook", openapi_extra=YAML_BODY
)
async def publish_playbook(
    request: Request, session: SessionDep, clock: ClockDep, caller: ManagesFacility
) -> PlaybookRead:
    """Store a playbook (YAML or JSON) as its next version; an unchanged one is not duplicated."""
    data = load_yaml_mapping(await request.body(), source="body")
    row, _created = service.publish(
        session, clock=clock, data=data, actor=caller.person.key, source="api"
    )
    return views.full(row)


@router.post(
    "/playbooks/validate",
    response_model=PlaybookValidation,
    summary="Validate a playbook without storing it",
    openapi_extra=YAML_BODY,
)
async def validate_playbook(request: Request, _caller: ReadsFacility) -> PlaybookValidation:
    """Check a playbook against the schema and classification scheme; nothing is stored."""
    data = load_yaml_mapping(await request.body(), source="body")
    doc = service.validate(data, source="body")
    return PlaybookValidation(
        valid=True, key=doc.key, title=doc.title, triggers=len(doc.triggers), steps=len(doc.steps)
    )
