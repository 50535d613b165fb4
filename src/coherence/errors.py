"""One error hierarchy; each error carries the HTTP status it maps to."""

from __future__ import annotations

from typing import Any


class CoherenceError(Exception):
    """Base of every expected failure; the message says what to fix."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, **details: Any) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.details = details

    def as_dict(self) -> dict[str, Any]:
        """Return the error as the JSON body the API sends."""
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        if self.field is not None:
            body["field"] = self.field
        details = dict(self.details)
        if "problems" in details:
            body["problems"] = details.pop("problems")
        if details:
            body["details"] = details
        return body


class ValidationFailed(CoherenceError):
    """Input is well-formed but breaks a rule."""

    status_code = 422
    code = "validation_failed"


class NotFound(CoherenceError):
    """A named thing does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(CoherenceError):
    """The request clashes with the current state (illegal transition, duplicate)."""

    status_code = 409
    code = "conflict"


class NotAuthenticated(CoherenceError):
    """No valid credentials were presented."""

    status_code = 401
    code = "not_authenticated"


class PermissionDenied(CoherenceError):
    """The caller is known but may not do this."""

    status_code = 403
    code = "permission_denied"


class DatabaseNotReady(CoherenceError):
    """The database is missing or not migrated to the code's schema."""

    status_code = 503
    code = "database_not_ready"


class RateLimited(CoherenceError):
    """A client sent more requests than a rate limit allows; ``retry_after`` says when to retry."""

    status_code = 429
    code = "rate_limited"

    def __init__(
        self, message: str, *, limit: str, retry_after: int, field: str | None = None
    ) -> None:
        super().__init__(message, field=field, limit=limit, retry_after_seconds=retry_after)
        self.limit = limit
        self.retry_after = retry_after


class DatabaseUnavailable(CoherenceError):
    """The database cannot be reached; nothing of the request was stored, so it may be retried."""

    status_code = 503
    code = "database_unavailable"


class StorageFull(CoherenceError):
    """The database's storage is full; nothing of the request was stored."""

    status_code = 507
    code = "storage_full"
