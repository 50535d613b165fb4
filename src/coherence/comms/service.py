"""The outbox: queue messages with the change that caused them, claim them, record each attempt."""

from __future__ import annotations

import threading
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import event, or_, select, update
from sqlalchemy.orm import Session

from coherence.catalog.domain import ContactChannel
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms.domain import NextStep, Outcome, Status, after_failure
from coherence.comms.models import DeliveryAttempt, OutboxMessage
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

NO_CONTACT = {"channel": ContactChannel.CONSOLE.value, "address": "(no contact point on file)"}

# Set when a transaction that queued messages commits, so a dispatcher in the same process
# sends them at once instead of at its next poll; other processes still poll.
OUTBOX_READY = threading.Event()


@event.listens_for(Session, "after_commit")
def _wake_dispatchers(session: Session) -> None:
    if session.info.pop("outbox_ready", False):
        OUTBOX_READY.set()


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
) -> OutboxMessage:
    """Write one message for ``person`` to the outbox and record it in the ledger."""
    contacts = [{"channel": c["channel"], "address": c["address"]} for c in person.contacts]
    contacts = contacts or [dict(NO_CONTACT)]
    if incident_id is not None:
        # Imported here: exercises builds on incidents, which page through this module.
        from coherence.exercises import service as exercises_service

        contacts = exercises_service.rehearsed_contacts(
            session, clock=clock, incident_id=incident_id, person=person.key, contacts=contacts
        )
    message = OutboxMessage(
        key=str(uuid.uuid4()),
        incident_id=incident_id,
        person_id=person.id,
        reason=reason,
        channel=contacts[0]["channel"],
        address=contacts[0]["address"],
        contacts=contacts,
        contact_index=0,
        rounds=0,
        subject=subject[:300],
        body=body,
        status=Status.PENDING.value,
        attempts=0,
        created_at=clock.now(),
    )
    session.add(message)
    session.flush()
    session.info["outbox_ready"] = True
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.NOTIFICATION_QUEUED,
        actor=actor,
        subject=f"message:{message.id}",
        incident_id=incident_id,
        payload={
            "message_id": message.id,
            "person": person.key,
            "channel": message.channel,
            "fallbacks": [c["channel"] for c in contacts[1:]],
            "reason": reason,
            "subject": message.subject,
        },
    )
    return message


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

    On PostgreSQL, ``SKIP LOCKED`` lets several dispatchers claim side by side without ever
    taking the same row; SQLite has one writer at a time, which gives the same guarantee.
    """
    due = (
        select(OutboxMessage)
        .where(
            or_(
                (OutboxMessage.status == Status.PENDING.value)
                & or_(
                    OutboxMessage.next_attempt_at.is_(None), OutboxMessage.next_attempt_at <= now
                ),
                (OutboxMessage.status == Status.SENDING.value)
                & (OutboxMessage.claimed_until < now),
            )
        )
        .order_by(OutboxMessage.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claimed = []
    until = now + timedelta(seconds=lease_seconds)
    for message in session.scalars(due).all():
        message.status = Status.SENDING.value
        message.claimed_until, message.claimed_by = until, dispatcher
        claimed.append(_copy(message))
    return claimed


def _copy(message: OutboxMessage) -> Claimed:
    contacts = message.contacts or [{"channel": message.channel, "address": message.address}]
    return Claimed(
        id=message.id,
        key=message.key or str(message.id),
        incident_id=message.incident_id,
        contacts=tuple((c["channel"], c["address"]) for c in contacts),
        contact_index=message.contact_index,
        rounds=message.rounds,
        attempts=message.attempts,
        subject=message.subject,
        body=message.body,
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


@dataclass(frozen=True)
class AttemptRecord:
    """One attempt, as the dispatcher saw it."""

    channel: str
    address: str
    outcome: Outcome
    detail: str
    started_at: datetime
    latency: float


@dataclass(frozen=True)
class Delivery:
    """What one pass did with one message: its attempts and where it goes next.

    ``next_step`` None with ``lost`` False means the last attempt delivered it; ``lost`` means
    another dispatcher took the message over mid-pass.
    """

    message_id: int
    attempts: list[AttemptRecord]
    next_step: NextStep | None
    receipt_due_at: datetime | None = None
    lost: bool = False


def record_pass(
    session: Session, *, clock: Clock, dispatcher: str, results: Sequence[Delivery]
) -> int:
    """Record a pass's attempts and outcomes in the caller's transaction; return deliveries."""
    delivered = 0
    ids = sorted(r.message_id for r in results)
    # One locking read for the whole pass: a lookup per message would flush the previous
    # message's changes each time, and that cost grows with every message in the pass.
    held = session.scalars(
        select(OutboxMessage)
        .where(OutboxMessage.id.in_(ids))
        .order_by(OutboxMessage.id)
        .with_for_update()
    ).all()
    messages = {m.id: m for m in held}
    for result in sorted(results, key=lambda r: r.message_id):
        message = messages.get(result.message_id)
        if message is None:
            continue
        for attempt in result.attempts:
            _log_attempt(session, message, attempt, dispatcher)
            if attempt.outcome not in (Outcome.SENT, Outcome.ACCEPTED):
                message.last_error = f"{attempt.channel}: {attempt.detail}"[:2000]
        if result.lost or not result.attempts:
            continue
        if message.claimed_by != dispatcher or message.status != Status.SENDING.value:
            continue
        if result.next_step is None:
            _delivered(session, clock, message, result.attempts[-1], result.receipt_due_at)
            delivered += 1
        else:
            _move_on(session, clock, message, result.attempts[-1], result.next_step)
    return delivered


def receipt_overdue(session: Session, *, clock: Clock, message_id: int) -> OutboxMessage | None:
    """Fail a hand-over whose delivery receipt did not arrive in time over to the next contact."""
    message = session.get(OutboxMessage, message_id, with_for_update=True)
    if (
        message is None
        or message.status != Status.AWAITING_RECEIPT.value
        or message.receipt_due_at is None
        or message.receipt_due_at >= clock.now()
    ):
        return None
    due = message.receipt_due_at
    detail = f"no delivery receipt from {message.channel} by {due:%H:%M:%S} UTC"
    return _handover_failed(session, clock, message, Outcome.NO_RECEIPT, detail)


def _handover_failed(
    session: Session, clock: Clock, message: OutboxMessage, outcome: Outcome, detail: str
) -> OutboxMessage:
    now = clock.now()
    attempt = AttemptRecord(message.channel, message.address, outcome, detail, now, 0.0)
    _log_attempt(session, message, attempt, "receipts")
    step = after_failure(
        contact_index=message.contact_index,
        contacts=len(message.contacts) if message.contacts else 1,
        rounds=message.rounds,
        now=now,
    )
    _move_on(session, clock, message, attempt, step)
    return message


def confirm_receipt(
    session: Session, *, clock: Clock, key: str, delivered: bool = True, detail: str = ""
) -> OutboxMessage | None:
    """Record a channel's delivery receipt for the message with ``key``; None if unknown.

    A receipt saying the message was not delivered fails it over to the next contact at once.
    Receipts for a message no longer awaiting one (a repeat, or one after the deadline) change
    nothing.
    """
    message = session.scalars(
        select(OutboxMessage).where(OutboxMessage.key == key).with_for_update()
    ).one_or_none()
    if message is None or message.status != Status.AWAITING_RECEIPT.value:
        return message
    if not delivered:
        reason = f"{message.channel} reports it could not deliver: {detail}"[:500]
        return _handover_failed(session, clock, message, Outcome.REJECTED, reason)
    now = clock.now()
    attempt = AttemptRecord(message.channel, message.address, Outcome.RECEIPT, "", now, 0.0)
    _log_attempt(session, message, attempt, "receipts")
    message.status, message.sent_at, message.receipt_due_at = Status.SENT.value, now, None
    _ledger_sent(session, clock, message, message.channel, latency=None)
    return message


def _log_attempt(
    session: Session, message: OutboxMessage, attempt: AttemptRecord, dispatcher: str
) -> None:
    message.attempts += 1
    session.add(
        DeliveryAttempt(
            message_id=message.id,
            number=message.attempts,
            channel=attempt.channel,
            address=attempt.address,
            outcome=attempt.outcome.value,
            detail=attempt.detail[:2000],
            started_at=attempt.started_at,
            latency_ms=round(attempt.latency * 1000, 3),
            dispatcher=dispatcher,
        )
    )


def _move_on(
    session: Session,
    clock: Clock,
    message: OutboxMessage,
    attempt: AttemptRecord,
    step: NextStep,
) -> None:
    message.last_error = f"{attempt.channel}: {attempt.detail}"[:2000]
    message.status = step.status.value
    message.contact_index, message.rounds = step.contact_index, step.rounds
    message.next_attempt_at = step.not_before
    message.receipt_due_at = None
    contacts = message.contacts or [{"channel": message.channel, "address": message.address}]
    current = contacts[min(step.contact_index, len(contacts) - 1)]
    message.channel, message.address = current["channel"], current["address"]
    message.claimed_by = message.claimed_until = None
    if step.status is Status.FAILED:
        _every_channel_failed(session, clock, message, contacts)


def _delivered(
    session: Session,
    clock: Clock,
    message: OutboxMessage,
    attempt: AttemptRecord,
    receipt_due_at: datetime | None,
) -> None:
    message.channel, message.address = attempt.channel, attempt.address
    message.claimed_by = message.claimed_until = None
    if receipt_due_at is not None:
        message.status = Status.AWAITING_RECEIPT.value
        message.receipt_due_at = receipt_due_at
        return
    message.status = Status.SENT.value
    message.sent_at = clock.now()
    _ledger_sent(session, clock, message, attempt.channel, latency=attempt.latency)


def _ledger_sent(
    session: Session, clock: Clock, message: OutboxMessage, channel: str, *, latency: float | None
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.NOTIFICATION_SENT,
        actor="dispatcher",
        subject=f"message:{message.id}",
        incident_id=message.incident_id,
        payload={
            "message_id": message.id,
            "channel": channel,
            "attempts": message.attempts,
            "latency_ms": None if latency is None else round(latency * 1000, 1),
        },
    )


def _every_channel_failed(
    session: Session, clock: Clock, message: OutboxMessage, contacts: Sequence[dict[str, Any]]
) -> None:
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.NOTIFICATION_FAILED,
        actor="dispatcher",
        subject=f"message:{message.id}",
        incident_id=message.incident_id,
        payload={
            "message_id": message.id,
            "person_id": message.person_id,
            "channels": [c["channel"] for c in contacts],
            "attempts": message.attempts,
            "last_error": message.last_error,
            "subject": message.subject,
        },
    )


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
