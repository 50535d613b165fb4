"""The per-incident communications plan, in the spirit of ICS form 205."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from coherence.comms.cadence import next_update_due
from coherence.comms.models import OutboxMessage, Statement
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident


class ContactLine(BaseModel):
    """One way to reach a person, in the order pages try them."""

    order: int
    channel: str
    address: str


class Assignment(BaseModel):
    """Who fills one function on the incident and how to reach them."""

    function: str
    person: str
    name: str
    contacts: list[ContactLine]
    pages_failed: int


class AudienceLine(BaseModel):
    """An audience the incident talks to: when it was last told and when next."""

    audience: str
    statements: int
    last_at: datetime | None
    next_due_at: datetime | None


class CommsPlan(BaseModel):
    """Functions, people, their channels in failover order, and the audiences' cadence."""

    incident: str
    assignments: list[Assignment]
    audiences: list[AudienceLine]


def comms_plan(session: Session, incident: Incident) -> CommsPlan:
    """Build the plan from who holds each role now, their contact points and the statements."""
    failed = dict(
        session.execute(
            select(OutboxMessage.person_id, func.count())
            .where(OutboxMessage.incident_id == incident.id, OutboxMessage.status == "failed")
            .group_by(OutboxMessage.person_id)
        ).all()
    )
    assignments = [
        Assignment(
            function=role.role.replace("_", " "),
            person=role.person.key,
            name=role.person.name,
            contacts=[
                ContactLine(order=n, channel=c["channel"], address=c["address"])
                for n, c in enumerate(role.person.contacts, start=1)
            ],
            pages_failed=failed.get(role.person.id, 0),
        )
        for role in sorted(incident.roles, key=lambda r: r.role)
    ]
    told = session.execute(
        select(Statement.audience, func.count(), func.max(Statement.issued_at))
        .where(Statement.incident_id == incident.id)
        .group_by(Statement.audience)
    ).all()
    due = next_update_due(session, incident.id)
    audiences = {
        a: AudienceLine(audience=a, statements=n, last_at=t, next_due_at=due.get(a))
        for a, n, t in told
    }
    for audience, at in due.items():
        audiences.setdefault(
            audience, AudienceLine(audience=audience, statements=0, last_at=None, next_due_at=at)
        )
    return CommsPlan(
        incident=reference(incident.id),
        assignments=assignments,
        audiences=sorted(audiences.values(), key=lambda line: line.audience),
    )
