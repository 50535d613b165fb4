"""HTTP plumbing shared by every router: sessions, the clock, errors and body limits."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Path, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from coherence.clock import Clock
from coherence.db import session_scope
from coherence.dbhealth import DatabaseHealth
from coherence.documents import format_location
from coherence.errors import CoherenceError

log = logging.getLogger(__name__)
# How long a client is told to wait before resending what the database could not take.
DATABASE_RETRY_SECONDS = 5
# The dashboard's way of showing an error as a page to a browser; None leaves it JSON.
ErrorPage = Callable[[Request, CoherenceError], Response | None]


def _session(request: Request) -> Iterator[Session]:
    with session_scope(request.app.state.session_factory) as session:
        yield session


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


class Problem(BaseModel):
    """One thing wrong with the input, and where."""

    path: str = Field(description="Where in the request or document, e.g. assets[3].site.")
    message: str


class ErrorBody(BaseModel):
    """Every error the API returns has this shape."""

    code: str = Field(description="Stable machine-readable code, e.g. not_found, conflict.")
    message: str = Field(description="What is wrong and how to fix it.")
    field: str | None = Field(None, description="The input field to fix, when there is one.")
    problems: list[Problem] | None = Field(
        None, description="Every problem found, for requests and documents with several."
    )
    details: dict[str, Any] | None = None


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorBody, "description": "No valid API token."},
    403: {"model": ErrorBody, "description": "The access policy refuses this; `message` says why."},
    404: {"model": ErrorBody, "description": "A named thing does not exist."},
    409: {"model": ErrorBody, "description": "Not allowed in the current state."},
    413: {"model": ErrorBody, "description": "The request body is too large."},
    422: {"model": ErrorBody, "description": "The input breaks a rule; `field` says which."},
    503: {"model": ErrorBody, "description": "The database is unreachable; nothing was stored."},
    507: {"model": ErrorBody, "description": "The database's storage is full; nothing was stored."},
}

# scope="function" commits before the response is sent, so a failed commit is never a 200.
SessionDep = Annotated[Session, Depends(_session, scope="function")]
ClockDep = Annotated[Clock, Depends(_clock)]
# Databases hold 64-bit integers: a larger id, version or sequence number must be refused as
# input (422), not reach the driver and overflow (500).
MAX_INT64 = 2**63 - 1
RowId = Annotated[int, Path(ge=1, le=MAX_INT64)]


def install_error_handlers(app: FastAPI) -> None:
    """Turn every expected failure into a JSON error that names the field."""

    @app.exception_handler(CoherenceError)
    async def coherence_error(_request: Request, exc: CoherenceError) -> JSONResponse:
        return JSONResponse(exc.as_dict(), status_code=exc.status_code)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        return JSONResponse(
            {"code": code, "message": str(exc.detail)},
            status_code=exc.status_code,
            headers=exc.headers,
        )

    async def database_error(request: Request, exc: Exception) -> Response:
        health: DatabaseHealth = request.app.state.database_health
        error = health.error_for(exc)
        log.warning("database error on %s: %s", request.url.path, error.message)
        error_page: ErrorPage | None = getattr(request.app.state, "error_page", None)
        response = error_page(request, error) if error_page is not None else None
        if response is None:
            response = JSONResponse(error.as_dict(), status_code=error.status_code)
        response.headers["Retry-After"] = str(DATABASE_RETRY_SECONDS)
        return response

    for database_failure in (*app.state.database_health.errors, PoolTimeout):
        app.add_exception_handler(database_failure, database_error)

    @app.exception_handler(RequestValidationError)
    async def request_invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = [_problem(error) for error in exc.errors()]
        first = problems[0] if problems else {"path": "body", "message": "invalid"}
        return JSONResponse(
            {
                "code": "validation_failed",
                "message": f"{first['path']}: {first['message']}",
                "field": first["path"],
                "problems": problems,
            },
            status_code=422,
        )

    @app.exception_handler(Exception)
    async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse(
            {"code": "internal_error", "message": "an internal error occurred; it was logged"},
            status_code=500,
        )


def _problem(error: Any) -> dict[str, str]:
    location = [p for p in error.get("loc", ()) if p not in {"body", "query", "path"}]
    where = error.get("loc", ("body",))[0]
    path = format_location(location) if location else str(where)
    return {"path": path, "message": str(error.get("msg", "invalid"))}


class BodySizeLimit:
    """Refuse request bodies over a byte limit with 413, whether or not they declare a length.

    ``larger`` gives chosen paths (an exact path, e.g. evidence uploads) their own limit.
    """

    def __init__(
        self, app: ASGIApp, *, max_bytes: int, larger: Mapping[str, int] | None = None
    ) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.larger = dict(larger or {})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.larger.get(scope.get("path", ""), self.max_bytes)
        declared = dict(scope.get("headers", [])).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > limit):
            await self._refuse(send, limit)
            return
        received = 0

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise _BodyTooLarge(limit)
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _BodyTooLarge:
            await self._refuse(send, limit)

    async def _refuse(self, send: Send, limit: int) -> None:
        response = JSONResponse(
            {
                "code": "payload_too_large",
                "message": f"the request body is over the {limit}-byte limit",
                "field": "body",
            },
            status_code=413,
        )
        await response({"type": "http"}, _no_receive, send)


class _BodyTooLarge(HTTPException):
    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"the request body is over the {max_bytes}-byte limit")


async def _no_receive() -> Message:
    return {"type": "http.disconnect"}
