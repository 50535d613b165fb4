"""The outbox: queue messages with the change that caused them, claim them, record each attempt."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import Row, Table, event, insert, or_, select, update
from sqlalchemy.orm import Session

from coherence.catalog.domain import ContactChannel
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import wakeup
from coherence.comms.domain import Status
from coherence.comms.models import DeliveryAttempt, OutboxMessage
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

NO_CONTACT = {"channel": ContactChannel.CONSOLE.value, "address": "(no contact point on file)"}

OUTBOX = cast(Table, OutboxMessage.__table__)

# Set when a transaction that queued messages commits, so a dispatcher in the same process
# sends them at once instead of at its next poll; see wakeup.py for other processes.
OUTBOX_READY = threading.Event()


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    session.info.pop("outbox_notified", None)
    if session.info.pop("outbox_ready", False):
        OUTBOX_READY.set()


@event.listens_for(Session, "after_rollback")
def _forget_queued(session: Session) -> None:
    session.info.pop("outbox_notified", None)
    session.info.pop("outbox_ready", None)


@dataclass(frozen=True)
class Page:
    """One message to queue for one person."""

    person: Person
    subject: str
    body: str
    reason: str
    incident_id: int | None = None


@dataclass(frozen=True)
class Queued:
    """A message as written to the outbox."""

    id: int
    key: str


def enqueue(
    session: Session,
    *,
    clock: Clock,
    person: Person,
    subject: str,
    body: str,
    reason: str,
    actor: str,
    incident_id: int | None = None,
) -> Queued:
    """Write one message for ``person`` to the outbox and record it in the ledger."""
    page = Page(person, subject, body, reason, incident_id)
    return enqueue_many(session, clock=clock, pages=[page], actor=actor)[0]


def enqueue_many(
    session: Session, *, clock: Clock, pages: Sequence[Page], actor: str
) -> list[Queued]:
    """Write the messages to the outbox in one statement and record each in the ledger."""
    if not pages:
        return []
    now = clock.now()
    rows = [_outbox_row(session, clock, page, now) for page in pages]
    ids = session.scalars(
        insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), rows
    ).all()
    session.info["outbox_ready"] = True
    wakeup.notify_at_commit(session)
    for page, row, message_id in zip(pages, rows, ids, strict=True):
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.NOTIFICATION_QUEUED,
            actor=actor,
            subject=f"message:{message_id}",
            incident_id=page.incident_id,
            payload={
                "message_id": message_id,
                "person": page.person.key,
                "channel": row["channel"],
                "fallbacks": [c["channel"] for c in row["contacts"][1:]],
                "reason": page.reason,
                "subject": row["subject"],
            },
        )
    return [Queued(message_id, row["key"]) for row, message_id in zip(rows, ids, strict=True)]


def _outbox_row(session: Session, clock: Clock, page: Page, now: datetime) -> dict[str, Any]:
    contacts = [{"channel": c["channel"], "address": c["address"]} for c in page.person.contacts]
    contacts = contacts or [dict(NO_CONTACT)]
    if page.incident_id is not None:
        # Imported here: exercises builds on incidents, which page through this module.
        from coherence.exercises import service as exercises_service

        contacts = exercises_service.rehearsed_contacts(
            session,
            clock=clock,
            incident_id=page.incident_id,
            person=page.person.key,
            contacts=contacts,
        )
    return {
        "key": str(uuid.uuid4()),
        "incident_id": page.incident_id,
        "person_id": page.person.id,
        "reason": page.reason,
        "channel": contacts[0]["channel"],
        "address": contacts[0]["address"],
        "contacts": contacts,
        "contact_index": 0,
        "rounds": 0,
        "subject": page.subject[:300],
        "body": page.body,
        "status": Status.PENDING.value,
        "attempts": 0,
        "created_at": now,
    }


@dataclass(frozen=True)
class Claimed:
    """A message one dispatcher holds the lease on, copied out of its transaction."""

    id: int
    key: str
    incident_id: int | None
    contacts: tuple[tuple[str, str], ...]
    contact_index: int
    rounds: int
    attempts: int
    subject: str
    body: str


def claim(
    session: Session, *, now: datetime, dispatcher: str, lease_seconds: float, limit: int
) -> list[Claimed]:
    """Lease up to ``limit`` due messages: pending ones, and those whose holder's lease ran out.

    One ``UPDATE ... RETURNING`` takes them. On PostgreSQL its ``SKIP LOCKED`` sub-select lets
    several dispatchers claim side by side without ever taking the same row; SQLite has one
    writer at a time, which gives the same guarantee.
    """
    outbox = OUTBOX
    due = (
        select(outbox.c.id)
        .where(
            or_(
                (outbox.c.status == Status.PENDING.value)
                & or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
                (outbox.c.status == Status.SENDING.value) & (outbox.c.claimed_until < now),
            )
        )
        .order_by(outbox.c.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    taken = session.execute(
        update(outbox)
        .where(outbox.c.id.in_(due.scalar_subquery()))
        .values(
            status=Status.SENDING.value,
            claimed_until=now + timedelta(seconds=lease_seconds),
            claimed_by=dispatcher,
        )
        .returning(*CLAIMED_COLUMNS)
    )
    return sorted((_copy(row) for row in taken), key=lambda message: message.id)


CLAIMED_COLUMNS = tuple(
    OUTBOX.c[name]
    for name in (
        "id",
        "key",
        "incident_id",
        "contacts",
        "channel",
        "address",
        "contact_index",
        "rounds",
        "attempts",
        "subject",
        "body",
    )
)


def _copy(row: Row[Any]) -> Claimed:
    contacts = row.contacts or [{"channel": row.channel, "address": row.address}]
    return Claimed(
        id=row.id,
        key=row.key or str(row.id),
        incident_id=row.incident_id,
        contacts=tuple((c["channel"], c["address"]) for c in contacts),
        contact_index=row.contact_index,
        rounds=row.rounds,
        attempts=row.attempts,
        subject=row.subject,
        body=row.body,
    )


def extend_lease(session: Session, *, message_id: int, dispatcher: str, until: datetime) -> bool:
    """Keep holding a message for a slow attempt; False if another dispatcher has taken it."""
    result = session.execute(
        update(OutboxMessage)
        .where(
            OutboxMessage.id == message_id,
            OutboxMessage.claimed_by == dispatcher,
            OutboxMessage.status == Status.SENDING.value,
        )
        .values(claimed_until=until)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]


def messages_for_incident(session: Session, incident_id: int) -> list[OutboxMessage]:
    """Return every message queued for an incident, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
    return list(session.scalars(query.order_by(OutboxMessage.id)).all())


def attempts_for(session: Session, message_id: int) -> list[DeliveryAttempt]:
    """Return every attempt at one message, oldest first."""
    query = select(DeliveryAttempt).where(DeliveryAttempt.message_id == message_id)
    return list(session.scalars(query.order_by(DeliveryAttempt.id)).all())


def failed_pages(session: Session, incident_ids: Sequence[int]) -> dict[int, int]:
    """Return, per incident, how many of its messages failed on every channel."""
    if not incident_ids:
        return {}
    rows = session.execute(
        select(OutboxMessage.incident_id).where(
            OutboxMessage.incident_id.in_(incident_ids),
            OutboxMessage.status == Status.FAILED.value,
        )
    ).scalars()
    counts: dict[int, int] = {}
    for incident_id in rows:
        if incident_id is not None:
            counts[incident_id] = counts.get(incident_id, 0) + 1
    return counts
