"""Notification channels behind one small interface."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Any, Protocol, TextIO

from coherence.comms.domain import DeliveryFailed, Outcome


@dataclass(frozen=True)
class OutgoingMessage:
    """What a channel is asked to deliver."""

    message_id: int
    channel: str
    address: str
    subject: str
    body: str
    key: str = ""
    ack_url: str | None = None

    @property
    def text(self) -> str:
        """The body with the acknowledgement link, for channels that carry plain text."""
        if self.ack_url is None:
            return self.body
        return f"{self.body.rstrip()}\n\nAcknowledge with one click: {self.ack_url}\n"

    def as_json(self) -> dict[str, Any]:
        """The message as the JSON object webhook, MQTT and NATS receivers get."""
        return {
            "message_id": self.key or str(self.message_id),
            "to": self.address,
            "subject": self.subject,
            "text": self.body,
            "ack_url": self.ack_url,
        }


class Channel(Protocol):
    """Delivers a message or raises; ``DeliveryFailed`` says how, anything else is an error."""

    name: str
    timeout_seconds: float
    # Seconds to wait for a delivery receipt after the hand-over; None when none will come.
    receipt_seconds: float | None

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to its address."""
        ...


class ConsoleChannel:
    """Prints each message; the development stand-in for every real channel."""

    timeout_seconds: float = 1.0
    receipt_seconds: float | None = None

    def __init__(self, stream: TextIO | None = None, *, name: str = "console") -> None:
        self.name = name
        self._stream = stream

    def send(self, message: OutgoingMessage) -> None:
        """Write the message to the console."""
        stream = self._stream or sys.stderr
        body = "".join(f"    {line}\n" for line in message.text.splitlines())
        stream.write(
            f"[page #{message.message_id} via {message.channel} to {message.address}] "
            f"{message.subject}\n{body}"
        )
        stream.flush()


class DownChannel:
    """Refuses every message: the stand-in for a channel an exercise has taken down."""

    timeout_seconds: float = 1.0
    receipt_seconds: float | None = None

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: OutgoingMessage) -> None:
        """Fail, naming the channel the exercise took down."""
        channel = message.address.partition(":")[0]
        raise DeliveryFailed(Outcome.REFUSED, f"{channel} is down in the exercise")


@dataclass
class MemoryChannel:
    """Records what it was asked to send; for tests."""

    name: str = "memory"
    timeout_seconds: float = 1.0
    receipt_seconds: float | None = None
    sent: list[OutgoingMessage] = field(default_factory=list)

    def send(self, message: OutgoingMessage) -> None:
        """Remember the message."""
        self.sent.append(message)
