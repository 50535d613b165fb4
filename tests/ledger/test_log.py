"""The ledger as a Merkle log: proofs, signed checkpoints, bundles checked offline, tampering."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.ledger import bundle, checkpoints, keys, merkle, note, service, tree
from coherence.ledger.domain import EntryType
from coherence.migrations import runner


@pytest.fixture
def signer(tmp_path: Path) -> str:
    return keys.ensure_signer(tmp_path / "ledger.key", origin="test.example/ledger")


def append(factory: sessionmaker[Session], clock: ManualClock, count: int) -> None:
    for n in range(count):
        with session_scope(factory) as session:
            service.append(
                session,
                clock=clock,
                entry_type=EntryType.INCIDENT_NOTE_ADDED,
                actor="amara-osei",
                subject="incident:1",
                incident_id=1,
                payload={"text": f"note {n}"},
            )
        clock.advance(timedelta(seconds=1))


def sign(factory: sessionmaker[Session], clock: ManualClock, signer: str) -> None:
    with session_scope(factory) as session:
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)


def export(factory: sessionmaker[Session], first: int = 0) -> bytes:
    with session_scope(factory) as session:
        return service.export_bundle(session, first=first)


def verifier(signer: str) -> str:
    return note.verifier_for(signer)


def test_roots_and_proofs_match_the_rfc_tree(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    append(factory, clock, 13)
    with session_scope(factory) as session:
        leaves = [
            merkle.leaf_hash(service.bytes_of(e)) for e in service.list_entries(session, limit=100)
        ]
        assert tree.current_root(session) == (13, merkle.root(leaves))
        for size in range(1, 14):
            expected = merkle.root(leaves[:size])
            assert tree.root_at(session, size) == expected
            for seq in range(size):
                proof = tree.inclusion(session, seq, size)
                assert merkle.verify_inclusion(leaves[seq], seq, size, proof, expected)
            for old in range(size + 1):
                proof = tree.consistency(session, old, size)
                assert merkle.verify_consistency(
                    old, size, merkle.root(leaves[:old]), expected, proof
                )


def test_checkpoints_only_grow_and_are_signed(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    with session_scope(factory) as session:
        assert checkpoints.sign_latest(session, clock=clock, signer_key=signer) is None
    append(factory, clock, 3)
    sign(factory, clock, signer)
    sign(factory, clock, signer)
    append(factory, clock, 2)
    sign(factory, clock, signer)
    with session_scope(factory) as session:
        signed = checkpoints.between(session, 0, 100)
        assert [c.size for c in signed] == [3, 5]
        body = note.open_note(signed[-1].note, [verifier(signer)])
        parsed = note.parse_checkpoint(body)
        assert (parsed.origin, parsed.size) == ("test.example/ledger", 5)
        assert parsed.root == tree.root_at(session, 5)


def test_a_bundle_verifies_offline_from_the_start_or_from_a_later_entry(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    for _ in range(4):
        append(factory, clock, 5)
        sign(factory, clock, signer)
    for first in (0, 7, 19):
        verdict = bundle.verify(export(factory, first), verifier(signer))
        assert verdict.ok, verdict.problem
        assert verdict.size == 20
        assert verdict.entries_checked == 20 - first
    other = note.generate_signer("test.example/ledger")[1]
    forged = bundle.verify(export(factory), other)
    assert not forged.ok
    assert "not signed by this key" in forged.problem


def tamper(engine: Engine, statement: str) -> None:
    with engine.begin() as connection:
        connection.execute(text(statement))


@pytest.mark.parametrize(
    ("statements", "first_bad", "words"),
    [
        (
            ['UPDATE ledger_entries SET payload = \'{"text":"nothing happened"}\' WHERE seq = 6'],
            6,
            "changed after it was recorded",
        ),
        (
            ["UPDATE ledger_entries SET payload = '{}', leaf_hash = NULL WHERE seq = 6"],
            5,
            "do not match the checkpoint",
        ),
        (
            ["UPDATE ledger_entries SET actor = 'mallory' WHERE seq = 12"],
            12,
            "changed after it was recorded",
        ),
        (["DELETE FROM ledger_entries WHERE seq = 3"], 3, "deleted or reordered"),
        (
            [
                "UPDATE ledger_entries SET seq = 1000 WHERE seq = 8",
                "UPDATE ledger_entries SET seq = 8 WHERE seq = 9",
                "UPDATE ledger_entries SET seq = 9 WHERE seq = 1000",
            ],
            8,
            "changed after it was recorded",
        ),
        (["DELETE FROM ledger_entries WHERE seq >= 17"], 17, "truncated"),
    ],
)
def test_tampering_behind_the_applications_back_names_the_first_bad_entry(
    engine: Engine,
    factory: sessionmaker[Session],
    clock: ManualClock,
    signer: str,
    statements: list[str],
    first_bad: int,
    words: str,
) -> None:
    for _ in range(4):
        append(factory, clock, 5)
        sign(factory, clock, signer)
    for statement in statements:
        tamper(engine, statement)
    verdict = bundle.verify(export(factory), verifier(signer))
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad, verdict.problem
    assert words in verdict.problem


def test_a_forged_checkpoint_in_the_database_is_caught(
    engine: Engine, factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    append(factory, clock, 5)
    sign(factory, clock, signer)
    with session_scope(factory) as session:
        original = checkpoints.latest_or_raise(session).note
    lines = original.split("\n")
    lines[1] = "6"
    with engine.begin() as connection:
        connection.execute(text("UPDATE ledger_checkpoints SET note = :n"), {"n": "\n".join(lines)})
    verdict = bundle.verify(export(factory), verifier(signer))
    assert not verdict.ok
    assert "not signed by this key" in verdict.problem


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"[]",
        b'{"format": "coherence-ledger-bundle/1"}',
        bundle.MAGIC,
        bundle.MAGIC + b"[]\n",
        bundle.MAGIC + b'{"first": 0, "prefix": [], "checkpoints": []}\n',
        bundle.MAGIC + b'{"first": "x"}\n',
    ],
)
def test_junk_is_a_verdict_not_a_crash(data: bytes, signer: str) -> None:
    verdict = bundle.verify(data, verifier(signer))
    assert not verdict.ok
    assert verdict.problem


def test_a_cut_short_bundle_is_a_verdict_not_a_crash(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    append(factory, clock, 5)
    sign(factory, clock, signer)
    whole = export(factory)
    for cut in (len(whole) - 1, len(whole) - 40, len(whole) // 2):
        verdict = bundle.verify(whole[:cut], verifier(signer))
        assert not verdict.ok
        assert verdict.problem


def test_the_key_file_is_owner_only_and_a_readable_one_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "k"
    keys.ensure_signer(path, origin="x")
    assert path.stat().st_mode & 0o777 == 0o600
    assert keys.ensure_signer(path) == keys.load_signer(path)
    path.chmod(0o644)
    with pytest.raises(Exception, match="chmod 600"):
        keys.load_signer(path)


def test_upgrading_a_ledger_builds_its_tree(tmp_path: Path, clock: ManualClock) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'old.db'}")
    runner.upgrade(engine, "0004")
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO ledger_head (id, size) VALUES (1, 3)"))
        for seq in range(3):
            connection.execute(
                text(
                    "INSERT INTO ledger_entries (seq, entry_type, recorded_at, actor, subject, "
                    "incident_id, payload) VALUES (:s, 'incident:note_added', :at, 'a', 's', "
                    "NULL, :p)"
                ),
                {"s": seq, "at": clock.now().isoformat(), "p": orjson.dumps({"n": seq}).decode()},
            )
    runner.upgrade(engine)
    factory = make_session_factory(engine)
    with session_scope(factory) as session:
        entries = service.list_entries(session)
        leaves = [merkle.leaf_hash(service.bytes_of(e)) for e in entries]
        assert [e.leaf_hash for e in entries] == leaves
        assert tree.current_root(session) == (3, merkle.root(leaves))
        assert tree.root_at(session, 2) == merkle.root(leaves[:2])
    append(factory, clock, 1)
    with session_scope(factory) as session:
        assert tree.current_root(session)[0] == 4
    engine.dispose()


def test_a_busy_worker_signs_at_most_one_checkpoint_a_second(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    append(factory, clock, 1)
    sign(factory, clock, signer)
    with session_scope(factory) as session:
        service.append(
            session,
            clock=clock,
            entry_type=EntryType.INCIDENT_NOTE_ADDED,
            actor="a",
            subject="incident:1",
            payload={},
        )
    clock.advance(timedelta(milliseconds=400))
    with session_scope(factory) as session:
        assert checkpoints.sign_latest(session, clock=clock, signer_key=signer) is None
    clock.advance(timedelta(milliseconds=700))
    with session_scope(factory) as session:
        signed = checkpoints.sign_latest(session, clock=clock, signer_key=signer)
        assert signed is not None
        assert signed.size == 2
