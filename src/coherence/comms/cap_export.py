"""Statements as OASIS CAP 1.2 alerts: Alert first, Update after, Cancel for a withdrawal."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.comms import cap
from coherence.comms.models import Statement
from coherence.comms.statements import Audience
from coherence.comms.statements_service import cap_sender
from coherence.incidents import service as incidents_service

# Categories of incident whose effects reach beyond the facility as safety matters.
_SAFETY = {"magnet_safety", "radiation", "accelerator", "cryogenic"}
_SECURITY = {"control_system_cyber", "qkd_network", "physical_security"}
_STATUS_BY_KIND = {"real": "Actual", "exercise": "Exercise", "test": "Test"}


def statement_cap(session: Session, statement: Statement) -> bytes:
    """Return ``statement`` as a CAP 1.2 document that validates against the OASIS schema."""
    incident = incidents_service.get_or_raise(session, statement.incident_id)
    sender = cap_sender(incident)
    urgency, severity = cap.cap_severity(incident.severity)
    public = Audience(statement.audience) in (Audience.PUBLIC, Audience.MEDIA)
    earlier = session.scalars(
        select(Statement).where(Statement.cap_identifier.in_(statement.cap_references))
    ).all()
    alert = cap.CapAlert(
        identifier=statement.cap_identifier,
        sender=sender,
        sent=statement.issued_at,
        msg_type=cap.MsgType(statement.cap_msg_type),
        scope=cap.Scope.PUBLIC if public else cap.Scope.RESTRICTED,
        restriction=None
        if public
        else f"For {statement.audience} of {incident.site.organisation.name} only; do not forward",
        status=_STATUS_BY_KIND.get(incident.kind, "Actual"),
        event=incident.category.replace("_", " "),
        headline=statement.title,
        description=statement.body,
        instruction="Follow the statement above; further updates will follow.",
        category=_category(incident.category),
        urgency=urgency,
        severity=severity,
        certainty="Observed",
        areas=(cap.CapArea(description=incident.site.name),),
        references=tuple(
            cap.CapReference(sender=sender, identifier=s.cap_identifier, sent=s.issued_at)
            for s in sorted(earlier, key=lambda s: s.id)
        ),
        sender_name=incident.site.organisation.name,
    )
    return cap.to_xml(alert)


def _category(category: str) -> str:
    if category in _SAFETY:
        return "Safety"
    if category in _SECURITY:
        return "Security"
    return "Infra"
