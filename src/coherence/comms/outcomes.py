"""What came of each attempt: attempt rows, the message's next state, and its ledger entries.

A dispatcher pass records every message it tried in one transaction with a handful of
statements: one locking read, one insert of all attempts, one update of all messages. Each
message is read into a ``MessageState``, changed in memory by the rules below, and written
back; delivery receipts go through the same rules one message at a time.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, cast

from sqlalchemy import ColumnElement, Table, bindparam, insert, select, update
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.comms.domain import NextStep, Outcome, Status, after_failure
from coherence.comms.models import DeliveryAttempt
from coherence.comms.service import OUTBOX
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

ATTEMPTS = cast(Table, DeliveryAttempt.__table__)


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


@dataclass
class MessageState:
    """The outbox columns a delivery outcome reads or changes, for one message."""

    id: int
    incident_id: int | None
    person_id: int | None
    subject: str
    contacts: list[dict[str, Any]] | None
    channel: str
    address: str
    status: str
    attempts: int
    last_error: str | None
    contact_index: int
    rounds: int
    next_attempt_at: datetime | None
    receipt_due_at: datetime | None
    claimed_by: str | None
    claimed_until: datetime | None
    sent_at: datetime | None


READ_ONLY = ("id", "incident_id", "person_id", "subject", "contacts")
WRITTEN = tuple(f.name for f in fields(MessageState) if f.name not in READ_ONLY)


class _Pass:
    """The rows one transaction will write: attempts to insert, messages to update."""

    def __init__(self, session: Session, clock: Clock) -> None:
        self.session, self.clock = session, clock
        self.attempts: list[dict[str, Any]] = []

    def log(self, message: MessageState, attempt: AttemptRecord, dispatcher: str) -> None:
        message.attempts += 1
        self.attempts.append(
            {
                "message_id": message.id,
                "number": message.attempts,
                "channel": attempt.channel,
                "address": attempt.address,
                "outcome": attempt.outcome.value,
                "detail": attempt.detail[:2000],
                "started_at": attempt.started_at,
                "latency_ms": round(attempt.latency * 1000, 3),
                "dispatcher": dispatcher,
            }
        )

    def write(self, messages: Sequence[MessageState]) -> None:
        if self.attempts:
            self.session.execute(insert(ATTEMPTS), self.attempts)
        if messages:
            # Bound names must differ from the column names an UPDATE's SET clause reserves.
            changes = [
                {"message": m.id, **{f"new_{k}": getattr(m, k) for k in WRITTEN}} for m in messages
            ]
            statement = (
                update(OUTBOX)
                .where(OUTBOX.c.id == bindparam("message"))
                .values({name: bindparam(f"new_{name}") for name in WRITTEN})
            )
            self.session.execute(statement, changes)


def _held(session: Session, where: ColumnElement[bool]) -> list[MessageState]:
    columns = [OUTBOX.c[f.name] for f in fields(MessageState)]
    rows = session.execute(select(*columns).where(where).order_by(OUTBOX.c.id).with_for_update())
    return [MessageState(**row._asdict()) for row in rows]


def record_pass(
    session: Session, *, clock: Clock, dispatcher: str, results: Sequence[Delivery]
) -> int:
    """Record a pass's attempts and outcomes in the caller's transaction; return deliveries."""
    delivered = 0
    messages = {m.id: m for m in _held(session, OUTBOX.c.id.in_(r.message_id for r in results))}
    writes = _Pass(session, clock)
    for result in sorted(results, key=lambda r: r.message_id):
        message = messages.get(result.message_id)
        if message is None:
            continue
        for attempt in result.attempts:
            writes.log(message, attempt, dispatcher)
            if attempt.outcome not in (Outcome.SENT, Outcome.ACCEPTED):
                message.last_error = f"{attempt.channel}: {attempt.detail}"[:2000]
        if result.lost or not result.attempts:
            continue
        if message.claimed_by != dispatcher or message.status != Status.SENDING.value:
            continue
        if result.next_step is None:
            _delivered(writes, message, result.attempts[-1], result.receipt_due_at)
            delivered += 1
        else:
            _move_on(writes, message, result.attempts[-1], result.next_step)
    writes.write(list(messages.values()))
    return delivered


def receipt_overdue(session: Session, *, clock: Clock, message_id: int) -> MessageState | None:
    """Fail a hand-over whose delivery receipt did not arrive in time over to the next contact."""
    message = next(iter(_held(session, OUTBOX.c.id == message_id)), None)
    if (
        message is None
        or message.status != Status.AWAITING_RECEIPT.value
        or message.receipt_due_at is None
        or message.receipt_due_at >= clock.now()
    ):
        return None
    due = message.receipt_due_at
    detail = f"no delivery receipt from {message.channel} by {due:%H:%M:%S} UTC"
    return _handover_failed(_Pass(session, clock), message, Outcome.NO_RECEIPT, detail)


def confirm_receipt(
    session: Session, *, clock: Clock, key: str, delivered: bool = True, detail: str = ""
) -> MessageState | None:
    """Record a channel's delivery receipt for the message with ``key``; None if unknown.

    A receipt saying the message was not delivered fails it over to the next contact at once.
    Receipts for a message no longer awaiting one (a repeat, or one after the deadline) change
    nothing.
    """
    message = next(iter(_held(session, OUTBOX.c.key == key)), None)
    if message is None or message.status != Status.AWAITING_RECEIPT.value:
        return message
    writes = _Pass(session, clock)
    if not delivered:
        reason = f"{message.channel} reports it could not deliver: {detail}"[:500]
        return _handover_failed(writes, message, Outcome.REJECTED, reason)
    now = clock.now()
    writes.log(
        message,
        AttemptRecord(message.channel, message.address, Outcome.RECEIPT, "", now, 0.0),
        "receipts",
    )
    message.status, message.sent_at, message.receipt_due_at = Status.SENT.value, now, None
    _ledger_sent(writes, message, message.channel, latency=None)
    writes.write([message])
    return message


def _handover_failed(
    writes: _Pass, message: MessageState, outcome: Outcome, detail: str
) -> MessageState:
    now = writes.clock.now()
    attempt = AttemptRecord(message.channel, message.address, outcome, detail, now, 0.0)
    writes.log(message, attempt, "receipts")
    step = after_failure(
        contact_index=message.contact_index,
        contacts=len(message.contacts) if message.contacts else 1,
        rounds=message.rounds,
        now=now,
    )
    _move_on(writes, message, attempt, step)
    writes.write([message])
    return message


def _move_on(writes: _Pass, message: MessageState, attempt: AttemptRecord, step: NextStep) -> None:
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
        _every_channel_failed(writes, message, contacts)


def _delivered(
    writes: _Pass,
    message: MessageState,
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
    message.sent_at = writes.clock.now()
    _ledger_sent(writes, message, attempt.channel, latency=attempt.latency)


def _ledger_sent(
    writes: _Pass, message: MessageState, channel: str, *, latency: float | None
) -> None:
    ledger_service.append(
        writes.session,
        clock=writes.clock,
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
    writes: _Pass, message: MessageState, contacts: Sequence[dict[str, Any]]
) -> None:
    ledger_service.append(
        writes.session,
        clock=writes.clock,
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
