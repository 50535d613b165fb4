"""Exercises as views: the API's JSON, and the dashboard's list and report pages."""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse
from markupsafe import Markup
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.errors import CoherenceError
from coherence.exercises import domain, report, service, writing
from coherence.exercises.domain import Complication
from coherence.exercises.models import Exercise
from coherence.exercises.schemas import ExerciseRead, InjectRead
from coherence.http import ClockDep, SessionDep
from coherence.incidents.domain import reference
from coherence.web.auth import same_origin
from coherence.web.guards import AllowPage
from coherence.web.rendering import SECURITY_HEADERS, render_error

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]


def _complication_text(item: domain.ActiveComplication) -> str:
    if item.kind is Complication.CHANNEL_DOWN:
        return f"{item.channel} down"
    if item.kind is Complication.ROLE_UNREACHABLE:
        return f"{', '.join(sorted(item.people)) or 'nobody'} unreachable"
    return f"spare {item.part} back-ordered"


def exercise_read(exercise: Exercise, now: datetime) -> ExerciseRead:
    """An exercise as the API shows it, its clock read at ``now``."""
    at = service.elapsed(exercise, exercise.ended_at or now)
    pending = [i.at_seconds for i in exercise.injects if i.status == "pending"]
    in_force = domain.active(service.complications(exercise), at=at)
    return ExerciseRead(
        id=exercise.id,
        reference=domain.reference(exercise.id),
        key=exercise.key,
        title=exercise.title,
        playbook=exercise.playbook_key,
        playbook_version=exercise.playbook_version,
        site=exercise.site,
        mode=exercise.mode,
        speed=exercise.speed,
        page_real_recipients=exercise.page_real,
        status=exercise.status,
        started_at=exercise.started_at,
        started_by=exercise.started_by,
        ended_at=exercise.ended_at,
        elapsed_minutes=round(at / 60, 3),
        next_inject_minutes=min(pending) / 60
        if pending and exercise.status == service.RUNNING
        else None,
        incidents=[reference(link.incident_id) for link in exercise.links],
        complications=[_complication_text(c) for c in in_force]
        if exercise.status == service.RUNNING
        else [],
        injects=[
            InjectRead(
                position=i.position,
                at_minutes=i.at_seconds / 60,
                kind=i.kind,
                title=i.title,
                status=i.status,
                fired_at_minutes=None if i.fired_seconds is None else i.fired_seconds / 60,
                detail=str(i.result.get("detail", "")),
                incidents=[reference(n) for n in i.result.get("opened", [])],
            )
            for i in exercise.injects
        ],
    )


def _page(request: Request, name: str, caller: Caller, **context: object) -> HTMLResponse:
    source = resources.files("coherence.exercises").joinpath("templates", name).read_text()
    template = request.app.state.web_templates.env.from_string(source)
    body = template.render(
        person=caller.person,
        error=None,
        session_hours=f"{request.app.state.settings.session_hours:g}",
        **context,
    )
    return HTMLResponse(body, headers=SECURITY_HEADERS)


@router.get("/exercises")
def list_page(
    request: Request, session: SessionDep, clock: ClockDep, caller: PageReadsFacility
) -> HTMLResponse:
    """Every exercise run, newest first."""
    now = clock.now()
    rows = [exercise_read(e, now) for e in service.list_exercises(session)]
    return _page(request, "exercises.html", caller, exercises=rows)


@router.get("/exercises/{exercise}")
def exercise_page(
    request: Request, exercise: str, session: SessionDep, clock: ClockDep, caller: PageReadsFacility
) -> Response:
    """One exercise: its clock and injects, and the after-action report so far."""
    try:
        found = service.get_or_raise(session, exercise)
        built = report.build(session, clock=clock, ref=found.id)
    except CoherenceError as error:
        return render_error(request, error, person=caller.person)
    return _page(
        request,
        "exercise.html",
        caller,
        exercise=exercise_read(found, clock.now()),
        report=Markup(writing.html_body(built)),  # noqa: S704 - every value inside is escaped
    )
