"""Dashboard sessions: a row per sign-in holding a hash of the cookie's secret."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence
from datetime import timedelta
from typing import Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access.models import ApiToken, LoginSession
from coherence.catalog.models import Person
from coherence.clock import Clock, as_utc
from coherence.errors import NotAuthenticated, NotFound
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

Via = Literal["password", "token"]
Why = Literal["signed out", "revoked", "token revoked"]
# token_urlsafe(32) is 43 characters; anything much longer is not ours.
MAX_SECRET_LENGTH = 64
SIGN_IN_AGAIN = "your dashboard session has ended; sign in again"


def hash_secret(secret: str) -> str:
    """Return the stored form of a session secret: SHA-256 hex (it carries 256 random bits)."""
    return hashlib.sha256(secret.encode()).hexdigest()


def start_session(
    session: Session,
    *,
    clock: Clock,
    person: Person,
    via: Via,
    hours: float,
    token_id: int | None = None,
) -> tuple[LoginSession, str]:
    """Open a session for a person; return the row and the secret the cookie carries."""
    secret = secrets.token_urlsafe(32)
    now = clock.now()
    row = LoginSession(
        person_id=person.id,
        secret_hash=hash_secret(secret),
        via=via,
        token_id=token_id if via == "token" else None,
        created_at=now,
        expires_at=now + timedelta(hours=hours),
    )
    session.add(row)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SESSION_STARTED,
        actor=person.key,
        subject=f"session:{row.id}",
        payload={"person": person.key, "via": via, "session": row.id},
    )
    return row, secret


def _by_secret(session: Session, secret: str | None) -> LoginSession | None:
    if not secret or len(secret) > MAX_SECRET_LENGTH:
        return None
    return session.scalars(
        select(LoginSession).where(LoginSession.secret_hash == hash_secret(secret))
    ).one_or_none()


def person_for_secret(session: Session, *, clock: Clock, secret: str | None) -> Person:
    """Return the person a live session's secret belongs to, or raise NotAuthenticated."""
    row = _by_secret(session, secret)
    if row is None or row.ended_at is not None or as_utc(row.expires_at) <= clock.now():
        raise NotAuthenticated(SIGN_IN_AGAIN)
    person = session.get(Person, row.person_id)
    if person is None:
        raise NotAuthenticated(SIGN_IN_AGAIN)
    if row.token_id is not None:
        token = session.get(ApiToken, row.token_id)
        if token is None or token.revoked_at is not None:
            raise NotAuthenticated(SIGN_IN_AGAIN)
    return person


def _end(session: Session, row: LoginSession, *, clock: Clock, actor: str, why: Why) -> None:
    if row.ended_at is not None:
        return
    row.ended_at = clock.now()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SESSION_ENDED,
        actor=actor,
        subject=f"session:{row.id}",
        payload={"session": row.id, "why": why},
    )


def sign_out(session: Session, *, clock: Clock, secret: str | None) -> LoginSession | None:
    """End the session a cookie's secret names, if there is one; return it."""
    row = _by_secret(session, secret)
    if row is not None:
        _end(session, row, clock=clock, actor=row.person.key, why="signed out")
    return row


def end_session(session: Session, *, clock: Clock, session_id: int, actor: str) -> LoginSession:
    """End a session by id (an administrator's revocation); ending it twice changes nothing."""
    row = session.get(LoginSession, session_id)
    if row is None:
        raise NotFound(f"no session with id {session_id}", field="session_id")
    _end(session, row, clock=clock, actor=actor, why="revoked")
    return row


def end_token_sessions(
    session: Session, *, clock: Clock, token_id: int, actor: str
) -> Sequence[LoginSession]:
    """End every live session that was started with a token; return them."""
    rows = session.scalars(
        select(LoginSession)
        .where(
            LoginSession.token_id == token_id,
            LoginSession.ended_at.is_(None),
            LoginSession.expires_at > clock.now(),
        )
        .order_by(LoginSession.id)
    ).all()
    for row in rows:
        _end(session, row, clock=clock, actor=actor, why="token revoked")
    return rows


def list_live_sessions(session: Session, *, clock: Clock) -> Sequence[LoginSession]:
    """Return sessions neither ended nor expired, newest first."""
    return session.scalars(
        select(LoginSession)
        .where(LoginSession.ended_at.is_(None), LoginSession.expires_at > clock.now())
        .order_by(LoginSession.id.desc())
    ).all()
