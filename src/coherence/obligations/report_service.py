"""Report drafts: pre-fill from the incident, edit, review by someone else, mark submitted."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog.domain import IcsRole
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coherence.incidents import escalation
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.obligations import clocks, drafting, repository
from coherence.obligations import service as obligations_service
from coherence.obligations.domain import (
    ACTIVE_STATES,
    ClockState,
    ObligationSet,
    Prefill,
    ReportSpec,
    ReportStatus,
)
from coherence.obligations.drafting import Heading, when, yes_no
from coherence.obligations.models import Assessment, ObligationClock, Report

KEY_PATTERN = re.compile(r"^([a-z0-9][a-z0-9-]{0,47})\.([a-z0-9][a-z0-9-]{0,47})$")
MEASURE_TYPES = (
    EntryType.INCIDENT_ACKNOWLEDGED,
    EntryType.INCIDENT_TRANSITIONED,
    EntryType.DECISION_RECORDED,
)


def split_key(key: str) -> tuple[str, str]:
    """Split ``eu-nis2.early-warning`` into obligation and report, or raise naming ``report``."""
    match = KEY_PATTERN.match(key)
    if match is None:
        raise NotFound(
            f"{key[:100]!r} is not a report key; write OBLIGATION.REPORT, e.g. "
            "eu-nis2.early-warning (see `coherence obligation show REF`)",
            field="report",
        )
    return match.group(1), match.group(2)


def clock_or_raise(
    session: Session, incident: Incident, key: str, *, for_update: bool = False
) -> ObligationClock:
    """Return the incident's clock for report ``key``, or raise NotFound naming ``report``."""
    obligation, report = split_key(key)
    found = repository.clock(session, incident.id, obligation, report, for_update=for_update)
    if found is None:
        have = [f"{c.obligation}.{c.report}" for c in repository.clocks_for(session, incident.id)]
        raise NotFound(
            f"{reference(incident.id)} has no report {key!r}; "
            f"it has {', '.join(have) or 'none (record an assessment first)'}",
            field="report",
        )
    return found


def heading(found: ObligationClock) -> Heading:
    """Return who a report is for and what it is about."""
    return Heading(
        obligation=found.obligation,
        report=found.report,
        title=found.title,
        report_title=found.report_title,
        citation=found.citation,
        authority=found.authority,
        incident=reference(found.incident_id),
    )


def draft(
    session: Session,
    *,
    clock: Clock,
    obligations: ObligationSet,
    ref: str | int,
    key: str,
    refresh: bool,
    actor: str,
) -> tuple[ObligationClock, Report]:
    """Draft a report pre-filled from the incident; ``refresh`` fills again every field
    nobody has edited."""
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    found = clock_or_raise(session, incident, key, for_update=True)
    if found.state not in ACTIVE_STATES:
        raise Conflict(f"the {key} clock is {found.state}; nothing to draft", field="report")
    spec = _spec(obligations, found)
    report = repository.report_for(session, found.id, for_update=True)
    if report is not None and not refresh:
        raise Conflict(f"{key} is already drafted; edit it, or draft with refresh", field="report")
    sources = prefill_sources(session, incident, found)
    now = clock.now()
    if report is None:
        report = Report(
            clock_id=found.id,
            incident_id=incident.id,
            spec=drafting.spec_of(spec.fields),
            values=drafting.prefill(spec.fields, sources),
            edited=[],
            authors=[actor],
            status=ReportStatus.DRAFT.value,
            drafted_by=actor,
            drafted_at=now,
            updated_at=now,
        )
        session.add(report)
    else:
        values = drafting.refreshed(spec.fields, sources, report.values, report.edited)
        if values != report.values or report.spec != drafting.spec_of(spec.fields):
            report.spec, report.values = drafting.spec_of(spec.fields), values
            _changed(report, actor, now)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.REPORT_DRAFTED,
        actor=actor,
        subject=f"report:{report.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "fields": [f["key"] for f in report.spec],
            "missing": drafting.missing(report.spec, report.values),
            "refreshed": refresh,
        },
    )
    return found, report


def _spec(obligations: ObligationSet, found: ObligationClock) -> ReportSpec:
    spec = obligations.get(found.obligation)
    report = spec.report(found.report) if spec else None
    if report is None:
        raise Conflict(
            f"{found.obligation}.{found.report} is no longer in {obligations.source}",
            field="report",
        )
    return report


def _changed(report: Report, actor: str, now: Any) -> bool:
    """Note a change to a draft; return whether it undid a review."""
    undone = report.status == ReportStatus.REVIEWED.value
    report.status, report.reviewed_by, report.reviewed_at = ReportStatus.DRAFT.value, None, None
    report.authors = sorted({*report.authors, actor})
    report.updated_at = now
    return undone


