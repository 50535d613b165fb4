"""The dispatcher: failover across contact points, retry rounds, leases, receipts, the alarm."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.models import Person
from coherence.clock import ManualClock
from coherence.comms import outcomes as delivery
from coherence.comms import service
from coherence.comms.channels import MemoryChannel, OutgoingMessage
from coherence.comms.dispatcher import Dispatcher
from coherence.comms.domain import (
    MAX_ROUNDS,
    RETRY_AFTER_SECONDS,
    ChannelHealth,
    DeliveryFailed,
    Outcome,
    Status,
    after_failure,
)
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry


@dataclass
class FailingChannel:
    """Refuses every message, counting the tries."""

    name: str = "broken"
    outcome: Outcome = Outcome.REFUSED
    timeout_seconds: float = 1.0
    receipt_seconds: float | None = None
    calls: list[OutgoingMessage] = field(default_factory=list)

    def send(self, message: OutgoingMessage) -> None:
        self.calls.append(message)
        raise DeliveryFailed(self.outcome, f"{self.name} is down")


def queue(factory: sessionmaker[Session], clock: ManualClock, *channels: str) -> int:
    """Queue one message for someone reachable over ``channels``, in that order."""
    person = Person(
        key="sam-reyes",
        name="Sam Reyes",
        contacts=[{"channel": c, "address": f"sam@{c}"} for c in channels],
    )
    with session_scope(factory) as session:
        message = service.enqueue(
            session,
            clock=clock,
            person=person,
            subject="[SEV2] INC-00001 fridge warming",
            body="Mixing chamber above 50 mK.",
            reason="open",
            actor="test",
        )
        return message.id


def state(factory: sessionmaker[Session], message_id: int) -> tuple[OutboxMessage, list[str]]:
    with session_scope(factory) as session:
        message = session.get(OutboxMessage, message_id)
        assert message is not None
        session.expunge(message)
        outcomes = [a.outcome for a in service.attempts_for(session, message_id)]
    return message, outcomes


def ledger_types(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as session:
        return list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))


def test_a_message_goes_out_on_the_first_contact_and_is_recorded(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    email = MemoryChannel(name="email")
    message_id = queue(factory, clock, "email", "sms")
    dispatcher = Dispatcher(factory, clock=clock, channels={"email": email}, fallback=None)
    assert dispatcher.run_once() == 1
    message, outcomes = state(factory, message_id)
    assert message.status == Status.SENT
    assert outcomes == ["sent"]
    assert [m.address for m in email.sent] == ["sam@email"]
    assert email.sent[0].key == message.key
    assert ledger_types(factory)[-2:] == ["notification:queued", "notification:sent"]
    assert dispatcher.run_once() == 0


def test_a_failing_channel_fails_over_to_the_next_contact_at_once(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    email, sms = FailingChannel(name="email"), MemoryChannel(name="sms")
    message_id = queue(factory, clock, "email", "sms")
    Dispatcher(
        factory, clock=clock, channels={"email": email, "sms": sms}, fallback=None
    ).run_once()
    message, outcomes = state(factory, message_id)
    assert outcomes == ["refused", "sent"]
    assert (message.status, message.channel, message.address) == ("sent", "sms", "sam@sms")
    assert "email is down" in (message.last_error or "")
    assert sms.sent[0].key == email.calls[0].key


def test_an_unconfigured_channel_is_skipped_to_the_next(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    sms = MemoryChannel(name="sms")
    message_id = queue(factory, clock, "pager", "sms")
    Dispatcher(factory, clock=clock, channels={"sms": sms}, fallback=None).run_once()
    assert state(factory, message_id)[1] == ["not_configured", "sent"]


def test_rounds_are_retried_after_a_pause_then_the_failure_is_an_alarm(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    email, sms = FailingChannel(name="email"), FailingChannel(name="sms", outcome=Outcome.TIMEOUT)
    message_id = queue(factory, clock, "email", "sms")
    health = ChannelHealth(failures_to_trip=100)
    dispatcher = Dispatcher(
        factory, clock=clock, channels={"email": email, "sms": sms}, fallback=None, health=health
    )
    dispatcher.run_once()
    message, outcomes = state(factory, message_id)
    assert (message.status, message.rounds, outcomes) == ("pending", 1, ["refused", "timeout"])
    clock.advance(timedelta(seconds=RETRY_AFTER_SECONDS[0] - 1))
    dispatcher.run_once()
    assert len(state(factory, message_id)[1]) == 2, "the pause must be kept"
    for pause in RETRY_AFTER_SECONDS:
        clock.advance(timedelta(seconds=pause))
        dispatcher.run_once()
    message, outcomes = state(factory, message_id)
    assert message.status == Status.FAILED
    assert len(outcomes) == 2 * MAX_ROUNDS
    assert ledger_types(factory)[-1] == "notification:failed"
    with session_scope(factory) as session:
        alarm = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
        assert alarm is not None
        payload = orjson.loads(alarm.payload)
        assert payload["channels"] == ["email", "sms"]
        assert "sms is down" in payload["last_error"]
    clock.advance(timedelta(hours=1))
    assert dispatcher.run_once() == 0


def test_a_channel_that_keeps_failing_is_skipped_without_paying_its_timeout(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    email, sms = FailingChannel(name="email"), MemoryChannel(name="sms")
    dispatcher = Dispatcher(
        factory,
        clock=clock,
        channels={"email": email, "sms": sms},
        fallback=None,
        health=ChannelHealth(failures_to_trip=3, cooldown_seconds=3600),
        concurrency=1,
    )
    ids = [queue(factory, clock, "email", "sms") for _ in range(5)]
    for _ in ids:
        dispatcher.run_once()
    assert len(email.calls) == 3
    assert [state(factory, i)[1] for i in ids][-1] == ["unhealthy", "sent"]
    assert len(sms.sent) == 5
    report = dispatcher.health.report(at=0.0)
    assert report["email"]["consecutive_failures"] == 3
    assert report["sms"]["state"] == "ok"


def test_a_dead_dispatchers_lease_runs_out_and_another_delivers(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    message_id = queue(factory, clock, "email")
    with session_scope(factory) as session:
        [claimed] = service.claim(
            session, now=clock.now(), dispatcher="dead", lease_seconds=30, limit=10
        )
    email = MemoryChannel(name="email")
    survivor = Dispatcher(factory, clock=clock, channels={"email": email}, fallback=None)
    assert survivor.run_once() == 0, "a live lease is respected"
    clock.advance(timedelta(seconds=31))
    assert survivor.run_once() == 1
    assert email.sent[0].key == claimed.key
    late = delivery.AttemptRecord("email", "sam@email", Outcome.SENT, "", clock.now(), 0.1)
    with session_scope(factory) as session:
        delivered = delivery.record_pass(
            session,
            clock=clock,
            dispatcher="dead",
            results=[delivery.Delivery(message_id, [late], None)],
        )
    assert delivered == 0, "the dead dispatcher's late word changes nothing"
    message, outcomes = state(factory, message_id)
    assert message.status == Status.SENT
    assert outcomes == ["sent", "sent"]


def test_a_missing_delivery_receipt_fails_over_and_a_receipt_confirms(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    sms = MemoryChannel(name="sms", receipt_seconds=60)
    email = MemoryChannel(name="email")
    dispatcher = Dispatcher(
        factory, clock=clock, channels={"sms": sms, "email": email}, fallback=None
    )
    confirmed, lost = queue(factory, clock, "sms", "email"), queue(factory, clock, "sms", "email")
    dispatcher.run_once()
    assert state(factory, confirmed)[0].status == Status.AWAITING_RECEIPT
    with session_scope(factory) as session:
        key = session.get(OutboxMessage, confirmed).key  # type: ignore[union-attr]
        assert key is not None
        delivery.confirm_receipt(session, clock=clock, key=key)
    assert state(factory, confirmed)[0].status == Status.SENT
    clock.advance(timedelta(seconds=61))
    dispatcher.run_once()
    message, outcomes = state(factory, lost)
    assert outcomes == ["accepted", "no_receipt", "sent"]
    assert (message.status, message.channel) == ("sent", "email")
    assert state(factory, confirmed)[1] == ["accepted", "receipt"]


def test_unknown_receipts_change_nothing(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with session_scope(factory) as session:
        assert delivery.confirm_receipt(session, clock=clock, key="not-a-key") is None


@pytest.mark.parametrize(
    ("index", "rounds", "expected"),
    [
        (0, 0, (Status.PENDING, 1, 0, 0.0)),
        (1, 0, (Status.PENDING, 0, 1, RETRY_AFTER_SECONDS[0])),
        (1, MAX_ROUNDS - 1, (Status.FAILED, 1, MAX_ROUNDS, None)),
    ],
)
def test_what_follows_a_failure(
    clock: ManualClock, index: int, rounds: int, expected: tuple[Status, int, int, float | None]
) -> None:
    step = after_failure(contact_index=index, contacts=2, rounds=rounds, now=clock.now())
    wait = None if step.not_before is None else (step.not_before - clock.now()).total_seconds()
    assert (step.status, step.contact_index, step.rounds, wait) == expected
