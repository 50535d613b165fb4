"""What responders add to an incident's record: notes, decisions and its TLP label."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory, Tlp
from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import ValidationFailed
from coherence.incidents import service
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType


def label(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    tlp: Tlp,
    recipients: Sequence[str],
    actor: str,
) -> Incident:
    """Set the incident's TLP label; under RED, the caller and role holders are always named."""
    incident = service.get_or_raise(session, ref, for_update=True)
    named = {
        catalog_service.get_person_or_raise(session, key, field="recipients").key
        for key in recipients
    }
    if tlp is Tlp.RED:
        named |= {r.person.key for r in incident.roles}
        if catalog_service.get_person(session, actor) is not None:
            named.add(actor)
    was = {"tlp": incident.tlp, "recipients": list(incident.tlp_recipients or [])}
    incident.tlp, incident.tlp_recipients = tlp.value, sorted(named)
    incident.updated_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_LABELLED,
        actor=actor,
        subject=service.subject_of(incident),
        incident_id=incident.id,
        payload={"tlp": tlp.value, "recipients": incident.tlp_recipients, "was": was},
    )
    return incident


def add_note(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    text: str,
    actor: str,
    category: DataCategory = DataCategory.OPERATIONAL,
) -> Incident:
    """Add a note to the incident's timeline, labelled with what its text holds."""
    incident = service.get_or_raise(session, ref)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.INCIDENT_NOTE_ADDED,
        actor=actor,
        subject=service.subject_of(incident),
        incident_id=incident.id,
        payload=_labelled({"text": text}, category),
    )
    return incident


def record_decision(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    decision: str,
    rationale: str,
    decided_by: str | None,
    category: DataCategory = DataCategory.OPERATIONAL,
    actor: str,
) -> Incident:
    """Record a decision with its rationale and the person who took it."""
    incident = service.get_or_raise(session, ref)
    if decided_by is None and catalog_service.get_person(session, actor) is None:
        raise ValidationFailed(
            "say who took the decision: decided_by (CLI: --by PERSON)", field="decided_by"
        )
    decider = catalog_service.get_person_or_raise(session, decided_by or actor, field="decided_by")
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.DECISION_RECORDED,
        actor=actor,
        subject=service.subject_of(incident),
        incident_id=incident.id,
        payload=_labelled(
            {"decision": decision, "rationale": rationale, "decided_by": decider.key}, category
        ),
    )
    return incident


def _labelled(payload: dict[str, Any], category: DataCategory) -> dict[str, Any]:
    """Add the data category to a payload unless it is plain operational data."""
    if category is DataCategory.OPERATIONAL:
        return payload
    return {**payload, "category": category.value}
