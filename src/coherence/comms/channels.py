"""Notification channels behind one small interface."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from typing import Protocol, TextIO


@dataclass(frozen=True)
class OutgoingMessage:
    """What a channel is asked to deliver."""

    message_id: int
    channel: str
    address: str
    subject: str
    body: str


class Channel(Protocol):
    """Delivers a message or raises; anything raised counts as a failed attempt."""

    name: str

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to its address."""
        ...


class ConsoleChannel:
    """Prints each message; the development stand-in for every real channel."""

    name = "console"

    def __init__(self, stream: TextIO | None = None) -> None:
        self._stream = stream

    def send(self, message: OutgoingMessage) -> None:
        """Write the message to the console."""
        stream = self._stream or sys.stderr
        body = "".join(f"    {line}\n" for line in message.body.splitlines())
        stream.write(
            f"[page #{message.message_id} via {message.channel} to {message.address}] "
            f"{message.subject}\n{body}"
        )
        stream.flush()


@dataclass
class MemoryChannel:
    """Records what it was asked to send; for tests."""

    name: str = "memory"
    sent: list[OutgoingMessage] = field(default_factory=list)

    def send(self, message: OutgoingMessage) -> None:
        """Remember the message."""
        self.sent.append(message)
