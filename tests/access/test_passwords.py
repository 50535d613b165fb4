"""Dashboard passwords: argon2id hashes, the policy, refusals that name no one, the ledger."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access import passwords
from coherence.catalog import service as catalog_service
from coherence.clock import ManualClock
from coherence.errors import NotAuthenticated, NotFound, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry

PASSWORD = "correct horse battery staple"

pytestmark = pytest.mark.usefixtures("facility")


def _set(session: Session, clock: ManualClock, key: str = "amara-osei", pw: str = PASSWORD) -> None:
    passwords.set_password(session, clock=clock, person_key=key, password=pw, actor="test")


def _entries(session: Session) -> list[LedgerEntry]:
    return list(
        session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == EntryType.PASSWORD_SET.value)
            .order_by(LedgerEntry.seq)
        )
    )


def test_the_stored_hash_is_argon2id_and_never_the_password(
    session: Session, clock: ManualClock
) -> None:
    _set(session, clock)
    person = catalog_service.get_person_or_raise(session, "amara-osei")
    assert person.password_hash is not None
    assert person.password_hash.startswith("$argon2id$")
    assert PASSWORD not in person.password_hash
    assert PasswordHasher().verify(person.password_hash, PASSWORD)
    found = passwords.authenticate_password(session, person_key="amara-osei", password=PASSWORD)
    assert found.key == "amara-osei"


def test_two_people_with_one_password_get_different_hashes(
    session: Session, clock: ManualClock
) -> None:
    _set(session, clock, "amara-osei")
    _set(session, clock, "tomasz-kowal")
    first = catalog_service.get_person_or_raise(session, "amara-osei").password_hash
    second = catalog_service.get_person_or_raise(session, "tomasz-kowal").password_hash
    assert first != second, "each hash carries its own salt"


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("short-11-ch", "at least 12"),
        ("", "at least 12"),
        ("x" * 257, "at most 256"),
        ("amara-osei", "at least 12"),
        ("Amara-Osei-A", None),
    ],
)
def test_the_policy_refuses_naming_the_password_field(
    session: Session, clock: ManualClock, password: str, message: str | None
) -> None:
    if message is None:
        _set(session, clock, pw=password)  # 12 characters, not the key: accepted
        return
    with pytest.raises(ValidationFailed, match=message) as refused:
        _set(session, clock, pw=password)
    assert refused.value.field == "password"
    assert catalog_service.get_person_or_raise(session, "amara-osei").password_hash is None
    assert _entries(session) == []


def test_a_password_equal_to_the_person_key_is_refused() -> None:
    key = "a-very-long-person-key"
    with pytest.raises(ValidationFailed, match="person key") as refused:
        passwords.check_policy(key.upper(), person_key=key)
    assert refused.value.field == "password"
    passwords.check_policy("x" * 12, person_key=key)
    passwords.check_policy("x" * 256, person_key=key)


def test_setting_a_password_for_nobody_is_refused(session: Session, clock: ManualClock) -> None:
    with pytest.raises(NotFound, match="no person"):
        _set(session, clock, "ghost")


@pytest.mark.parametrize(
    ("key", "password"),
    [
        ("amara-osei", "the wrong password"),  # known, wrong password
        ("ghost", PASSWORD),  # unknown person
        ("tomasz-kowal", PASSWORD),  # known, no password set
        ("amara-osei", ""),
        ("", PASSWORD),
        ("amara-osei", "x" * 10_000),
        ("k" * 500, PASSWORD),
    ],
)
def test_every_refusal_says_the_same_and_costs_one_verification(
    session: Session,
    clock: ManualClock,
    monkeypatch: pytest.MonkeyPatch,
    key: str,
    password: str,
) -> None:
    _set(session, clock)
    checked: list[str] = []
    real_verify = passwords._verify

    def counting(stored: str, given: str) -> bool:
        checked.append(stored)
        return real_verify(stored, given)

    monkeypatch.setattr(passwords, "_verify", counting)
    with pytest.raises(NotAuthenticated) as refused:
        passwords.authenticate_password(session, person_key=key, password=password)
    assert refused.value.message == passwords.WRONG_CREDENTIALS
    assert refused.value.field is None
    assert len(checked) == 1, "an unknown person must cost the same argon2 check"


def test_a_hash_with_weaker_parameters_is_upgraded_on_sign_in(
    session: Session, clock: ManualClock
) -> None:
    person = catalog_service.get_person_or_raise(session, "amara-osei")
    weak = PasswordHasher(time_cost=1, memory_cost=8192, parallelism=1).hash(PASSWORD)
    person.password_hash = weak
    passwords.authenticate_password(session, person_key="amara-osei", password=PASSWORD)
    assert person.password_hash != weak
    assert not PasswordHasher().check_needs_rehash(person.password_hash)
    assert PasswordHasher().verify(person.password_hash, PASSWORD)
    assert _entries(session) == [], "a rehash is not a new password"


def test_set_and_clear_are_in_the_ledger_without_the_secret(
    session: Session, clock: ManualClock
) -> None:
    _set(session, clock)
    hashed = catalog_service.get_person_or_raise(session, "amara-osei").password_hash
    assert hashed is not None
    passwords.clear_password(session, clock=clock, person_key="amara-osei", actor="admin")
    passwords.clear_password(session, clock=clock, person_key="amara-osei", actor="admin")
    assert catalog_service.get_person_or_raise(session, "amara-osei").password_hash is None
    entries = _entries(session)
    assert [(e.actor, e.subject) for e in entries] == [
        ("test", "person:amara-osei"),
        ("admin", "person:amara-osei"),
    ], "clearing an absent password records nothing"
    assert [ledger_service.payload_of(e) for e in entries] == [
        {"person": "amara-osei", "cleared": False},
        {"person": "amara-osei", "cleared": True},
    ]
    for entry in entries:
        assert PASSWORD not in entry.payload
        assert hashed not in entry.payload
        assert "argon2" not in entry.payload
    with pytest.raises(NotAuthenticated):
        passwords.authenticate_password(session, person_key="amara-osei", password=PASSWORD)