def edit(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    key: str,
    changes: Mapping[str, str],
    actor: str,
) -> tuple[ObligationClock, Report]:
    """Change fields of a draft; a reviewed draft needs a fresh review."""
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    found, report = _drafted(session, incident, key)
    if not changes:
        raise ValidationFailed("name at least one field to change", field="fields")
    drafting.check_edit(report.spec, changes)
    changed = sorted(k for k, v in changes.items() if report.values.get(k) != v)
    if not changed:
        return found, report
    report.values = {**report.values, **{k: changes[k] for k in changed}}
    report.edited = sorted({*report.edited, *changed})
    undone = _changed(report, actor, clock.now())
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.REPORT_EDITED,
        actor=actor,
        subject=f"report:{report.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "fields": changed,
            "review_undone": undone,
        },
    )
    return found, report


def _drafted(session: Session, incident: Incident, key: str) -> tuple[ObligationClock, Report]:
    found = clock_or_raise(session, incident, key, for_update=True)
    report = repository.report_for(session, found.id, for_update=True)
    if report is None:
        raise NotFound(f"{key} has no draft yet; draft it first", field="report")
    if report.status == ReportStatus.SUBMITTED.value:
        raise Conflict(f"{key} was submitted {when(report.submitted_at)}", field="report")
    if found.state == ClockState.WITHDRAWN.value:
        raise Conflict(f"{key} is withdrawn: its obligation no longer applies", field="report")
    return found, report


def review(
    session: Session, *, clock: Clock, ref: str | int, key: str, actor: str
) -> tuple[ObligationClock, Report]:
    """Record that someone other than the draft's authors checked it."""
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    found, report = _drafted(session, incident, key)
    if report.status == ReportStatus.REVIEWED.value:
        raise Conflict(f"{key} was already reviewed by {report.reviewed_by}", field="report")
    if actor in report.authors:
        raise PermissionDenied(
            f"you drafted or edited {key}; someone else must review it "
            f"(authors: {', '.join(report.authors)})",
            field="report",
        )
    _require_complete(report)
    now = clock.now()
    report.status, report.reviewed_by, report.reviewed_at = ReportStatus.REVIEWED.value, actor, now
    report.updated_at = now
    doc = drafting.document(heading(found), report.spec, report.values)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.REPORT_REVIEWED,
        actor=actor,
        subject=f"report:{report.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "sha256": drafting.sha256_hex(drafting.canonical(doc)),
        },
    )
    return found, report


def _require_complete(report: Report) -> None:
    empty = drafting.missing(report.spec, report.values)
    if empty:
        raise ValidationFailed(
            f"required field(s) still empty: {', '.join(empty)}", field=f"fields.{empty[0]}"
        )


def submit(
    session: Session,
    *,
    clock: Clock,
    obligations: ObligationSet,
    ref: str | int,
    key: str,
    content: str | None,
    receipt: str | None,
    actor: str,
) -> tuple[ObligationClock, Report]:
    """Mark a reviewed report submitted, keeping the SHA-256 of exactly what was sent (the
    text given, else the report's canonical JSON); its clock stops and later reports'
    deadlines that count from it move."""
    drafting.check_submission(content, receipt)
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    found, report = _drafted(session, incident, key)
    if report.status != ReportStatus.REVIEWED.value:
        raise Conflict(
            f"{key} must be reviewed by someone else before it is submitted", field="report"
        )
    _require_complete(report)
    spec = obligations.get(found.obligation)
    doc = drafting.document(heading(found), report.spec, report.values)
    sent = content if content is not None else drafting.canonical(doc).decode()
    digest = drafting.sha256_hex(sent.encode())
    now = clock.now()
    report.status, report.submitted_by, report.submitted_at = (
        ReportStatus.SUBMITTED.value,
        actor,
        now,
    )
    report.submitted_sha256, report.submitted_content, report.receipt = digest, sent, receipt
    report.updated_at = now
    found.state, found.submitted_at, found.updated_at = ClockState.SUBMITTED.value, now, now
    clocks.disarm(session, found)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.REPORT_SUBMITTED,
        actor=actor,
        subject=f"report:{report.id}",
        incident_id=incident.id,
        payload={
            "obligation": found.obligation,
            "report": found.report,
            "sha256": digest,
            "format": "text" if content is not None else "json",
            "bytes": len(sent.encode()),
            "receipt": receipt,
            "due_at": found.due_at,
            "late": now > found.due_at,
        },
    )
    if spec is not None:
        assessment = repository.assessment(session, incident.id)
        clocks.sync(
            session,
            clock,
            incident,
            spec,
            obligations_service.anchors_of(incident, assessment),
            reason=f"{found.report_title} submitted",
            actor=actor,
        )
    return found, report


