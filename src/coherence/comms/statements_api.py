"""Statements HTTP API: templates and clearance, issuing, withdrawing, CAP, plain language."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path
from fastapi.responses import Response

from coherence.access.api import (
    Communicates,
    DraftsStatements,
    Reads,
    ReadsFacility,
    withhold_personal,
)
from coherence.comms import plain, statements_service
from coherence.comms.cap_export import statement_cap
from coherence.comms.plans import CommsPlan, comms_plan
from coherence.comms.schemas import (
    ApproveRequest,
    PlainCheckRequest,
    StatementCreate,
    StatementRead,
    TemplateRead,
    WithdrawRequest,
    statement_read,
    template_read,
)
from coherence.errors import NotFound
from coherence.http import ERROR_RESPONSES, ClockDep, RowId, SessionDep
from coherence.incidents import service as incidents_service

# Included by coherence.comms.api under its /api/v1 prefix.
router = APIRouter(tags=["statements"], responses=ERROR_RESPONSES)
TemplateKey = Annotated[str, Path(max_length=64, description="Template key.")]


@router.get(
    "/statement-templates", response_model=list[TemplateRead], summary="List statement templates"
)
def list_templates(session: SessionDep, _caller: ReadsFacility) -> list[TemplateRead]:
    """Every version of every template, with the approvals given and still needed."""
    return [template_read(t) for t in statements_service.list_templates(session)]


@router.post(
    "/statement-templates",
    response_model=list[TemplateRead],
    status_code=201,
    summary="Load statement templates",
)
def load_templates(
    session: SessionDep,
    clock: ClockDep,
    caller: DraftsStatements,
    document: Annotated[
        dict[str, Any], Body(description="A templates document: {templates: [...]}")
    ],
) -> list[TemplateRead]:
    """Store each changed template as a new draft version; returns the versions created."""
    report = statements_service.load_templates(
        session, clock=clock, data=document, actor=caller.person.key, source="request body"
    )
    return [
        template_read(statements_service.get_template(session, key, version))
        for key, version in report.created
    ]


@router.post(
    "/statement-templates/{key}/versions/{version}/approve",
    response_model=TemplateRead,
    summary="Approve a template version",
)
def approve_template(
    key: TemplateKey,
    version: RowId,
    request: ApproveRequest,
    session: SessionDep,
    clock: ClockDep,
    caller: DraftsStatements,
) -> TemplateRead:
    """Give one approval as the token's owner; the author may not clear their own version."""
    return template_read(
        statements_service.approve(
            session,
            clock=clock,
            key=key,
            version=version,
            person_key=caller.person.key,
            approval=request.approval,
        )
    )


@router.get(
    "/incidents/{ref}/statements",
    response_model=list[StatementRead],
    summary="List an incident's statements",
)
def list_statements(ref: str, session: SessionDep, _caller: Reads) -> list[StatementRead]:
    """Every statement about the incident, oldest first, withdrawals included."""
    incident = incidents_service.get_or_raise(session, ref)
    return [
        statement_read(s) for s in statements_service.statements_for_incident(session, incident.id)
    ]


@router.post(
    "/incidents/{ref}/statements",
    response_model=StatementRead,
    status_code=201,
    summary="Issue a statement",
)
def issue_statement(
    ref: str,
    request: StatementCreate,
    session: SessionDep,
    clock: ClockDep,
    caller: Communicates,
) -> StatementRead:
    """Render a template for the incident; external audiences get approved versions only."""
    return statement_read(
        statements_service.issue(
            session,
            clock=clock,
            ref=ref,
            template_key=request.template,
            version=request.version,
            actor=caller.person.key,
        )
    )


@router.post(
    "/statements/{statement_id}/withdraw",
    response_model=StatementRead,
    status_code=201,
    summary="Withdraw a statement",
)
def withdraw_statement(
    statement_id: int,
    request: WithdrawRequest,
    session: SessionDep,
    clock: ClockDep,
    caller: Communicates,
) -> StatementRead:
    """Issue a CAP Cancel for the statement, with the reason; the original stays on record."""
    return statement_read(
        statements_service.withdraw(
            session,
            clock=clock,
            statement_id=statement_id,
            actor=caller.person.key,
            reason=request.reason,
        )
    )


@router.get(
    "/statements/{statement_id}/cap",
    summary="A statement as an OASIS CAP 1.2 alert",
    response_class=Response,
    responses={200: {"content": {"application/cap+xml": {}}}},
)
def statement_as_cap(statement_id: int, session: SessionDep, _caller: Reads) -> Response:
    """Alert for an audience's first statement, Update for later ones, Cancel for withdrawals."""
    statement = statements_service.get_statement(session, statement_id)
    if statement is None:
        raise NotFound(f"no statement #{statement_id}", field="statement_id")
    return Response(statement_cap(session, statement), media_type="application/cap+xml")


@router.post(
    "/plain-language",
    response_model=dict[str, Any],
    summary="Check text for a non-specialist reader",
)
def plain_language(request: PlainCheckRequest, _caller: ReadsFacility) -> dict[str, Any]:
    """Score 0-100, jargon used without its plain definition (with the glossary's wording), and
    sentences over ``max_sentence_words``."""
    report = plain.check_plain(request.text, max_sentence_words=request.max_sentence_words)
    return {
        "score": report.score,
        "grade": report.grade,
        "words": report.words,
        "sentences": report.sentences,
        "average_sentence_words": report.average_sentence_words,
        "findings": [
            {"kind": f.kind, "text": f.text, "message": f.message, "suggestion": f.suggestion}
            for f in report.findings
        ],
    }


@router.get(
    "/incidents/{ref}/comms-plan",
    response_model=CommsPlan,
    summary="The incident's communications plan (ICS 205)",
)
def communications_plan(ref: str, session: SessionDep, caller: Reads) -> CommsPlan:
    """Who is on the incident, on which channels in which order, and the audiences' cadence;
    contact addresses are personal data, redacted for readers not entitled to them."""
    plan = comms_plan(session, caller.target)
    contacts = [line for assignment in plan.assignments for line in assignment.contacts]
    withhold_personal(caller, f"comms-plan:{caller.target.id}", contacts)
    return plan
