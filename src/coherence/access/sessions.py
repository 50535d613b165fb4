"""Signed dashboard sessions: which token signed in and until when, sealed by the secret key."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime

COOKIE_VERSION = "v1"


def _signature(message: str, secret: str) -> str:
    digest = hmac.new(secret.encode(), message.encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def make_cookie(*, token_id: int, expires_at: datetime, secret: str) -> str:
    """Return a cookie value naming the token that signed in and when the session ends."""
    message = f"{COOKIE_VERSION}.{token_id}.{int(expires_at.timestamp())}"
    return f"{message}.{_signature(message, secret)}"


def read_cookie(value: str | None, *, secret: str, now: datetime) -> int | None:
    """Return the token id in a genuine, unexpired cookie, or None."""
    if not value or len(value) > 200:
        return None
    parts = value.split(".")
    if len(parts) != 4 or parts[0] != COOKIE_VERSION:
        return None
    message, signature = ".".join(parts[:3]), parts[3]
    if not hmac.compare_digest(signature, _signature(message, secret)):
        return None
    token_id, expires = parts[1], parts[2]
    if not (token_id.isdigit() and expires.isdigit()):
        return None
    if datetime.fromtimestamp(int(expires), UTC) <= now:
        return None
    return int(token_id)
