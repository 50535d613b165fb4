"""Queue messages in the outbox with the change that caused them, and deliver them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.domain import ContactChannel
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms.channels import Channel, OutgoingMessage
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

MAX_ATTEMPTS = 5


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
    contact = _first_contact(person.contacts)
    message = OutboxMessage(
        incident_id=incident_id,
        person_id=person.id,
        reason=reason,
        channel=contact["channel"],
        address=contact["address"],
        subject=subject[:300],
        body=body,
        status="pending",
        attempts=0,
        created_at=clock.now(),
    )
    session.add(message)
    session.flush()
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
            "reason": reason,
            "subject": message.subject,
        },
    )
    return message


def _first_contact(contacts: list[dict[str, Any]]) -> Mapping[str, str]:
    if contacts:
        return contacts[0]
    return {"channel": ContactChannel.CONSOLE.value, "address": "(no contact point on file)"}


def dispatch_pending(
    factory: sessionmaker[Session],
    *,
    clock: Clock,
    channels: Mapping[str, Channel],
    fallback: Channel,
    limit: int = 50,
) -> int:
    """Send pending outbox messages, each in its own transaction; return how many were sent."""
    sent = 0
    with session_scope(factory) as session:
        ids = session.scalars(
            select(OutboxMessage.id)
            .where(OutboxMessage.status == "pending")
            .order_by(OutboxMessage.id)
            .limit(limit)
        ).all()
    for message_id in ids:
        with session_scope(factory) as session:
            message = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.id == message_id, OutboxMessage.status == "pending")
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if message is None:
                continue
            channel = channels.get(message.channel, fallback)
            message.attempts += 1
            try:
                channel.send(
                    OutgoingMessage(
                        message.id, message.channel, message.address, message.subject, message.body
                    )
                )
            except Exception as exc:
                message.last_error = f"{type(exc).__name__}: {exc}"[:2000]
                if message.attempts >= MAX_ATTEMPTS:
                    message.status = "failed"
                continue
            message.status = "sent"
            message.sent_at = clock.now()
            sent += 1
    return sent


def messages_for_incident(session: Session, incident_id: int) -> list[OutboxMessage]:
    """Return every message queued for an incident, oldest first."""
    query = select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
    return list(session.scalars(query.order_by(OutboxMessage.id)).all())