def prefill_sources(
    session: Session, incident: Incident, found: ObligationClock
) -> dict[Prefill, str]:
    """Return the text each prefill source gives for an incident."""
    assessment = repository.assessment(session, incident.id)
    organisation = incident.site.organisation
    commander = escalation.holder(incident, IcsRole.INCIDENT_COMMANDER)
    liaison = escalation.holder(incident, IcsRole.LIAISON_OFFICER) or commander
    sources: dict[Prefill, str] = {
        Prefill.INCIDENT_REFERENCE: reference(incident.id),
        Prefill.INCIDENT_TITLE: incident.title,
        Prefill.CATEGORY: incident.category,
        Prefill.SEVERITY: incident.severity,
        Prefill.ASSET: f"{incident.asset.name} ({incident.asset.key})",
        Prefill.SITE: f"{incident.site.name} ({incident.site.key})",
        Prefill.ORGANISATION: organisation.name,
        Prefill.COUNTRY: organisation.country or "",
        Prefill.SECTORS: ", ".join(organisation.sectors or ()),
        Prefill.ENTITY_CLASS: organisation.entity_class or "",
        Prefill.PHASE: incident.status,
        Prefill.OCCURRED_AT: when(incident.occurred_at),
        Prefill.DETECTED_AT: when(incident.detected_at),
        Prefill.AWARE_AT: when(obligations_service.awareness(incident, assessment)),
        Prefill.ACKNOWLEDGED_AT: when(incident.acknowledged_at),
        Prefill.CONTAINED_AT: when(incident.contained_at),
        Prefill.RESOLVED_AT: when(incident.resolved_at),
        Prefill.IMPACT_SUMMARY: _impact(incident, assessment),
        Prefill.MEASURES: measures(session, incident.id),
        Prefill.COMMANDER: _contact(commander),
        Prefill.LIAISON: _contact(liaison),
        Prefill.EARLIER_REPORTS: _earlier(session, incident.id, found),
    }
    answers = {
        Prefill.PERSONAL_DATA: "personal_data",
        Prefill.CROSS_BORDER: "cross_border",
        Prefill.SIGNIFICANT: "significant",
        Prefill.MAJOR_ICT: "major_ict",
        Prefill.RANSOM_PAID: "ransom_paid",
    }
    for source, name in answers.items():
        sources[source] = yes_no(getattr(assessment, name) if assessment else None)
    sources[Prefill.CLASSIFIED_AT] = when(assessment.classified_at if assessment else None)
    sources[Prefill.RANSOM_PAID_AT] = when(assessment.ransom_paid_at if assessment else None)
    return sources


def _impact(incident: Incident, assessment: Assessment | None) -> str:
    if assessment is not None and assessment.impact_summary.strip():
        return assessment.impact_summary
    return incident.summary or incident.title


def _contact(person: Any) -> str:
    if person is None:
        return ""
    return f"{person.name}, {person.organisation.name}"


def measures(session: Session, incident_id: int) -> str:
    """Phase moves and decisions from the ledger, one line each; restricted ones are left out."""
    lines, withheld = [], 0
    entries = ledger_service.list_entries(
        session, incident_id=incident_id, entry_types=MEASURE_TYPES, limit=500
    )
    for entry in entries:
        payload = ledger_service.payload_of(entry)
        if payload.get("purged") or payload.get("category"):
            # Personal, proprietary or export-controlled text does not go into a report
            # by default: whoever drafts adds what the regulator needs.
            withheld += 1
            continue
        at = when(entry.recorded_at)
        if entry.entry_type == EntryType.DECISION_RECORDED.value:
            lines.append(
                f"{at}: decided: {payload.get('decision', '')} ({payload.get('rationale', '')})"
            )
        else:
            note = f": {payload['note']}" if payload.get("note") else ""
            lines.append(f"{at}: moved to {payload.get('to', '')}{note}")
    if withheld:
        lines.append(f"({withheld} entry(ies) with restricted data left out)")
    return "\n".join(lines)


def _earlier(session: Session, incident_id: int, found: ObligationClock) -> str:
    lines = []
    for other in repository.clocks_for(session, incident_id):
        if other.obligation != found.obligation or other.id == found.id:
            continue
        report = repository.report_for(session, other.id)
        if report is not None and report.submitted_at is not None:
            lines.append(
                f"{other.report_title} submitted {when(report.submitted_at)} "
                f"(SHA-256 {report.submitted_sha256}"
                + (f", receipt {report.receipt})" if report.receipt else ")")
            )
    return "\n".join(lines) or "none yet"
