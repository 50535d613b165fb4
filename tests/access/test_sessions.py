"""Dashboard sessions: started, read, expired, signed out, revoked, and ended with their token."""

from __future__ import annotations

import secrets
from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access import service as access_service
from coherence.access import sessions
from coherence.access.models import ApiToken, LoginSession
from coherence.catalog import service as catalog_service
from coherence.catalog.models import Person
from coherence.clock import ManualClock
from coherence.errors import NotAuthenticated, NotFound
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry

HOURS = 12.0

pytestmark = pytest.mark.usefixtures("facility")


def _person(session: Session, key: str = "amara-osei") -> Person:
    return catalog_service.get_person_or_raise(session, key)


def _by_password(session: Session, clock: ManualClock) -> tuple[LoginSession, str]:
    return sessions.start_session(
        session, clock=clock, person=_person(session), via="password", hours=HOURS
    )


def _by_token(session: Session, clock: ManualClock) -> tuple[ApiToken, LoginSession, str]:
    token, _secret = access_service.create_token(
        session, clock=clock, person_key="amara-osei", name="laptop", actor="test"
    )
    row, secret = sessions.start_session(
        session, clock=clock, person=token.person, via="token", token_id=token.id, hours=HOURS
    )
    return token, row, secret


def _entries(session: Session, entry_type: EntryType) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == entry_type.value)
            .order_by(LedgerEntry.seq)
        )
    )


def _is_live(session: Session, clock: ManualClock, secret: str | None) -> bool:
    try:
        sessions.person_for_secret(session, clock=clock, secret=secret)
    except NotAuthenticated:
        return False
    return True


def test_a_session_stores_only_the_hash_of_a_256_bit_secret(
    session: Session, clock: ManualClock
) -> None:
    row, secret = _by_password(session, clock)
    assert len(secret) == 43  # token_urlsafe(32): 256 random bits
    assert row.secret_hash == sessions.hash_secret(secret)
    assert secret not in row.secret_hash
    assert (row.via, row.token_id) == ("password", None)
    assert row.created_at == clock.now()
    assert row.expires_at == clock.now() + timedelta(hours=HOURS)
    person = sessions.person_for_secret(session, clock=clock, secret=secret)
    assert person.key == "amara-osei"


def test_starting_a_session_is_in_the_ledger_without_the_secret(
    session: Session, clock: ManualClock
) -> None:
    row, secret = _by_password(session, clock)
    _token, by_token, token_secret = _by_token(session, clock)
    entries = _entries(session, EntryType.SESSION_STARTED)
    assert [ledger_service.payload_of(e) for e in entries] == [
        {"person": "amara-osei", "via": "password", "session": row.id},
        {"person": "amara-osei", "via": "token", "session": by_token.id},
    ]
    assert [(e.actor, e.subject) for e in entries] == [
        ("amara-osei", f"session:{row.id}"),
        ("amara-osei", f"session:{by_token.id}"),
    ]
    for entry in entries:
        for hidden in (secret, token_secret, row.secret_hash, by_token.secret_hash):
            assert hidden not in entry.payload


@pytest.mark.parametrize(
    "forged",
    [None, "", "coh_not-a-session", "a" * 43, "a" * 5000, "x.y.z"],
)
def test_an_unknown_secret_is_refused(
    session: Session, clock: ManualClock, forged: str | None
) -> None:
    _by_password(session, clock)
    assert not _is_live(session, clock, forged)
    assert not _is_live(session, clock, secrets.token_urlsafe(32))


def test_a_session_expires_after_its_hours(session: Session, clock: ManualClock) -> None:
    _row, secret = _by_password(session, clock)
    clock.advance(timedelta(hours=HOURS) - timedelta(seconds=1))
    assert _is_live(session, clock, secret)
    assert len(sessions.list_live_sessions(session, clock=clock)) == 1
    clock.advance(timedelta(seconds=1))
    assert not _is_live(session, clock, secret)
    assert sessions.list_live_sessions(session, clock=clock) == []


def test_signing_out_ends_the_session_once(session: Session, clock: ManualClock) -> None:
    row, secret = _by_password(session, clock)
    other, other_secret = _by_password(session, clock)
    clock.advance(timedelta(minutes=5))
    assert sessions.sign_out(session, clock=clock, secret=secret) is row
    sessions.sign_out(session, clock=clock, secret=secret)
    assert sessions.sign_out(session, clock=clock, secret="nonsense") is None
    assert row.ended_at == clock.now()
    assert not _is_live(session, clock, secret)
    assert _is_live(session, clock, other_secret), "other browsers stay signed in"
    assert [s.id for s in sessions.list_live_sessions(session, clock=clock)] == [other.id]
    ended = _entries(session, EntryType.SESSION_ENDED)
    assert [ledger_service.payload_of(e) for e in ended] == [
        {"session": row.id, "why": "signed out"}
    ]
    assert ended[0].actor == "amara-osei"


def test_an_administrator_ends_a_session_by_id(session: Session, clock: ManualClock) -> None:
    row, secret = _by_password(session, clock)
    sessions.end_session(session, clock=clock, session_id=row.id, actor="admin")
    sessions.end_session(session, clock=clock, session_id=row.id, actor="admin")
    assert not _is_live(session, clock, secret)
    ended = _entries(session, EntryType.SESSION_ENDED)
    assert [(e.actor, ledger_service.payload_of(e)) for e in ended] == [
        ("admin", {"session": row.id, "why": "revoked"})
    ]
    with pytest.raises(NotFound, match="no session") as missing:
        sessions.end_session(session, clock=clock, session_id=row.id + 100, actor="admin")
    assert missing.value.field == "session_id"


def test_revoking_a_token_ends_the_sessions_it_started(
    session: Session, clock: ManualClock
) -> None:
    token, by_token, token_secret = _by_token(session, clock)
    _row, password_secret = _by_password(session, clock)
    access_service.revoke_token(session, clock=clock, token_id=token.id, actor="admin")
    assert by_token.ended_at == clock.now()
    assert not _is_live(session, clock, token_secret)
    assert _is_live(session, clock, password_secret), "a password session has no token"
    ended = _entries(session, EntryType.SESSION_ENDED)
    assert [(e.actor, ledger_service.payload_of(e)) for e in ended] == [
        ("admin", {"session": by_token.id, "why": "token revoked"})
    ]
    access_service.revoke_token(session, clock=clock, token_id=token.id, actor="admin")
    assert len(_entries(session, EntryType.SESSION_ENDED)) == 1


def test_a_token_session_is_refused_once_its_token_is_revoked_even_if_not_ended(
    session: Session, clock: ManualClock
) -> None:
    token, _row, secret = _by_token(session, clock)
    token.revoked_at = clock.now()  # as a revocation written before sessions were ended
    assert not _is_live(session, clock, secret)
