"""Dashboard passwords: argon2id hashes, a small policy, and a check that names no one."""

from __future__ import annotations

from functools import cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import NotAuthenticated, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType

MIN_LENGTH = 12
MAX_LENGTH = 256
MAX_KEY_LENGTH = 64  # people.key
# One message for an unknown person, a person without a password and a wrong password.
WRONG_CREDENTIALS = "the person key or password is wrong"

_hasher = PasswordHasher()


@cache
def _dummy_hash() -> str:
    # Hashed with the same parameters as real passwords, so checking it costs the same time.
    return _hasher.hash("no one signs in with this password")


def check_policy(password: str, *, person_key: str) -> None:
    """Refuse a password that is too short, too long, or the person's own key."""
    if len(password) < MIN_LENGTH:
        raise ValidationFailed(
            f"a password needs at least {MIN_LENGTH} characters", field="password"
        )
    if len(password) > MAX_LENGTH:
        raise ValidationFailed(
            f"a password may have at most {MAX_LENGTH} characters", field="password"
        )
    if password.strip().casefold() == person_key.strip().casefold():
        raise ValidationFailed("a password must not be the person key", field="password")


def hash_password(password: str) -> str:
    """Return the argon2id hash of ``password`` (it embeds its own salt and parameters)."""
    return _hasher.hash(password)


def _verify(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def set_password(
    session: Session, *, clock: Clock, person_key: str, password: str, actor: str
) -> Person:
    """Give a person a dashboard password (checked against the policy), replacing any old one."""
    person = catalog_service.get_person_or_raise(session, person_key)
    check_policy(password, person_key=person.key)
    person.password_hash = hash_password(password)
    _record(session, clock=clock, person=person, actor=actor, cleared=False)
    return person


def clear_password(session: Session, *, clock: Clock, person_key: str, actor: str) -> Person:
    """Remove a person's password so they can sign in with a token only."""
    person = catalog_service.get_person_or_raise(session, person_key)
    if person.password_hash is not None:
        person.password_hash = None
        _record(session, clock=clock, person=person, actor=actor, cleared=True)
    return person


def _record(session: Session, *, clock: Clock, person: Person, actor: str, cleared: bool) -> None:
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.PASSWORD_SET,
        actor=actor,
        subject=f"person:{person.key}",
        payload={"person": person.key, "cleared": cleared},
    )


def authenticate_password(session: Session, *, person_key: str, password: str) -> Person:
    """Return the person whose key and password match, or raise NotAuthenticated.

    Every refusal costs one argon2 verification and says the same thing, so neither the
    answer nor its timing tells whether the person exists or has a password.
    """
    person = None
    if 0 < len(person_key) <= MAX_KEY_LENGTH and 0 < len(password) <= MAX_LENGTH:
        person = catalog_service.get_person(session, person_key)
    stored = person.password_hash if person is not None else None
    if person is None or stored is None:
        _verify(_dummy_hash(), password[:MAX_LENGTH])
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if not _verify(stored, password):
        raise NotAuthenticated(WRONG_CREDENTIALS)
    if _hasher.check_needs_rehash(stored):
        # Same password, stronger parameters: not a new password, so no ledger entry.
        person.password_hash = hash_password(password)
    return person
