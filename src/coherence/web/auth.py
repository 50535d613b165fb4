"""Dashboard sign-in: a password or an API token opens a server-side session; pages need one."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from sqlalchemy.orm import Session
from starlette.responses import RedirectResponse, Response

from coherence.access import passwords, sessions, throttle
from coherence.access import service as access_service
from coherence.access.api import WEB_TOKEN_COOKIE, Public
from coherence.access.passwords import MAX_KEY_LENGTH
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import NotAuthenticated, PermissionDenied, RateLimited
from coherence.http import ClockDep, SessionDep
from coherence.web.rendering import render, render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Browsers drop tabs and newlines and read "\\" as "/", so only plain path characters pass.
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~%/=&?+:@]*")


class LoginRequired(Exception):
    """No live session cookie came with a page request; answered by a redirect to /login."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("login required")
        self.next_path = next_path


class CrossOriginRefused(Exception):
    """A form was posted from another origin; answered with 403."""


def web_person(request: Request, session: SessionDep, clock: ClockDep) -> Person:
    """Return the person whose live session cookie came with the request, or LoginRequired."""
    try:
        return sessions.person_for_secret(
            session, clock=clock, secret=request.cookies.get(WEB_TOKEN_COOKIE)
        )
    except NotAuthenticated:
        wanted = request.url.path if request.method in SAFE_METHODS else None
        raise LoginRequired(wanted) from None


WebPerson = Annotated[Person, Depends(web_person)]


def same_origin(request: Request) -> None:
    """Refuse a state-changing request whose Origin header names another host."""
    if request.method in SAFE_METHODS:
        return
    origin = request.headers.get("origin")
    if origin is None:
        return
    if urlsplit(origin).netloc.lower() != request.headers.get("host", "").lower():
        raise CrossOriginRefused(origin)


async def login_required_handler(request: Request, exc: Exception) -> Response:
    """Send a visitor without a valid cookie to the login form (303), dropping a stale cookie."""
    wanted = exc.next_path if isinstance(exc, LoginRequired) else None
    target = "/login" if wanted in (None, "/") else f"/login?next={quote(str(wanted), safe='/')}"
    response = RedirectResponse(target, status_code=303)
    if WEB_TOKEN_COOKIE in request.cookies:
        response.delete_cookie(WEB_TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response


async def cross_origin_handler(request: Request, _exc: Exception) -> Response:
    """Answer a cross-origin form post with a 403 page."""
    refused = PermissionDenied(
        "this form was posted from another site; reload the page and try again",
        field="origin",
    )
    return render_error(request, refused)


NO_SIGN_IN = Public("signing in and out needs no prior session")
router = APIRouter(
    include_in_schema=False,
    dependencies=[
        Depends(same_origin),
        Depends(NO_SIGN_IN),
    ],
)


def safe_next(path: str | None) -> str:
    """Return ``path`` if it is a local page, else ``/``, so a link cannot send you elsewhere."""
    if path and LOCAL_PATH.fullmatch(path):
        return path
    return "/"


def _failed(
    request: Request, error: NotAuthenticated, next_path: str | None, person_key: str = ""
) -> Response:
    context = {"error": error, "next_path": safe_next(next_path), "person_key": person_key}
    return render(request, "login.html", context, status_code=401)


def _signed_in(request: Request, secret: str, next_path: str | None) -> Response:
    response = RedirectResponse(safe_next(next_path), status_code=303)
    response.set_cookie(
        WEB_TOKEN_COOKIE,
        secret,
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


def _sign_in_with_token(
    request: Request, session: Session, clock: Clock, token: str, next_path: str | None
) -> Response:
    token = token.strip()
    try:
        if not token:
            raise NotAuthenticated(
                "enter your API token, or your person key and password", field="token"
            )
        row = access_service.authenticate_token(session, token)
    except NotAuthenticated as exc:
        return _failed(request, exc, next_path)
    _row, secret = sessions.start_session(
        session,
        clock=clock,
        person=row.person,
        via="token",
        token_id=row.id,
        hours=request.app.state.settings.session_hours,
    )
    return _signed_in(request, secret, next_path)


def _sign_in_with_password(
    request: Request,
    session: Session,
    clock: Clock,
    person_key: str,
    password: str,
    next_path: str | None,
) -> Response:
    person_key = person_key.strip()
    try:
        if not (person_key and password):
            raise NotAuthenticated("enter your person key and password")
        throttle.check_failures(request, person_key)
        person = passwords.authenticate_password(session, person_key=person_key, password=password)
    except NotAuthenticated as exc:
        if person_key and password:
            throttle.record_failure(request, person_key)
        return _failed(request, exc, next_path, person_key[:MAX_KEY_LENGTH])
    _row, secret = sessions.start_session(
        session,
        clock=clock,
        person=person,
        via="password",
        hours=request.app.state.settings.session_hours,
    )
    return _signed_in(request, secret, next_path)


@router.get("/login")
def login_page(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    token: str | None = None,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Show the sign-in form; with ``?token=`` sign in and redirect so the token leaves the URL."""
    if token is None:
        context = {"next_path": safe_next(next_path), "person_key": ""}
        return render(request, "login.html", context)
    return _limited(
        request, lambda: _sign_in_with_token(request, session, clock, token, next_path), next_path
    )


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    clock: ClockDep,
    person_key: Annotated[str, Form(alias="person")] = "",
    password: Annotated[str, Form()] = "",
    token: Annotated[str, Form()] = "",
    next_path: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Sign in with a person key and password, or with an API token, from the form."""

    def attempt() -> Response:
        if person_key.strip() or password:
            return _sign_in_with_password(request, session, clock, person_key, password, next_path)
        return _sign_in_with_token(request, session, clock, token, next_path)

    return _limited(request, attempt, next_path, person_key)


def _limited(
    request: Request, attempt: Callable[[], Response], next_path: str | None, person_key: str = ""
) -> Response:
    """Make a sign-in attempt within the rate limits; a browser is shown the form with a 429."""
    try:
        throttle.limit_sign_in(request)
        return attempt()
    except RateLimited as exc:
        if "text/html" not in request.headers.get("accept", ""):
            raise
        context = {
            "error": exc,
            "next_path": safe_next(next_path),
            "person_key": person_key.strip()[:MAX_KEY_LENGTH],
        }
        response = render(request, "login.html", context, status_code=429)
        response.headers["Retry-After"] = str(exc.retry_after)
        return response


@router.post("/logout")
def logout(request: Request, session: SessionDep, clock: ClockDep) -> Response:
    """End the dashboard session, clear its cookie and return to the sign-in form."""
    sessions.sign_out(session, clock=clock, secret=request.cookies.get(WEB_TOKEN_COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(WEB_TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response
