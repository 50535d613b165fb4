"""Read models: obligations, verdicts, clocks and reports as the API, CLI and pages show them."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.obligations import config, drafting, repository
from coherence.obligations import service as obligations_service
from coherence.obligations.domain import (
    ObligationSet,
    ObligationSpec,
    describe_limit,
    evaluate,
)
from coherence.obligations.models import Assessment, ObligationClock, Report
from coherence.obligations.report_service import heading
from coherence.obligations.schemas import (
    AssessmentRead,
    ClockRead,
    IncidentObligations,
    ObligationRead,
    ObligationsFile,
    ReportField,
    ReportRead,
    ReportSpecRead,
    VerdictRead,
)
from coherence.obligations.service import Evaluation


def obligation_read(spec: ObligationSpec) -> ObligationRead:
    """Return one obligation of the file as the API shows it."""
    trigger = spec.trigger
    return ObligationRead(
        key=spec.key,
        title=spec.title,
        citation=spec.citation,
        authority=spec.authority,
        enabled=spec.enabled,
        jurisdictions=list(trigger.jurisdictions),
        entity_classes=[c.value for c in trigger.entity_classes],
        sectors=list(trigger.sectors),
        categories=list(trigger.categories),
        min_severity=trigger.min_severity,
        requires=[a.value for a in trigger.requires],
        warn_at=list(spec.warn_at),
        reports=[
            ReportSpecRead(
                key=r.key,
                title=r.title,
                due=[describe_limit(limit) for limit in r.due],
                fields=[f.key for f in r.fields],
                required=[f.key for f in r.fields if f.required],
            )
            for r in spec.reports
        ],
    )


def obligations_file(obligations: ObligationSet) -> ObligationsFile:
    """Return the obligations in force."""
    return ObligationsFile(
        source=obligations.source,
        obligations=[obligation_read(spec) for spec in obligations.obligations],
    )


def clock_read(found: ObligationClock, *, now: datetime, report: Report | None) -> ClockRead:
    """Return one clock as the API shows it, with how long is left."""
    left = (found.due_at - now).total_seconds()
    return ClockRead(
        key=f"{found.obligation}.{found.report}",
        incident=reference(found.incident_id),
        obligation=found.obligation,
        report=found.report,
        title=found.title,
        report_title=found.report_title,
        authority=found.authority,
        state=found.state,
        starts_at=found.starts_at,
        due_at=found.due_at,
        basis=found.basis,
        provisional=found.provisional,
        overdue=left < 0 and found.state not in ("submitted", "withdrawn"),
        seconds_left=left,
        report_status=report.status if report else None,
        started_at=found.started_at,
        warned_at=found.warned_at,
        missed_at=found.missed_at,
        submitted_at=found.submitted_at,
        withdrawn_at=found.withdrawn_at,
    )


def clocks_read(
    session: Session, found: Sequence[ObligationClock], *, now: datetime
) -> list[ClockRead]:
    """Return clocks with the status of each one's report."""
    return [clock_read(c, now=now, report=repository.report_for(session, c.id)) for c in found]


def assessment_read(assessment: Assessment) -> AssessmentRead:
    """Return recorded triage answers."""
    return AssessmentRead(
        personal_data=assessment.personal_data,
        cross_border=assessment.cross_border,
        significant=assessment.significant,
        major_ict=assessment.major_ict,
        ransom_paid=assessment.ransom_paid,
        aware_at=assessment.aware_at,
        classified_at=assessment.classified_at,
        ransom_paid_at=assessment.ransom_paid_at,
        impact_summary=assessment.impact_summary,
        recorded_by=assessment.recorded_by,
        recorded_at=assessment.recorded_at,
    )


def incident_obligations(
    session: Session,
    incident: Incident,
    obligations: ObligationSet,
    *,
    now: datetime,
    evaluation: Evaluation | None = None,
) -> IncidentObligations:
    """Return an incident's answers, verdicts and clocks (and what a change just did)."""
    assessment = repository.assessment(session, incident.id)
    if evaluation is None:
        facts = obligations_service.facts_of(incident, assessment)
        verdicts = [
            (spec, evaluate(spec, facts, severity_ranks=config.severity_ranks()))
            for spec in obligations.obligations
        ]
    else:
        verdicts = evaluation.verdicts
    return IncidentObligations(
        incident=reference(incident.id),
        source=obligations.source,
        awareness=obligations_service.awareness(incident, assessment),
        assessment=assessment_read(assessment) if assessment else None,
        verdicts=[
            VerdictRead(
                obligation=spec.key,
                title=spec.title,
                citation=spec.citation,
                enabled=spec.enabled,
                applies=verdict.applies,
                reason=verdict.reason,
            )
            for spec, verdict in verdicts
        ],
        clocks=clocks_read(session, repository.clocks_for(session, incident.id), now=now),
        started=evaluation.started if evaluation else [],
        withdrawn=evaluation.withdrawn if evaluation else [],
        moved=evaluation.moved if evaluation else [],
    )


def report_read(found: ObligationClock, report: Report) -> ReportRead:
    """Return a report with its rendered text, JSON document and current hash."""
    head = heading(found)
    doc = drafting.document(head, report.spec, report.values)
    return ReportRead(
        key=f"{found.obligation}.{found.report}",
        incident=reference(found.incident_id),
        title=f"{found.title}: {found.report_title}",
        authority=found.authority,
        citation=found.citation,
        status=report.status,
        clock_state=found.state,
        due_at=found.due_at,
        fields=[
            ReportField(
                key=str(f["key"]),
                label=str(f["label"]),
                required=bool(f.get("required", True)),
                help=str(f.get("help", "")),
                value=report.values.get(str(f["key"]), ""),
                edited=str(f["key"]) in report.edited,
            )
            for f in report.spec
        ],
        missing=drafting.missing(report.spec, report.values),
        authors=list(report.authors),
        drafted_by=report.drafted_by,
        drafted_at=report.drafted_at,
        reviewed_by=report.reviewed_by,
        reviewed_at=report.reviewed_at,
        submitted_by=report.submitted_by,
        submitted_at=report.submitted_at,
        submitted_sha256=report.submitted_sha256,
        receipt=report.receipt,
        sha256=drafting.sha256_hex(drafting.canonical(doc)),
        document=doc,
        text=drafting.render_text(head, report.spec, report.values),
    )


def running_clocks(
    session: Session,
    *,
    now: datetime,
    incident_id: int | None = None,
    include_done: bool = False,
    visible: Callable[[Incident], bool] | None = None,
) -> list[ClockRead]:
    """Clocks still waiting for a report (or all), soonest first, of incidents ``visible``
    accepts."""
    found = obligations_service.running_clocks(
        session, incident_id=incident_id, include_done=include_done
    )
    if visible is not None:
        seen: dict[int, bool] = {}
        kept = []
        for c in found:
            if c.incident_id not in seen:
                seen[c.incident_id] = visible(
                    incidents_service.get_or_raise(session, c.incident_id)
                )
            if seen[c.incident_id]:
                kept.append(c)
        found = kept
    return clocks_read(session, found, now=now)
