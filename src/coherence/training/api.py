"""Training HTTP API: the curriculum, people's records and qualifications, and readiness."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query, Request

from coherence.access.api import ManagesFacility, ReadsFacility
from coherence.documents import load_yaml_mapping
from coherence.http import ERROR_RESPONSES
from coherence.training import loading, service, views
from coherence.training.schemas import (
    CompletionCreate,
    CurriculumLoaded,
    CurriculumRead,
    OnCallGap,
    ParticipationCreate,
    PersonTraining,
    ReadinessRead,
    RecordRead,
    RecordsLoaded,
)

router = APIRouter(prefix="/api/v1/training", tags=["training"], responses=ERROR_RESPONSES)

DAYS = Query(7, ge=1, le=90, description="How many days of shifts ahead to look at.")
DOCUMENT_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


@router.get("/curriculum", response_model=CurriculumRead, summary="The curriculum")
def curriculum(caller: ReadsFacility) -> CurriculumRead:
    """The courses and drills in force, the roles checked on assignment and the reminder days."""
    row, _parsed = service.current_or_raise(caller.session)
    return views.curriculum_read(row)


@router.post(
    "/curriculum",
    response_model=CurriculumLoaded,
    summary="Load a curriculum",
    openapi_extra=DOCUMENT_BODY,
)
async def load_curriculum(request: Request, caller: ManagesFacility) -> CurriculumLoaded:
    """Make a YAML or JSON curriculum the one in force; any problem changes nothing."""
    data = load_yaml_mapping(await request.body(), source="body")
    return loading.load_curriculum(
        caller.session, clock=caller.clock, data=data, actor=caller.person.key, source="api"
    )


@router.post(
    "/records/load",
    response_model=RecordsLoaded,
    summary="Load training records",
    openapi_extra=DOCUMENT_BODY,
)
async def load_records(request: Request, caller: ManagesFacility) -> RecordsLoaded:
    """Add the completions and exercise participations of a document not held yet."""
    data = load_yaml_mapping(await request.body(), source="body")
    return loading.load_records(
        caller.session, clock=caller.clock, data=data, actor=caller.person.key, source="api"
    )


@router.get("/people/{key}", response_model=PersonTraining, summary="A person's training")
def person(key: str, caller: ReadsFacility) -> PersonTraining:
    """A person's records and, for every role, whether they are qualified and until when."""
    return views.person_training(caller.session, person_key=key, now=caller.clock.now())


@router.post(
    "/people/{key}/completions",
    response_model=RecordRead,
    status_code=201,
    summary="Record a completed course",
)
def record_completion(key: str, body: CompletionCreate, caller: ManagesFacility) -> RecordRead:
    """Record a course or drill a person completed, when, who assessed it and the evidence."""
    row = service.record_completion(
        caller.session, clock=caller.clock, person_key=key, request=body, actor=caller.person.key
    )
    return views.record_read(row)


@router.post(
    "/people/{key}/exercises",
    response_model=RecordRead,
    status_code=201,
    summary="Record an exercise taken part in",
)
def record_participation(
    key: str, body: ParticipationCreate, caller: ManagesFacility
) -> RecordRead:
    """Record a person's part in an exercise, with the role played and the score; naming a
    drill scored at or above its pass score renews that drill."""
    row = service.record_participation(
        caller.session, clock=caller.clock, person_key=key, request=body, actor=caller.person.key
    )
    return views.record_read(row)


@router.get("/readiness", response_model=ReadinessRead, summary="Readiness per site")
def readiness(
    caller: ReadsFacility,
    site: str | None = Query(None, description="Only this site."),
    days: int = DAYS,
) -> ReadinessRead:
    """For each site and checked role: shifts with an unqualified person on call, and shifts
    where a single absence leaves nobody qualified (fewer than two qualified people)."""
    return views.build_readiness(caller.session, now=caller.clock.now(), days=days, site=site)


@router.get("/on-call", response_model=list[OnCallGap], summary="Unqualified on-call shifts")
def on_call(caller: ReadsFacility, days: int = DAYS) -> list[OnCallGap]:
    """Every on-call shift for a checked role held by someone not qualified for it."""
    return views.build_readiness(caller.session, now=caller.clock.now(), days=days).on_call_gaps
