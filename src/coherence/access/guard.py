"""Gather the facts the access policy needs from the database, and enforce its answers."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access.domain import AccessRole, Tlp
from coherence.access.models import BreakGlassGrant
from coherence.access.policy import Action, Decision, IncidentFacts, Subject, decide
from coherence.access.redaction import Redactions
from coherence.catalog.domain import IcsRole, OrganisationKind
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import PermissionDenied
from coherence.incidents.domain import Status
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.partners import service as partners_service


def subject_for(person: Person) -> Subject:
    """Return the policy's view of a person."""
    return Subject(
        person=person.key,
        organisation=person.organisation.key,
        operator_member=person.organisation.kind == OrganisationKind.OPERATOR.value,
        access=AccessRole(person.access_role),
        clearances=frozenset(person.clearances or ()),
    )


def active_break_glass(
    session: Session, *, person: Person, incident_id: int, now: datetime
) -> BreakGlassGrant | None:
    """Return the person's unexpired, unended break-glass grant on an incident, if any."""
    query = select(BreakGlassGrant).where(
        BreakGlassGrant.person_id == person.id,
        BreakGlassGrant.incident_id == incident_id,
        BreakGlassGrant.ended_at.is_(None),
        BreakGlassGrant.expires_at > now,
    )
    return session.scalars(query.order_by(BreakGlassGrant.id.desc()).limit(1)).first()


def incident_facts(
    session: Session, *, incident: Incident, person: Person, now: datetime, tlp: Tlp | None = None
) -> IncidentFacts:
    """Return what the policy needs about ``incident`` as ``person`` sees it.

    ``tlp`` raises the label for a record inside the incident that carries a stricter one.
    A partner's view comes from the agreements in force that cover the incident.
    """
    label = Tlp(incident.tlp)
    if tlp is not None and tlp.rank > label.rank:
        label = tlp
    return IncidentFacts(
        organisations=frozenset({incident.site.organisation.key, incident.asset.owner.key}),
        phase=Status(incident.status),
        tlp=label,
        named_recipients=frozenset(incident.tlp_recipients or ()),
        held_roles=frozenset(IcsRole(r.role) for r in incident.roles if r.person_id == person.id),
        has_commander=any(r.role == IcsRole.INCIDENT_COMMANDER.value for r in incident.roles),
        grant=partners_service.grant_for(
            session, organisation=person.organisation.key, incident=incident, now=now
        ),
        break_glass=active_break_glass(session, person=person, incident_id=incident.id, now=now)
        is not None,
    )


def decide_for(
    session: Session,
    *,
    person: Person,
    action: Action,
    now: datetime,
    incident: Incident | None = None,
    tlp: Tlp | None = None,
) -> Decision:
    """Return the policy's decision for a person, action and (for incident actions) incident."""
    facts = None
    if incident is not None:
        facts = incident_facts(session, incident=incident, person=person, now=now, tlp=tlp)
    elif action.on_incident:
        action = FACILITY_EQUIVALENT[action]
    return decide(subject_for(person), action, facts)


def require(
    session: Session,
    *,
    person: Person,
    action: Action,
    now: datetime,
    incident: Incident | None = None,
    tlp: Tlp | None = None,
) -> Decision:
    """Return the decision if allowed, else raise PermissionDenied with the policy's reason."""
    decision = decide_for(
        session, person=person, action=action, now=now, incident=incident, tlp=tlp
    )
    if not decision.allowed:
        raise PermissionDenied(decision.reason, action=action.value)
    return decision


# What an incident action means for a record that belongs to no incident (e.g. site evidence).
FACILITY_EQUIVALENT: dict[Action, Action] = {
    Action.READ: Action.READ_FACILITY,
    Action.RECORD: Action.OPEN_INCIDENT,
    Action.COMMAND: Action.MANAGE_FACILITY,
    Action.CLOSE: Action.MANAGE_FACILITY,
    Action.REOPEN: Action.MANAGE_FACILITY,
    Action.COMMUNICATE: Action.MANAGE_FACILITY,
    Action.REPORT: Action.MANAGE_FACILITY,
    Action.BREAK_GLASS: Action.MANAGE_FACILITY,
}


def record_redaction(
    session: Session,
    *,
    clock: Clock,
    reader: str,
    what: str,
    found: Redactions,
    incident_id: int | None = None,
) -> None:
    """Write the ledger entry saying what a read withheld from whom."""
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.FIELDS_REDACTED,
        actor=reader,
        subject=what,
        incident_id=incident_id,
        payload={
            "reader": reader,
            "what": what,
            "categories": sorted(c.value for c in found.categories),
            "fields": found.fields[:MAX_RECORDED_FIELDS],
            "count": len(found.fields),
        },
    )


MAX_RECORDED_FIELDS = 50
