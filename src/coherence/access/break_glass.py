"""Break-glass: time-limited elevated access to one incident, taken with a reason and announced."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access import guard
from coherence.access.models import BreakGlassGrant
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import service as comms_service
from coherence.errors import NotFound, PermissionDenied, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

DEFAULT_MINUTES = 60
MAX_MINUTES = 240
MIN_REASON_LENGTH = 10
# Who must hear at once that someone broke the glass on their incident.
TOLD_ROLES = (IcsRole.INCIDENT_COMMANDER, IcsRole.SAFETY_OFFICER)


def take(
    session: Session,
    *,
    clock: Clock,
    person_key: str,
    ref: str | int,
    reason: str,
    minutes: int = DEFAULT_MINUTES,
) -> BreakGlassGrant:
    """Grant ``person_key`` elevated access to an incident for ``minutes``; tell IC and safety."""
    reason = reason.strip()
    if len(reason) < MIN_REASON_LENGTH:
        raise ValidationFailed(
            f"say why you need emergency access (at least {MIN_REASON_LENGTH} characters)",
            field="reason",
        )
    if not 1 <= minutes <= MAX_MINUTES:
        raise ValidationFailed(f"minutes must be 1 to {MAX_MINUTES}", field="minutes")
    person = catalog_service.get_person_or_raise(session, person_key)
    incident = incidents_service.get_or_raise(session, ref)
    now = clock.now()
    guard.require(session, person=person, action=Action.BREAK_GLASS, now=now, incident=incident)
    grant = BreakGlassGrant(
        person_id=person.id,
        incident_id=incident.id,
        reason=reason,
        started_at=now,
        expires_at=now + timedelta(minutes=minutes),
    )
    session.add(grant)
    session.flush()
    told = _tell(session, clock=clock, incident=incident, grant=grant, person=person)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.BREAK_GLASS_TAKEN,
        actor=person.key,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "grant": grant.id,
            "person": person.key,
            "reason": reason,
            "expires_at": grant.expires_at.isoformat(),
            "told": told,
        },
    )
    return grant


def end(session: Session, *, clock: Clock, grant_id: int, actor: Person) -> BreakGlassGrant:
    """Give up a grant before it expires (its holder or an administrator)."""
    grant = session.get(BreakGlassGrant, grant_id)
    if grant is None:
        raise NotFound(f"no break-glass grant {grant_id}", field="grant_id")
    if grant.person_id != actor.id and actor.access_role != "administrator":
        raise PermissionDenied("only its holder or an administrator ends a grant")
    now = clock.now()
    if grant.ended_at is None and grant.expires_at > now:
        grant.ended_at = now
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.BREAK_GLASS_ENDED,
            actor=actor.key,
            subject=f"incident:{grant.incident_id}",
            incident_id=grant.incident_id,
            payload={"grant": grant.id},
        )
    return grant


def grants(
    session: Session, *, now: datetime, active_only: bool = False
) -> Sequence[BreakGlassGrant]:
    """Return grants newest first (only those still in force with ``active_only``)."""
    query = select(BreakGlassGrant).order_by(BreakGlassGrant.id.desc())
    if active_only:
        query = query.where(BreakGlassGrant.ended_at.is_(None), BreakGlassGrant.expires_at > now)
    return session.scalars(query.limit(500)).all()


def _tell(
    session: Session, *, clock: Clock, incident: Incident, grant: BreakGlassGrant, person: Person
) -> list[str]:
    """Page the incident's commander and safety officer (or whoever is on call for them)."""
    told: list[str] = []
    for role in TOLD_ROLES:
        holder = next((r.person for r in incident.roles if r.role == role.value), None)
        if holder is None:
            holder = catalog_service.on_call(session, site=incident.site, role=role, at=clock.now())
        if holder is None or holder.id == person.id or holder.key in told:
            continue
        comms_service.enqueue(
            session,
            clock=clock,
            person=holder,
            incident_id=incident.id,
            actor=person.key,
            reason="break_glass",
            subject=f"[{reference(incident.id)}] Break-glass access taken by {person.name}",
            body=(
                f"{person.name} ({person.key}) took emergency access to {reference(incident.id)} "
                f"“{incident.title}” until {grant.expires_at:%H:%M} UTC.\nReason: {grant.reason}\n"
                "It is recorded in the ledger. End it with "
                f"`coherence access end-break-glass {grant.id}` if it is not needed."
            ),
        )
        told.append(holder.key)
    return told
