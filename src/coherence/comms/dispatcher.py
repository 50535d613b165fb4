"""The dispatcher: leases due messages, tries each contact point in turn, records every attempt.

Sends happen outside any database transaction, so a hanging gateway never holds a lock. A
message is leased (``claimed_until``) while it is being tried; if the dispatcher dies, the
lease runs out and another dispatcher, or this one restarted, takes the message up again.
That is at-least-once delivery: the message key travels with every attempt so receivers can
drop the duplicate that a crash between "sent" and "recorded" can cause.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import Clock
from coherence.comms import outcomes, service
from coherence.comms.channels import Channel, ConsoleChannel, DownChannel, OutgoingMessage
from coherence.comms.domain import (
    ChannelHealth,
    DeliveryFailed,
    Outcome,
    Status,
    after_failure,
)
from coherence.comms.models import OutboxMessage
from coherence.comms.outcomes import AttemptRecord, Delivery
from coherence.comms.service import Claimed
from coherence.db import session_scope
from coherence.exercises.domain import DOWN_CHANNEL, EXERCISE_CHANNEL

# A channel's timeout bounds each step (connect, TLS, write, read), so one attempt can take
# a few times it; the lease is extended to cover that, plus a margin.
STEPS_PER_ATTEMPT = 4
LEASE_MARGIN_SECONDS = 5.0

AckLink = Callable[[Claimed], str | None]


def default_name() -> str:
    """Name a dispatcher after its host and process, as attempts record it."""
    return f"{socket.gethostname()[:40]}:{os.getpid()}"


class Dispatcher:
    """Delivers the outbox; run any number of them against one database."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        *,
        clock: Clock,
        channels: Mapping[str, Channel],
        fallback: Channel | None,
        health: ChannelHealth | None = None,
        name: str | None = None,
        lease_seconds: float = 30.0,
        batch: int = 50,
        concurrency: int = 8,
        ack_link: AckLink | None = None,
    ) -> None:
        self._factory = factory
        self._clock = clock
        # Exercise pages always have somewhere to go: the console, or a channel taken down.
        self._channels: dict[str, Channel] = {
            EXERCISE_CHANNEL: ConsoleChannel(name=EXERCISE_CHANNEL),
            DOWN_CHANNEL: DownChannel(DOWN_CHANNEL),
            **channels,
        }
        self._fallback = fallback
        self.health = health or ChannelHealth()
        self.name = name or default_name()
        self._lease = lease_seconds
        self._batch = batch
        self._pool = ThreadPoolExecutor(concurrency, thread_name_prefix="coherence-send")
        self._ack_link = ack_link
        # Whether the last pass claimed a full batch: more is probably waiting.
        self.busy = False

    def run_once(self) -> int:
        """Fail over overdue receipts, then deliver what is due; return how many went out."""
        self._expire_receipts()
        return self.deliver()

    def deliver(self) -> int:
        """Deliver what is due now; return how many messages were handed over.

        Sends run in parallel; their outcomes are recorded together in one transaction at the
        end of the pass, so a busy pass costs one commit, not one per message.
        """
        with session_scope(self._factory) as session:
            claimed = service.claim(
                session,
                now=self._clock.now(),
                dispatcher=self.name,
                lease_seconds=self._lease,
                limit=self._batch,
            )
        self.busy = len(claimed) >= self._batch
        if not claimed:
            return 0
        if len(claimed) == 1:
            results = [self._deliver(claimed[0])]
        else:
            results = list(self._pool.map(self._deliver, claimed))
        with session_scope(self._factory) as session:
            return outcomes.record_pass(
                session, clock=self._clock, dispatcher=self.name, results=results
            )

    def close(self) -> None:
        """Stop the sending threads."""
        self._pool.shutdown(wait=True)

    def _deliver(self, message: Claimed) -> Delivery:
        """Try the message's contact points in turn until one takes it or the round ends."""
        index = message.contact_index
        lease_until = self._clock.now() + timedelta(seconds=self._lease)
        ack_url = self._ack_link(message) if self._ack_link else None
        attempts: list[AttemptRecord] = []
        while True:
            name, address = message.contacts[index]
            channel = self._channels.get(name) or self._fallback
            started = self._clock.now()
            if channel is not None:
                held = self._hold(message, channel, lease_until)
                if held is None:
                    return Delivery(message.id, attempts, None, lost=True)
                lease_until = held
            attempt = self._attempt(channel, name, address, message, ack_url, started)
            attempts.append(attempt)
            if attempt.outcome in (Outcome.SENT, Outcome.ACCEPTED):
                receipt = channel.receipt_seconds if channel is not None else None
                due = started + timedelta(seconds=receipt) if receipt else None
                return Delivery(message.id, attempts, None, receipt_due_at=due)
            step = after_failure(
                contact_index=index,
                contacts=len(message.contacts),
                rounds=message.rounds,
                now=self._clock.now(),
            )
            if step.status is not Status.PENDING or step.rounds != message.rounds:
                return Delivery(message.id, attempts, step)
            index = step.contact_index

    def _attempt(
        self,
        channel: Channel | None,
        name: str,
        address: str,
        message: Claimed,
        ack_url: str | None,
        started: datetime,
    ) -> AttemptRecord:
        if channel is None:
            return AttemptRecord(
                name, address, Outcome.NOT_CONFIGURED, f"no {name} channel configured", started, 0.0
            )
        began = time.monotonic()
        if not self.health.usable(name, began):
            detail = f"{name} skipped: it failed repeatedly just now"
            return AttemptRecord(name, address, Outcome.UNHEALTHY, detail, started, 0.0)
        outgoing = OutgoingMessage(
            message.id, name, address, message.subject, message.body, message.key, ack_url
        )
        try:
            channel.send(outgoing)
        except DeliveryFailed as exc:
            outcome, detail = exc.outcome, exc.detail
        except Exception as exc:
            outcome, detail = Outcome.ERROR, f"{type(exc).__name__}: {exc}"
        else:
            outcome = Outcome.ACCEPTED if channel.receipt_seconds else Outcome.SENT
            detail = ""
        latency = time.monotonic() - began
        ok = outcome in (Outcome.SENT, Outcome.ACCEPTED)
        self.health.record(name, ok=ok, latency=latency, at=time.monotonic())
        return AttemptRecord(name, address, outcome, detail, started, latency)

    def _hold(self, message: Claimed, channel: Channel, lease_until: datetime) -> datetime | None:
        """Extend the lease if the attempt could outlast it; None if the message was taken."""
        needed = self._clock.now() + timedelta(
            seconds=channel.timeout_seconds * STEPS_PER_ATTEMPT + LEASE_MARGIN_SECONDS
        )
        if needed <= lease_until:
            return lease_until
        until = needed + timedelta(seconds=self._lease)
        with session_scope(self._factory) as session:
            held = service.extend_lease(
                session, message_id=message.id, dispatcher=self.name, until=until
            )
        return until if held else None

    def _expire_receipts(self) -> None:
        """Fail over messages whose delivery receipt did not come in time."""
        now = self._clock.now()
        with session_scope(self._factory) as session:
            overdue = session.scalars(
                select(OutboxMessage.id).where(
                    OutboxMessage.status == Status.AWAITING_RECEIPT.value,
                    OutboxMessage.receipt_due_at < now,
                )
            ).all()
        for message_id in overdue:
            with session_scope(self._factory) as session:
                outcomes.receipt_overdue(session, clock=self._clock, message_id=message_id)
