"""Dashboard sign-in: an API token becomes a signed session cookie; pages need one."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote, urlsplit

from fastapi import APIRouter, Depends, Form, Query, Request
from starlette.responses import RedirectResponse, Response

from coherence.access import service as access_service
from coherence.access.api import WEB_TOKEN_COOKIE
from coherence.access.sessions import make_cookie, read_cookie
from coherence.catalog.models import Person
from coherence.errors import NotAuthenticated, PermissionDenied
from coherence.http import SessionDep
from coherence.web.rendering import render, render_error

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Browsers drop tabs and newlines and read "\\" as "/", so only plain path characters pass.
LOCAL_PATH = re.compile(r"/(?![/\\])[A-Za-z0-9\-._~%/=&?+:@]*")


class LoginRequired(Exception):
    """No valid token cookie came with a page request; answered by a redirect to /login."""

    def __init__(self, next_path: str | None) -> None:
        super().__init__("login required")
        self.next_path = next_path


class CrossOriginRefused(Exception):
    """A form was posted from another origin; answered with 403."""


def web_person(request: Request, session: SessionDep) -> Person:
    """Return the person whose signed session cookie came with the request, or LoginRequired."""
    token_id = read_cookie(
        request.cookies.get(WEB_TOKEN_COOKIE),
        secret=request.app.state.settings.secret_key,
        now=request.app.state.clock.now(),
    )
    try:
        if token_id is None:
            raise NotAuthenticated("no session")
        return access_service.person_for_token_id(session, token_id)
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


router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


def safe_next(path: str | None) -> str:
    """Return ``path`` if it is a local page, else ``/``, so a link cannot send you elsewhere."""
    if path and LOCAL_PATH.fullmatch(path):
        return path
    return "/"


def _sign_in(request: Request, session: SessionDep, token: str, next_path: str | None) -> Response:
    token = token.strip()
    try:
        if not token:
            raise NotAuthenticated("enter your API token", field="token")
        row = access_service.authenticate_token(session, token)
    except NotAuthenticated as exc:
        context = {"error": exc, "next_path": safe_next(next_path)}
        return render(request, "login.html", context, status_code=401)
    response = RedirectResponse(safe_next(next_path), status_code=303)
    settings = request.app.state.settings
    expires_at = request.app.state.clock.now() + timedelta(hours=settings.session_hours)
    response.set_cookie(
        WEB_TOKEN_COOKIE,
        make_cookie(token_id=row.id, expires_at=expires_at, secret=settings.secret_key),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/login")
def login_page(
    request: Request,
    session: SessionDep,
    token: str | None = None,
    next_path: Annotated[str | None, Query(alias="next")] = None,
) -> Response:
    """Show the token form; with ``?token=`` sign in and redirect so the token leaves the URL."""
    if token is None:
        return render(request, "login.html", {"next_path": safe_next(next_path)})
    return _sign_in(request, session, token, next_path)


@router.post("/login")
def login(
    request: Request,
    session: SessionDep,
    token: Annotated[str, Form()] = "",
    next_path: Annotated[str | None, Form(alias="next")] = None,
) -> Response:
    """Sign in with the token typed into the form."""
    return _sign_in(request, session, token, next_path)


@router.post("/logout")
def logout() -> Response:
    """Clear the token cookie and return to the login form."""
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(WEB_TOKEN_COOKIE, path="/", httponly=True, samesite="strict")
    return response
