"""One-click acknowledgement links: signed, expiring, naming the message they came in."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime, timedelta

from coherence.errors import PermissionDenied, ValidationFailed

ACK_LINK_HOURS = 24
_PURPOSE = b"coherence-ack-link:"


def make_token(secret: str, *, message_id: int, expires_at: datetime) -> str:
    """Return a token that acknowledges through message ``message_id`` until ``expires_at``."""
    claims = f"{message_id}.{int(expires_at.timestamp())}"
    return f"{claims}.{_signature(secret, claims)}"


def read_token(secret: str, token: str, *, now: datetime) -> int:
    """Return the message id a valid, unexpired token names; refuse anything else."""
    parts = token.split(".")
    if len(parts) != 3 or not all(part.isascii() for part in parts) or len(token) > 200:
        raise ValidationFailed("this acknowledgement link is malformed", field="token")
    message_id, expires, signature = parts
    if not hmac.compare_digest(_signature(secret, f"{message_id}.{expires}"), signature):
        raise PermissionDenied("this acknowledgement link is not genuine", field="token")
    try:
        message, deadline = int(message_id), int(expires)
    except ValueError:
        raise ValidationFailed("this acknowledgement link is malformed", field="token") from None
    if now.timestamp() > deadline:
        raise PermissionDenied(
            "this acknowledgement link has expired; acknowledge on the dashboard, the API or "
            "with `coherence incident ack`",
            field="token",
        )
    return message


def expiry(now: datetime) -> datetime:
    """When a link made now stops working."""
    return now + timedelta(hours=ACK_LINK_HOURS)


def _signature(secret: str, claims: str) -> str:
    mac = hmac.new(secret.encode(), _PURPOSE + claims.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode()
