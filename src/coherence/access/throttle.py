"""Rate limits at the HTTP edge: sign-in per address and per person key, intake per token.

Buckets live in the process: each API process limits on its own (see docs/security.md).
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from typing import Annotated

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials
from starlette.responses import Response

from coherence.access.api import bearer
from coherence.access.ratelimit import Buckets, Limit
from coherence.access.service import hash_token
from coherence.errors import RateLimited
from coherence.http import ErrorBody
from coherence.settings import Settings

log = logging.getLogger(__name__)

RATE_LIMITED_RESPONSE = {
    "model": ErrorBody,
    "description": "Over a rate limit; `details.limit` names it and `Retry-After` says when "
    "to try again.",
    "headers": {"Retry-After": {"schema": {"type": "integer"}, "description": "Seconds."}},
}
MAX_PERSON_KEY = 64


class RateLimits:
    """The buckets one API process keeps; ``now`` is a steady clock in seconds."""

    def __init__(self, settings: Settings, *, now: Callable[[], float] = time.monotonic) -> None:
        per_second = settings.intake_requests_per_second
        self.sign_in = Buckets(
            Limit.per("login_attempts_per_minute", settings.login_attempts_per_minute, 60),
            now=now,
        )
        self.failures = Buckets(
            Limit.per("login_failures_per_hour", settings.login_failures_per_hour, 3600),
            now=now,
        )
        self.intake = Buckets(
            Limit("intake_requests_per_second", max(1.0, 2 * per_second), per_second), now=now
        )


def install(app: FastAPI, settings: Settings) -> None:
    """Give ``app`` its rate limits and answer RateLimited with 429 and ``Retry-After``."""
    app.state.rate_limits = RateLimits(settings)

    @app.exception_handler(RateLimited)
    async def rate_limited(_request: Request, exc: RateLimited) -> Response:
        return JSONResponse(
            exc.as_dict(),
            status_code=exc.status_code,
            headers={"Retry-After": str(exc.retry_after)},
        )


def _limits(request: Request) -> RateLimits:
    limits: RateLimits = request.app.state.rate_limits
    return limits


def client_address(request: Request) -> str:
    """The address the request came from (the proxy's, unless uvicorn trusts its headers)."""
    return request.client.host if request.client else "unknown"


def _refused(limit: Limit, wait: float, what: str, field: str) -> RateLimited:
    seconds = max(1, math.ceil(wait))
    setting = f"COHERENCE_{limit.name.upper()}"
    return RateLimited(
        f"{what}: over the {limit.name} limit ({setting}); try again in {seconds} s",
        limit=limit.name,
        retry_after=seconds,
        field=field,
    )


def limit_sign_in(request: Request) -> None:
    """Count one sign-in attempt against the client's address; 429 past the limit."""
    buckets = _limits(request).sign_in
    wait = buckets.take(client_address(request))
    if wait:
        raise _refused(buckets.limit, wait, "too many sign-in attempts from this address", "person")


def _account(person_key: str) -> str:
    return person_key.strip().casefold()[:MAX_PERSON_KEY]


def check_failures(request: Request, person_key: str) -> None:
    """Refuse a password sign-in for a key that has failed too often, before checking it."""
    buckets = _limits(request).failures
    wait = buckets.wait(_account(person_key))
    if wait:
        raise _refused(
            buckets.limit, wait, "too many failed sign-ins for this person key", "person"
        )


def record_failure(request: Request, person_key: str) -> None:
    """Log a failed password sign-in and count it against the person key."""
    account = _account(person_key)
    _limits(request).failures.charge(account)
    log.warning("failed password sign-in for %r from %s", account, client_address(request))


def limit_intake(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> None:
    """Count one intake request against the API token that sent it; 429 past the limit."""
    buckets = _limits(request).intake
    # Keyed on a digest, so the buckets never hold a usable token.
    key = hash_token(credentials.credentials) if credentials else ""
    wait = buckets.take(key)
    if wait:
        raise _refused(
            buckets.limit, wait, "too many intake requests with this API token", "Authorization"
        )


IntakeLimit = Depends(limit_intake)
SignInLimit = Depends(limit_sign_in)
