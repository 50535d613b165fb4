"""Obligations HTTP API: triage answers, the clocks they start, and regulatory report drafts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request

from coherence.access.api import Caller, ListsIncidents, Reads, ReadsFacility, Records, Reports
from coherence.access.domain import DataCategory
from coherence.access.policy import Action
from coherence.access.redaction import Redactions, placeholder
from coherence.errors import NotFound
from coherence.http import ERROR_RESPONSES
from coherence.obligations import config, repository, views
from coherence.obligations import report_service as reports
from coherence.obligations import service as obligations_service
from coherence.obligations.domain import ObligationSet
from coherence.obligations.schemas import (
    AssessmentUpdate,
    ClockRead,
    DraftRequest,
    IncidentObligations,
    ObligationsFile,
    ReportEdit,
    ReportRead,
    SubmitRequest,
)

router = APIRouter(prefix="/api/v1", tags=["obligations"], responses=ERROR_RESPONSES)
KEY = "Report key OBLIGATION.REPORT, e.g. eu-nis2.early-warning."


def _obligations(request: Request) -> ObligationSet:
    return config.for_settings(request.app.state.settings)


# Declared after the caller in every route, so the policy answers before the file is read.
ObligationsDep = Annotated[ObligationSet, Depends(_obligations)]


@router.get("/obligations", response_model=ObligationsFile, summary="Obligations in force")
def list_obligations(_caller: ReadsFacility, obligations: ObligationsDep) -> ObligationsFile:
    """Every obligation of the file in force: triggers, reports, deadlines, required fields."""
    return views.obligations_file(obligations)


@router.get("/obligation-clocks", response_model=list[ClockRead], summary="Running clocks")
def running_clocks(
    caller: ListsIncidents,
    all_states: bool = Query(False, alias="all", description="Also submitted and withdrawn."),
) -> list[ClockRead]:
    """Report clocks still waiting for a report, soonest first, on incidents you may read."""
    return views.running_clocks(
        caller.session,
        now=caller.clock.now(),
        include_done=all_states,
        visible=lambda incident: caller.can(Action.READ, incident),
    )


@router.get(
    "/incidents/{ref}/obligations",
    response_model=IncidentObligations,
    summary="An incident's obligations",
)
def incident_obligations(caller: Reads, obligations: ObligationsDep) -> IncidentObligations:
    """Triage answers, whether each obligation applies and why, and every report clock."""
    return views.incident_obligations(
        caller.session, caller.target, obligations, now=caller.clock.now()
    )


@router.patch(
    "/incidents/{ref}/assessment",
    response_model=IncidentObligations,
    summary="Record triage answers",
)
def assess(
    ref: str, body: AssessmentUpdate, caller: Records, obligations: ObligationsDep
) -> IncidentObligations:
    """Record the answers given (null clears one); obligations are decided again, and their
    clocks started, moved or withdrawn."""
    evaluation = obligations_service.assess(
        caller.session,
        clock=caller.clock,
        obligations=obligations,
        ref=ref,
        changes=body.model_dump(exclude_unset=True),
        actor=caller.person.key,
    )
    return views.incident_obligations(
        caller.session, caller.target, obligations, now=caller.clock.now(), evaluation=evaluation
    )


@router.get("/incidents/{ref}/reports/{key}", response_model=ReportRead, summary="Show a report")
def get_report(ref: str, key: str, caller: Reads) -> ReportRead:
    """A report draft: its fields, what is missing, its text and JSON, and what was sent."""
    found = reports.clock_or_raise(caller.session, caller.target, key)
    report = repository.report_for(caller.session, found.id)
    if report is None:
        raise NotFound(f"{key} has no draft yet", field="report")
    return _shown(caller, views.report_read(found, report))


@router.post(
    "/incidents/{ref}/reports/{key}",
    response_model=ReportRead,
    status_code=201,
    summary="Draft a report",
)
def draft_report(
    ref: str, key: str, body: DraftRequest, caller: Records, obligations: ObligationsDep
) -> ReportRead:
    """Draft the report pre-filled from the incident; ``refresh`` fills unedited fields again."""
    found, report = reports.draft(
        caller.session,
        clock=caller.clock,
        obligations=obligations,
        ref=ref,
        key=key,
        refresh=body.refresh,
        actor=caller.person.key,
    )
    return _shown(caller, views.report_read(found, report))


@router.patch("/incidents/{ref}/reports/{key}", response_model=ReportRead, summary="Edit a report")
def edit_report(ref: str, key: str, body: ReportEdit, caller: Records) -> ReportRead:
    """Change fields of a draft; a reviewed draft then needs a fresh review."""
    found, report = reports.edit(
        caller.session,
        clock=caller.clock,
        ref=ref,
        key=key,
        changes=body.fields,
        actor=caller.person.key,
    )
    return _shown(caller, views.report_read(found, report))


@router.post(
    "/incidents/{ref}/reports/{key}/review", response_model=ReportRead, summary="Review a report"
)
def review_report(ref: str, key: str, caller: Reports) -> ReportRead:
    """Record your review of a complete draft; you may not review what you drafted or edited."""
    found, report = reports.review(
        caller.session, clock=caller.clock, ref=ref, key=key, actor=caller.person.key
    )
    return _shown(caller, views.report_read(found, report))


@router.post(
    "/incidents/{ref}/reports/{key}/submit",
    response_model=ReportRead,
    summary="Mark a report submitted",
)
def submit_report(
    ref: str, key: str, body: SubmitRequest, caller: Reports, obligations: ObligationsDep
) -> ReportRead:
    """Mark a reviewed report sent: its SHA-256 (of ``content``, or of its JSON) is kept, its
    clock stops, and deadlines counted from it move."""
    found, report = reports.submit(
        caller.session,
        clock=caller.clock,
        obligations=obligations,
        ref=ref,
        key=key,
        content=body.content,
        receipt=body.receipt,
        actor=caller.person.key,
    )
    return _shown(caller, views.report_read(found, report))


def _shown(caller: Caller, read: ReportRead) -> ReportRead:
    """Withhold a report's text from a reader not entitled to personal data: reports to
    regulators name people (contacts, data subjects)."""
    if DataCategory.PERSONAL in caller.decision.entitled:
        return read
    hidden = placeholder(DataCategory.PERSONAL)
    found = Redactions([], set())
    for field in read.fields:
        if field.value:
            field.value = hidden
            found.add(f"fields.{field.key}", DataCategory.PERSONAL)
    read.text, read.document, read.receipt = hidden, {}, None
    found.add("text", DataCategory.PERSONAL)
    caller.record_redaction(f"report:{read.key}", found, incident=caller.target)
    return read
