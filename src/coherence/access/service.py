"""Issue, check and revoke API tokens."""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access import sessions
from coherence.access.models import ApiToken
from coherence.catalog import service as catalog_service
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import NotAuthenticated, NotFound
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

TOKEN_PREFIX = "coh_"
MAX_TOKEN_LENGTH = 200


def hash_token(token: str) -> str:
    """Return the stored form of a token: SHA-256 hex (tokens carry 256 random bits)."""
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(
    session: Session, *, clock: Clock, person_key: str, name: str, actor: str
) -> tuple[ApiToken, str]:
    """Issue a token for a person; return the row and the secret, shown only this once."""
    person = catalog_service.get_person_or_raise(session, person_key)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken(
        person_id=person.id,
        name=name,
        prefix=secret[:10],
        token_hash=hash_token(secret),
        created_at=clock.now(),
    )
    session.add(token)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.TOKEN_CREATED,
        actor=actor,
        subject=f"token:{token.id}",
        payload={"person": person.key, "name": name, "prefix": token.prefix},
    )
    return token, secret


def authenticate(session: Session, token: str | None) -> Person:
    """Return the person a token belongs to, or raise NotAuthenticated."""
    return authenticate_token(session, token).person


def authenticate_token(session: Session, token: str | None) -> ApiToken:
    """Return the live token row matching ``token``, or raise NotAuthenticated."""
    if not token:
        raise NotAuthenticated(
            "send an API token as `Authorization: Bearer <token>`; "
            "issue one with `coherence token create --person KEY`"
        )
    if len(token) > MAX_TOKEN_LENGTH or not token.startswith(TOKEN_PREFIX):
        raise NotAuthenticated("that is not a Coherence API token")
    row = session.scalars(
        select(ApiToken).where(ApiToken.token_hash == hash_token(token))
    ).one_or_none()
    if row is None or row.revoked_at is not None:
        raise NotAuthenticated("the API token is unknown or revoked")
    return row


def revoke_token(session: Session, *, clock: Clock, token_id: int, actor: str) -> ApiToken:
    """Revoke a token so it no longer authenticates, ending the dashboard sessions it started."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no token with id {token_id}", field="token_id")
    if row.revoked_at is None:
        row.revoked_at = clock.now()
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.TOKEN_REVOKED,
            actor=actor,
            subject=f"token:{row.id}",
            payload={"prefix": row.prefix},
        )
        sessions.end_token_sessions(session, clock=clock, token_id=row.id, actor=actor)
    return row


def list_tokens(session: Session) -> Sequence[ApiToken]:
    """Return every token (hashes only), newest first."""
    return session.scalars(select(ApiToken).order_by(ApiToken.id.desc())).all()
