"""Evidence: content by SHA-256, custody in the ledger, verification against it."""

from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from coherence.access.domain import DataCategory, Tlp
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.evidence import service
from coherence.evidence.domain import CustodyAction, ItemState
from coherence.evidence.store import LocalStore
from tests.helpers import counts

pytestmark = pytest.mark.usefixtures("facility")
CONTENT = b"2026-01-05 10:00:00,MXC,0.0102\n" * 100


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "evidence")


def collect(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore, data: bytes = CONTENT
) -> int:
    with session_scope(factory) as session:
        item = service.collect(
            session,
            clock=clock,
            store=store,
            content=io.BytesIO(data),
            name="fridge-1 log, 5 January",
            actor="helen-marsh",
            tlp=Tlp.AMBER,
            category=DataCategory.OPERATIONAL,
            asset="fridge-1",
            max_bytes=10_000,
        )
        return item.id


def act(
    factory: sessionmaker[Session],
    clock: ManualClock,
    store: LocalStore,
    item_id: int,
    action: CustodyAction,
    **extra: str,
) -> None:
    with session_scope(factory) as session:
        service.custody(
            session,
            clock=clock,
            item_id=item_id,
            action=action,
            actor="helen-marsh",
            reason=extra.pop("reason", "for the investigation"),
            store=store,
            **extra,  # type: ignore[arg-type]
        )


def trail(factory: sessionmaker[Session], item_id: int) -> list[str]:
    with session_scope(factory) as session:
        return [e.entry_type for e in service.custody_trail(session, item_id)]


def test_content_is_stored_by_hash_and_every_custody_step_is_ledgered(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item_id = collect(factory, clock, store)
    digest = hashlib.sha256(CONTENT).hexdigest()
    assert store.exists(digest)
    assert (store.root / digest[:2] / digest[2:4] / digest).stat().st_mode & 0o777 == 0o400
    act(factory, clock, store, item_id, CustodyAction.TRANSFERRED, to_person="kwame-asante")
    with session_scope(factory) as session:
        item, content = service.read(
            session, clock=clock, store=store, item_id=item_id, actor="kwame-asante", reason="x"
        )
        with content:
            assert content.read() == CONTENT
        assert item.custodian == "kwame-asante"
    act(factory, clock, store, item_id, CustodyAction.SEALED)
    act(factory, clock, store, item_id, CustodyAction.RELEASED)
    act(factory, clock, store, item_id, CustodyAction.DESTROYED)
    assert not store.exists(digest)
    assert trail(factory, item_id) == [
        "evidence:collected",
        "evidence:transferred",
        "evidence:accessed",
        "evidence:sealed",
        "evidence:released",
        "evidence:destroyed",
    ]
    with session_scope(factory) as session:
        assert service.verify(session, store) == []


def test_sealed_items_cannot_be_read_and_destroyed_ones_cannot_move(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item_id = collect(factory, clock, store)
    act(factory, clock, store, item_id, CustodyAction.SEALED)
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(Conflict, match="release it first"):
        service.read(session, clock=clock, store=store, item_id=item_id, actor="a", reason="x")
    assert counts(factory) == before
    act(factory, clock, store, item_id, CustodyAction.DESTROYED)
    with pytest.raises(Conflict, match="destroyed"):
        act(factory, clock, store, item_id, CustodyAction.RELEASED)


def test_identical_content_is_kept_while_another_item_needs_it(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    first, second = collect(factory, clock, store), collect(factory, clock, store)
    act(factory, clock, store, first, CustodyAction.DESTROYED)
    with session_scope(factory) as session:
        item = service.get_or_raise(session, second)
        assert store.exists(item.sha256)
        assert service.verify(session, store) == []


def test_verify_catches_altered_missing_content_and_an_edited_register(
    engine: Engine, factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    altered = collect(factory, clock, store)
    missing = collect(factory, clock, store, b"another file")
    edited = collect(factory, clock, store, b"a third file")
    with session_scope(factory) as session:
        items = {i.id: i for i in service.list_items(session)}
    path = store._path(items[altered].sha256)
    path.chmod(0o600)
    path.write_bytes(b"tampered")
    store.delete(items[missing].sha256)
    with engine.begin() as connection:
        connection.execute(
            text("UPDATE evidence_items SET sha256 = :h WHERE id = :i"),
            {"h": hashlib.sha256(b"forged").hexdigest(), "i": edited},
        )
    with session_scope(factory) as session:
        problems = {p.item_id: p.problem for p in service.verify(session, store)}
    assert "altered" in problems[altered]
    assert "missing" in problems[missing]
    assert "ledger" in problems[edited]


@pytest.mark.parametrize(
    ("change", "error", "field"),
    [
        ({"data": b"x" * 10_001}, ValidationFailed, "content"),
        ({"name": "   "}, ValidationFailed, "name"),
        ({"asset": "atlantis"}, NotFound, "asset"),
        ({"incident": "INC-99999"}, NotFound, "incident"),
    ],
)
def test_bad_collections_are_refused_and_write_nothing(
    factory: sessionmaker[Session],
    clock: ManualClock,
    store: LocalStore,
    change: dict[str, object],
    error: type[Exception],
    field: str,
) -> None:
    before = counts(factory)
    arguments: dict[str, object] = {
        "name": "log",
        "asset": "fridge-1",
        "incident": None,
    }
    data = change.get("data", CONTENT)
    arguments.update({k: v for k, v in change.items() if k != "data"})
    with session_scope(factory) as session, pytest.raises(error) as caught:
        service.collect(
            session,
            clock=clock,
            store=store,
            content=io.BytesIO(data),  # type: ignore[arg-type]
            actor="helen-marsh",
            tlp=Tlp.RED,
            category=DataCategory.PERSONAL,
            max_bytes=10_000,
            **arguments,  # type: ignore[arg-type]
        )
    assert getattr(caught.value, "field", None) == field
    assert counts(factory) == before
    assert not list(store.root.glob("**/.incoming-*")), "no half-written file is left behind"


@pytest.mark.parametrize("digest", ["../../etc/passwd", "a" * 63, "A" * 64, "g" * 64, ""])
def test_only_a_digest_ever_becomes_a_path(store: LocalStore, digest: str) -> None:
    with pytest.raises(ValidationFailed):
        store.open(digest)


def test_transfers_name_a_real_new_custodian_and_a_reason(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item_id = collect(factory, clock, store)
    with pytest.raises(NotFound):
        act(factory, clock, store, item_id, CustodyAction.TRANSFERRED, to_person="nobody")
    with pytest.raises(ValidationFailed):
        act(factory, clock, store, item_id, CustodyAction.TRANSFERRED, to_person="helen-marsh")
    with pytest.raises(ValidationFailed):
        act(factory, clock, store, item_id, CustodyAction.SEALED, reason=" ")
    with session_scope(factory) as session:
        assert service.get_or_raise(session, item_id).state == ItemState.HELD
