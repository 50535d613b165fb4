"""Exercise HTTP API: check and start scenarios, step the clock, end, read the report."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, Response
from starlette.concurrency import run_in_threadpool

from coherence.access.api import AllowInOwnTransaction, ReadsFacility
from coherence.access.policy import Action
from coherence.db import session_scope
from coherence.documents import load_yaml_mapping
from coherence.exercises import report, scenario, service, views, writing
from coherence.exercises.runner import Runner
from coherence.exercises.schemas import AdvanceRequest, EndRequest, ExerciseRead, ScenarioCheck
from coherence.http import ERROR_RESPONSES

router = APIRouter(prefix="/api/v1", tags=["exercises"], responses=ERROR_RESPONSES)
# Steps feed the detector, which writes in transactions of its own: decide in one of ours.
ControlsExercises = Annotated[str, Depends(AllowInOwnTransaction(Action.MANAGE_FACILITY))]
SCENARIO_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/yaml": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
    }
}


class ReportFormat(StrEnum):
    """What the report comes as."""

    JSON = "json"
    MARKDOWN = "markdown"
    HTML = "html"


def _runner(request: Request) -> Runner:
    state = request.app.state
    return Runner(state.session_factory, clock=state.clock, store=state.evidence_store)


def _read(request: Request, exercise_id: int) -> ExerciseRead:
    with session_scope(request.app.state.session_factory) as session:
        found = service.get_or_raise(session, exercise_id)
        return views.exercise_read(found, request.app.state.clock.now())


@router.get("/exercises", response_model=list[ExerciseRead], summary="Exercises")
def list_exercises(caller: ReadsFacility) -> list[ExerciseRead]:
    """Every exercise run, newest first, with its clock, injects and incidents."""
    now = caller.clock.now()
    return [views.exercise_read(e, now) for e in service.list_exercises(caller.session)]


@router.post(
    "/exercises/validate",
    response_model=ScenarioCheck,
    summary="Check a scenario",
    openapi_extra=SCENARIO_BODY,
)
async def validate(request: Request, caller: ReadsFacility) -> ScenarioCheck:
    """Check a scenario (YAML or JSON) against the format and the facility; changes nothing."""
    data = load_yaml_mapping(await request.body(), source="body")
    checked = scenario.check(caller.session, data, source="body")
    document = checked.document
    return ScenarioCheck(
        key=document.key,
        title=document.title,
        playbook=f"{checked.playbook.key} v{checked.playbook.version}",
        mode=document.clock.mode.value,
        injects=len(document.injects),
        last_inject_minutes=max(i.at_minutes for i in document.injects),
    )


@router.post(
    "/exercises",
    response_model=ExerciseRead,
    status_code=201,
    summary="Start an exercise",
    openapi_extra=SCENARIO_BODY,
)
async def start(request: Request, caller: ControlsExercises) -> ExerciseRead:
    """Start a run of a scenario (YAML or JSON body) and fire what is due at T+0."""
    data = load_yaml_mapping(await request.body(), source="body")
    runner = _runner(request)
    exercise_id = await run_in_threadpool(
        lambda: runner.start(data=data, actor=caller, source="api")
    )
    return _read(request, exercise_id)


@router.get("/exercises/{exercise}", response_model=ExerciseRead, summary="Exercise status")
def show(exercise: str, caller: ReadsFacility) -> ExerciseRead:
    """An exercise's clock, injects (fired, pending, failed), incidents and complications."""
    return views.exercise_read(service.get_or_raise(caller.session, exercise), caller.clock.now())


@router.post("/exercises/{exercise}/advance", response_model=ExerciseRead, summary="Advance")
def advance(
    request: Request,
    exercise: str,
    caller: ControlsExercises,
    body: AdvanceRequest | None = None,
) -> ExerciseRead:
    """Stepped: to the next inject, or on by ``minutes``; other clocks: fire what is due."""
    minutes = body.minutes if body else None
    exercise_id = _runner(request).advance(exercise, minutes=minutes, actor=caller)
    return _read(request, exercise_id)


@router.post("/exercises/{exercise}/end", response_model=ExerciseRead, summary="End")
def end(
    request: Request,
    exercise: str,
    caller: ControlsExercises,
    body: EndRequest | None = None,
) -> ExerciseRead:
    """End the exercise: its clock stops and pending injects never fire."""
    exercise_id = _runner(request).end(exercise, actor=caller, note=body.note if body else "")
    return _read(request, exercise_id)


@router.get(
    "/exercises/{exercise}/report",
    summary="After-action report",
    responses={200: {"content": {"text/markdown": {}, "text/html": {}}}},
)
def show_report(
    exercise: str,
    caller: ReadsFacility,
    format: ReportFormat = Query(ReportFormat.JSON, description="json, markdown or html."),
) -> Response:
    """Scores, milestones, checklist, clarity, decisions, critical path and findings."""
    built = report.build(caller.session, clock=caller.clock, ref=exercise)
    if format is ReportFormat.MARKDOWN:
        return PlainTextResponse(writing.markdown(built), media_type="text/markdown")
    if format is ReportFormat.HTML:
        return HTMLResponse(writing.html(built))
    return Response(writing.as_json(built), media_type="application/json")
