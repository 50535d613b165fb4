"""Purged entries in the Merkle log: proofs hold, bundles verify, tampering is still named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence.cli import app as cli_app
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.errors import Conflict
from coherence.ledger import bundle, checkpoints, keys, merkle, note, service, tree
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry

PURGED = [4, 5, 6, 11]


@pytest.fixture
def signer(tmp_path: Path) -> str:
    return keys.ensure_signer(tmp_path / "ledger.key", origin="test.example/ledger")


def append(factory: sessionmaker[Session], clock: ManualClock, count: int) -> None:
    for n in range(count):
        with session_scope(factory) as session:
            service.append(
                session,
                clock=clock,
                entry_type=EntryType.NOTIFICATION_QUEUED,
                actor="system",
                subject=f"message:{n}",
                incident_id=1,
                payload={"person": "amara-osei", "channel": "sms", "to": "+44 7700 900123"},
            )
        clock.advance(timedelta(seconds=1))


def sign(factory: sessionmaker[Session], clock: ManualClock, signer: str) -> None:
    clock.advance(timedelta(seconds=1))
    with session_scope(factory) as session:
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)


def purge(factory: sessionmaker[Session], clock: ManualClock, seqs: list[int]) -> None:
    """Purge as retention does: payloads replaced, then the notice naming them."""
    with session_scope(factory) as session:
        done = service.purge(session, seqs=seqs, at=clock.now())
        service.append(
            session,
            clock=clock,
            entry_type=EntryType.RETENTION_PURGED,
            actor="system",
            subject="retention:personal",
            payload={
                "category": "personal",
                "entries": bundle.compact_ranges(done),
                "evidence": [],
                "policy_days": 365,
            },
        )


def export(factory: sessionmaker[Session], first: int = 0) -> bytes:
    with session_scope(factory) as session:
        return service.export_bundle(session, first=first)


def verifier(signer: str) -> str:
    return note.verifier_for(signer)


@pytest.fixture
def purged_log(factory: sessionmaker[Session], clock: ManualClock, signer: str) -> None:
    """20 entries signed in fours, entries 4-6 and 11 purged, the purge signed."""
    for _ in range(4):
        append(factory, clock, 5)
        sign(factory, clock, signer)
    purge(factory, clock, PURGED)
    sign(factory, clock, signer)


@pytest.mark.usefixtures("purged_log")
def test_purging_keeps_leaves_roots_and_proofs(factory: sessionmaker[Session]) -> None:
    with session_scope(factory) as session:
        rows = service.list_entries(session, limit=100)
        leaves = [row.leaf_hash for row in rows]
        assert all(leaf is not None for leaf in leaves)
        for row in rows:
            if row.seq in PURGED:
                assert row.payload == service.PURGED_PAYLOAD
                assert row.purged_at is not None
                assert service.content_of(row) is None
                assert service.payload_of(row) == {"purged": True}
            else:
                assert merkle.leaf_hash(service.bytes_of(row)) == row.leaf_hash
        size, root = tree.current_root(session)
        assert size == 21
        for seq in PURGED:
            proof = tree.inclusion(session, seq, size)
            assert merkle.verify_inclusion(leaves[seq], seq, size, proof, root)  # type: ignore[arg-type]


def test_purging_again_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock, purged_log: None
) -> None:
    with session_scope(factory) as session:
        assert service.purge(session, seqs=PURGED, at=clock.now()) == []


@pytest.mark.usefixtures("purged_log")
def test_a_bundle_with_purged_entries_verifies_and_names_them(
    factory: sessionmaker[Session], signer: str, tmp_path: Path
) -> None:
    data = export(factory)
    assert data.startswith(b"coherence-ledger-bundle/3\n")
    verdict = bundle.verify(data, verifier(signer))
    assert verdict.ok, verdict.problem
    assert (verdict.entries_checked, verdict.entries_purged, verdict.purged) == (21, 4, "4-6,11")
    # From a later entry, only the purges in range are reported.
    later = bundle.verify(export(factory, first=6), verifier(signer))
    assert later.ok, later.problem
    assert (later.entries_purged, later.purged) == (2, "6,11")
    path = tmp_path / "ledger.bundle"
    path.write_bytes(data)
    result = CliRunner().invoke(cli_app, ["ledger", "verify", str(path), "--key", verifier(signer)])
    assert result.exit_code == 0, result.output
    assert "4 entries purged under retention" in result.output
    assert "4-6,11" in result.output


def tamper(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement.replace(":", "\\:")))


@pytest.mark.usefixtures("purged_log")
@pytest.mark.parametrize(
    ("statements", "first_bad", "words"),
    [
        (
            ['UPDATE ledger_entries SET payload = \'{"to":"+1 555 0100"}\' WHERE seq = 8'],
            8,
            "changed after it was recorded",
        ),
        (
            ["UPDATE ledger_entries SET payload = '{}', leaf_hash = NULL WHERE seq = 9"],
            5,
            "do not match the checkpoint",
        ),
        (["DELETE FROM ledger_entries WHERE seq = 14"], 14, "deleted or reordered"),
        # A purged entry carries no seq: the gap is named from the purged run before it.
        (["DELETE FROM ledger_entries WHERE seq = 5"], 4, "deleted or reordered"),
        (["DELETE FROM ledger_entries WHERE seq >= 17"], 17, "truncated"),
        (
            # A purged entry given another's recorded leaf: the roots catch it.
            [
                "UPDATE ledger_entries SET leaf_hash = "
                "(SELECT leaf_hash FROM ledger_entries WHERE seq = 3) WHERE seq = 4"
            ],
            0,
            "do not match the checkpoint",
        ),
    ],
)
def test_tampering_after_a_purge_is_still_named(
    engine: Engine,
    factory: sessionmaker[Session],
    signer: str,
    statements: list[str],
    first_bad: int,
    words: str,
) -> None:
    tamper(engine, *statements)
    verdict = bundle.verify(export(factory), verifier(signer))
    assert not verdict.ok
    assert verdict.first_bad_seq == first_bad, verdict.problem
    assert words in verdict.problem


@pytest.mark.usefixtures("purged_log")
def test_a_purge_no_retention_entry_names_is_flagged(
    engine: Engine, factory: sessionmaker[Session], signer: str
) -> None:
    # Someone hides an edit by blanking the entry and calling it purged; its leaf is untouched,
    # so the roots still match, but no retention:purged entry vouches for it.
    tamper(
        engine,
        "UPDATE ledger_entries SET payload = '{\"purged\":true}', "
        "purged_at = recorded_at WHERE seq = 13",
    )
    verdict = bundle.verify(export(factory), verifier(signer))
    assert not verdict.ok
    assert verdict.first_bad_seq == 13
    assert "no later retention:purged entry names it" in verdict.problem


def test_a_notice_vouches_only_for_entries_before_it(
    factory: sessionmaker[Session], clock: ManualClock, signer: str, engine: Engine
) -> None:
    append(factory, clock, 3)
    with session_scope(factory) as session:
        service.append(
            session,
            clock=clock,
            entry_type=EntryType.RETENTION_PURGED,
            actor="system",
            subject="retention:personal",
            payload={"category": "personal", "entries": "0-9", "evidence": [], "policy_days": 1},
        )
    append(factory, clock, 3)
    sign(factory, clock, signer)
    tamper(
        engine,
        "UPDATE ledger_entries SET payload = '{}', purged_at = recorded_at WHERE seq IN (1, 5)",
    )
    verdict = bundle.verify(export(factory), verifier(signer))
    assert not verdict.ok
    assert verdict.first_bad_seq == 5, verdict.problem


def test_export_waits_for_the_checkpoint_that_signs_a_purge(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    append(factory, clock, 5)
    sign(factory, clock, signer)
    purge(factory, clock, [1])
    with pytest.raises(Conflict, match="export again"):
        export(factory)
    sign(factory, clock, signer)
    assert bundle.verify(export(factory), verifier(signer)).ok


@pytest.mark.usefixtures("purged_log")
def test_version_2_bundles_still_verify(
    factory: sessionmaker[Session], clock: ManualClock, signer: str
) -> None:
    data = export(factory, first=12)
    assert bundle.verify(data, verifier(signer)).ok
    old = b"coherence-ledger-bundle/2\n" + data.removeprefix(bundle.MAGIC)
    verdict = bundle.verify(old, verifier(signer))
    assert verdict.ok, verdict.problem
    # Version 2 knows no purged entries: one there is malformed, never silently accepted.
    assert not bundle.verify(
        b"coherence-ledger-bundle/2\n" + export(factory).removeprefix(bundle.MAGIC),
        verifier(signer),
    ).ok


def test_the_timeline_shows_a_purged_entry_as_purged(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    from coherence.incidents import views
    from coherence.web.filters import summarize

    append(factory, clock, 2)
    with session_scope(factory) as session:
        service.purge(session, seqs=[0], at=clock.now())
        entries = views.timeline(session, 1)
    assert entries[0].payload == {"purged": True}
    assert "purged under retention" in summarize(entries[0])
    assert "purged" not in summarize(entries[1])


@pytest.mark.parametrize(
    ("seqs", "compact"),
    [([], ""), ([3], "3"), ([5, 3, 4, 4, 9, 11, 10], "3-5,9-11"), ([0, 2, 4], "0,2,4")],
)
def test_ranges_are_compact_and_read_back(seqs: list[int], compact: str) -> None:
    assert bundle.compact_ranges(seqs) == compact
    ranges = bundle.Ranges(bundle.parse_ranges(compact))
    assert all(seq in ranges for seq in seqs)
    assert 7 not in ranges


@pytest.mark.parametrize("junk", ["x", "3-", "-3", "5-3", "1,,2", "1;2"])
def test_junk_ranges_are_refused(junk: str) -> None:
    with pytest.raises(ValueError, match="range"):
        bundle.parse_ranges(junk)


def test_a_purged_row_is_only_its_marker(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    append(factory, clock, 1)
    with session_scope(factory) as session:
        assert service.purge(session, seqs=[0, 0, 7], at=clock.now()) == [0]
        row = session.get(LedgerEntry, 0)
        assert row is not None
        assert row.payload == '{"purged":true}'
