"""Ledger benchmarks: appends with checkpointing on, and offline verification of a bundle.

Run from a clone with the project installed:

    .venv/bin/python bench/ledger.py [--entries 1000000]

Each figure is printed beside a baseline measured in the same run on the same machine.
Nothing here is asserted by the test suite.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import sqlite3
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Integer, String, text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from coherence.clock import SystemClock
from coherence.db import make_engine, make_session_factory, session_scope
from coherence.ledger import bundle, checkpoints, keys, merkle, note, service
from coherence.ledger.domain import EntryType, canonical_json, entry_bytes
from coherence.migrations import runner

APPENDS = 5_000
# Appends per transaction: one per state change, and a dispatcher pass or intake batch.
BATCHES = (1, 10, 100)
START = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


class _Base(DeclarativeBase):
    pass


class _Row(_Base):
    """The baseline's one-row table."""

    __tablename__ = "bench_rows"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    body: Mapped[str] = mapped_column(String(200))


def appends(folder: Path) -> None:
    """Ledger appends with a checkpoint signed every second, beside one-row transactions."""
    print(f"Appends: {APPENDS:,} entries (SQLite, WAL, synchronous=NORMAL)")
    bare = bare_sqlite_rate(folder / "bare.db")
    print(f"  {'baseline: sqlite3 one-row INSERT + COMMIT':<58} {bare:>12,.0f} /s")
    baseline_engine = make_engine(f"sqlite:///{folder / 'baseline.db'}")
    _Base.metadata.create_all(baseline_engine)
    baseline_factory = make_session_factory(baseline_engine)
    for batch in BATCHES:
        started = time.perf_counter()
        for first in range(0, APPENDS, batch):
            with session_scope(baseline_factory) as session:
                for n in range(first, first + batch):
                    session.add(_Row(body=f'{{"text":"note {n}"}}'))
        floor = APPENDS / (time.perf_counter() - started)
        label = f"for scale: ORM one-row INSERTs, {batch} per transaction"
        print(f"  {label:<58} {floor:>12,.0f} /s")

    engine = make_engine(f"sqlite:///{folder / 'ledger.db'}")
    runner.upgrade(engine)
    factory = make_session_factory(engine)
    signer = keys.ensure_signer(folder / "ledger.key", origin="bench.example/ledger")
    clock = SystemClock()
    stop = threading.Event()
    signed = [0]

    def checkpointer() -> None:
        while not stop.wait(1.0):
            with session_scope(factory) as session:
                if checkpoints.sign_latest(session, clock=clock, signer_key=signer):
                    signed[0] += 1

    thread = threading.Thread(target=checkpointer, daemon=True)
    thread.start()
    measured = {}
    for batch in BATCHES:
        started = time.perf_counter()
        for first in range(0, APPENDS, batch):
            with session_scope(factory) as session:
                for n in range(first, first + batch):
                    service.append(
                        session,
                        clock=clock,
                        entry_type=EntryType.INCIDENT_NOTE_ADDED,
                        actor="bench",
                        subject="incident:1",
                        incident_id=1,
                        payload={"text": f"note {n}"},
                    )
        measured[batch] = APPENDS / (time.perf_counter() - started)
        label = f"ledger append + checkpoints, {batch} per transaction"
        print(f"  {label:<58} {measured[batch]:>12,.0f} /s")
    stop.set()
    thread.join()
    print(f"  checkpoints signed meanwhile: {signed[0]}")
    single, grouped = measured[1], measured[BATCHES[-1]]
    print(f"  one per transaction / sqlite3 one-row transactions: {single / bare:.2f}")
    print(
        f"  {BATCHES[-1]} per transaction (a dispatcher pass) / sqlite3 one-row transactions: "
        f"{grouped / bare:.2f}   target: >= 10,000 appends/s"
    )
    with engine.connect() as connection:
        rows = connection.execute(text("select count(*) from ledger_entries")).scalar()
    assert rows == APPENDS * len(BATCHES)
    engine.dispose()
    baseline_engine.dispose()


def bare_sqlite_rate(path: Path) -> float:
    """SQLite's own rate of one-row transactions, through the sqlite3 module, no ORM."""
    connection = sqlite3.connect(path, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    connection.execute("CREATE TABLE rows (id INTEGER PRIMARY KEY, body TEXT)")
    started = time.perf_counter()
    for n in range(APPENDS):
        connection.execute("BEGIN IMMEDIATE")
        connection.execute("INSERT INTO rows (body) VALUES (?)", (f'{{"text":"note {n}"}}',))
        connection.execute("COMMIT")
    rate = APPENDS / (time.perf_counter() - started)
    connection.close()
    return rate


def synthetic_bundle(count: int, signer: str) -> bytes:
    """A bundle of ``count`` entries shaped like real ones, signed at its end."""
    frontier = merkle.Frontier()
    entries = []
    for seq in range(count):
        raw = entry_bytes(
            seq=seq,
            entry_type="incident:note_added",
            recorded_at=START,
            actor="bench",
            subject="incident:1",
            incident_id=1,
            payload=canonical_json({"text": f"note {seq}", "at": START.isoformat()}),
        )
        leaf = merkle.leaf_hash(raw)
        frontier.push(leaf)
        entries.append((raw, leaf))
    checkpoint = note.Checkpoint("bench.example/ledger", count, frontier.root()).to_text()
    header = {
        "origin": "bench.example/ledger",
        "first": 0,
        "prefix": [],
        "checkpoints": [note.sign_note(checkpoint, signer)],
    }
    return bundle.encode(header, entries)


def verification(folder: Path, count: int) -> None:
    """Full offline verification of a bundle against bare SHA-256 node hashing."""
    print(f"Verification: a bundle of {count:,} entries, checked offline")
    signer = keys.ensure_signer(folder / "verify.key", origin="bench.example/ledger")
    data = synthetic_bundle(count, signer)
    print(f"  bundle size: {len(data) / 1e6:,.0f} MB")
    leaves = [hashlib.sha256(b"\x00" + str(n).encode()).digest() for n in range(count)]
    gc.collect()
    started = time.perf_counter()
    merkle.root(leaves)
    for leaf in leaves:
        hashlib.sha256(b"\x00" + leaf).digest()
    floor = count / (time.perf_counter() - started)
    print(f"  {'baseline: bare hashlib leaf + node hashing':<58} {floor:>12,.0f} entries/s")
    gc.collect()
    started = time.perf_counter()
    verdict = bundle.verify(data, note.verifier_for(signer))
    measured = count / (time.perf_counter() - started)
    assert verdict.ok, verdict.problem
    label = "coherence ledger verify (parse, hash, compare, roots)"
    print(f"  {label:<58} {measured:>12,.0f} entries/s")
    print(f"  verify / baseline: {measured / floor:.2f}   target: >= 0.5")


def main() -> None:
    """Run every ledger benchmark."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=1_000_000, help="bundle size to verify")
    arguments = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    with tempfile.TemporaryDirectory() as folder:
        appends(Path(folder))
        verification(Path(folder), arguments.entries)


if __name__ == "__main__":
    main()
