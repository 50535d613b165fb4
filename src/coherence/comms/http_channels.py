"""Channels that deliver over HTTP: signed webhooks, Slack, Teams, Matrix and SMS gateways."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, urlsplit

import orjson

from coherence.comms.channels import OutgoingMessage
from coherence.comms.domain import DeliveryFailed, Outcome
from coherence.comms.templating import GATEWAY_TEMPLATES
from coherence.comms.transport import ConnectionPool, Reply

SIGNATURE_HEADER = "X-Coherence-Signature"
MESSAGE_ID_HEADER = "X-Coherence-Message-Id"
USER_AGENT = "Coherence-notifier"


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """Return the signature header value: ``t=<unix>,v1=<HMAC-SHA256 of "t." + body>``."""
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={mac.hexdigest()}"


def verify(secret: str, header: str, body: bytes, *, now: float, tolerance: float = 300) -> bool:
    """Check a signature header as a receiver should: right key, right body, recent enough."""
    parts = dict(part.split("=", 1) for part in header.split(",") if "=" in part)
    try:
        timestamp = int(parts["t"])
    except (KeyError, ValueError):
        return False
    if abs(now - timestamp) > tolerance:
        return False
    expected = sign(secret, timestamp, body).split(",", 1)[1].removeprefix("v1=")
    return hmac.compare_digest(expected, parts.get("v1", ""))


class HttpChannel:
    """Shared plumbing: pooled keep-alive connections, timeouts, HTTP failures as outcomes."""

    receipt_seconds: float | None = None

    def __init__(self, name: str, *, timeout_seconds: float) -> None:
        self.name = name
        self.timeout_seconds = timeout_seconds
        self._pool = ConnectionPool(timeout=timeout_seconds, user_agent=USER_AGENT)

    def _request(
        self, method: str, url: str, *, content: bytes, headers: Mapping[str, str]
    ) -> Reply:
        reply = self._pool.request(method, url, body=content, headers=headers)
        if reply.status >= 300:
            raise DeliveryFailed(
                Outcome.REJECTED, f"{_host(url)} answered {reply.status}: {reply.text[:200]}"
            )
        return reply

    def close(self) -> None:
        """Release pooled connections."""
        self._pool.close()


class WebhookChannel(HttpChannel):
    """POSTs the message as JSON, signed with HMAC-SHA256 and carrying its message id."""

    def __init__(self, name: str, *, url: str, secret: str, timeout_seconds: float) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        self._url, self._secret = url, secret

    def send(self, message: OutgoingMessage) -> None:
        """Deliver ``message`` to the configured URL."""
        body = orjson.dumps(message.as_json())
        message_id = message.key or str(message.message_id)
        headers = {
            "content-type": "application/json",
            SIGNATURE_HEADER: sign(self._secret, int(time.time()), body),
            MESSAGE_ID_HEADER: message_id,
            "Idempotency-Key": message_id,
        }
        self._request("POST", self._url, content=body, headers=headers)


class ChatWebhookChannel(HttpChannel):
    """Slack- or Teams-compatible incoming webhook; an https address is that room's webhook.

    An address URL is only followed to the configured URL's host or ``allowed_hosts``: whoever
    edits contact points must not be able to make the worker post pages anywhere.
    """

    def __init__(
        self,
        name: str,
        *,
        flavour: str,
        url: str,
        timeout_seconds: float,
        allowed_hosts: Sequence[str] = (),
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        self._flavour, self._url = flavour, url
        self._hosts = {h.lower() for h in allowed_hosts} | ({_host(url).lower()} if url else set())

    def send(self, message: OutgoingMessage) -> None:
        """Post ``message`` to the room."""
        url = message.address if message.address.startswith("https://") else self._url
        if not url:
            raise DeliveryFailed(
                Outcome.NOT_CONFIGURED,
                f"{self.name}: no webhook URL configured and the address is not one",
            )
        if _host(url).lower() not in self._hosts:
            raise DeliveryFailed(
                Outcome.NOT_CONFIGURED,
                f"{self.name}: {_host(url)} is not an allowed webhook host "
                f"({', '.join(sorted(self._hosts)) or 'none'})",
            )
        payload = _slack(message) if self._flavour == "slack" else _teams(message)
        self._request(
            "POST", url, content=orjson.dumps(payload), headers={"content-type": "application/json"}
        )


def _slack(message: OutgoingMessage) -> dict[str, Any]:
    return {"text": f"*{message.subject}*\n{message.text}"}


def _teams(message: OutgoingMessage) -> dict[str, Any]:
    card: dict[str, Any] = {
        "type": "AdaptiveCard",
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "text": message.subject, "weight": "Bolder", "wrap": True},
            {"type": "TextBlock", "text": message.body, "wrap": True},
        ],
    }
    if message.ack_url:
        card["actions"] = [
            {"type": "Action.OpenUrl", "title": "Acknowledge", "url": message.ack_url}
        ]
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "content": card}
        ],
    }


class MatrixChannel(HttpChannel):
    """Sends an ``m.text`` message to a Matrix room (client-server API); the address is the room."""

    def __init__(
        self, name: str, *, homeserver: str, access_token: str, timeout_seconds: float
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        self._homeserver, self._token = homeserver.rstrip("/"), access_token

    def send(self, message: OutgoingMessage) -> None:
        """Post ``message`` into the room named by its address."""
        # The transaction id makes a retried send idempotent on the homeserver.
        txn = quote(message.key or str(message.message_id), safe="")
        room = quote(message.address, safe="")
        url = f"{self._homeserver}/_matrix/client/v3/rooms/{room}/send/m.room.message/{txn}"
        body = orjson.dumps({"msgtype": "m.text", "body": f"{message.subject}\n\n{message.text}"})
        headers = {"authorization": f"Bearer {self._token}", "content-type": "application/json"}
        self._request("PUT", url, content=body, headers=headers)


class HttpGatewayChannel(HttpChannel):
    """An SMS (or voice, or pager) gateway reached by a request built from a template."""

    def __init__(
        self,
        name: str,
        *,
        url: str,
        method: str,
        headers: Mapping[str, str],
        body_template: str,
        timeout_seconds: float,
        receipt_seconds: float | None,
        max_text_chars: int,
    ) -> None:
        super().__init__(name, timeout_seconds=timeout_seconds)
        self._url, self._method, self._headers = url, method, dict(headers)
        self._template = GATEWAY_TEMPLATES.from_string(body_template)
        self._max_chars = max_text_chars
        self.receipt_seconds = receipt_seconds

    def render(self, message: OutgoingMessage) -> bytes:
        """Return the request body the template makes of ``message``."""
        return self._template.render(
            to=message.address,
            text=short_text(message, self._max_chars),
            subject=message.subject,
            body=message.body,
            message_id=message.key or str(message.message_id),
            ack_url=message.ack_url or "",
        ).encode()

    def send(self, message: OutgoingMessage) -> None:
        """Hand ``message`` to the gateway."""
        self._request(self._method, self._url, content=self.render(message), headers=self._headers)


MIN_SUBJECT_CHARS = 20


def short_text(message: OutgoingMessage, limit: int) -> str:
    """The subject and acknowledgement link in ``limit`` characters.

    The subject is shortened to keep the link whole; a link that leaves no room for a useful
    subject is left out rather than cut, since half a link acknowledges nothing.
    """
    subject = " ".join(message.subject.split())
    link = f" {message.ack_url}" if message.ack_url else ""
    if len(subject) + 1 + len(link) <= limit:
        return f"{subject}.{link}"
    if link and limit - len(link) - 1 >= MIN_SUBJECT_CHARS:
        return f"{subject[: limit - len(link) - 2].rstrip()}….{link}"
    return subject if len(subject) <= limit else f"{subject[: limit - 1].rstrip()}…"


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or url[:60]
    except ValueError:
        return url[:60]
