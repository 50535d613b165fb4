"""Signed checkpoints: the ledger's size and root, in a C2SP signed note, never inconsistent."""

from __future__ import annotations

import base64
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import NotFound
from coherence.ledger import note, tree
from coherence.ledger.models import LedgerCheckpoint, LedgerHead

# A busy worker passes many times a second; one checkpoint a second is what verifiers need.
MIN_INTERVAL = timedelta(seconds=1)


def sign_latest(session: Session, *, clock: Clock, signer_key: str) -> LedgerCheckpoint | None:
    """Sign a checkpoint for the current size if the last is older and at least a second old.

    Returns None when there is nothing new to sign, or the last checkpoint is under a second
    old.

    The head row is locked while signing, so the size and root come from one moment of the
    tree and no append can slip between; checkpoints only ever grow, each consistent with the
    last because the tree only appends.
    """
    head = session.scalars(
        select(LedgerHead).where(LedgerHead.id == tree.HEAD_ROW_ID).with_for_update()
    ).one_or_none()
    if head is None or head.size == 0:
        return None
    last = latest(session)
    if last is not None and (last.size >= head.size or clock.now() - last.signed_at < MIN_INTERVAL):
        return None
    root = tree.frontier_of(head).root()
    origin = note.verifier_for(signer_key).split("+", 1)[0]
    body = note.Checkpoint(origin=origin, size=head.size, root=root).to_text()
    checkpoint = LedgerCheckpoint(
        size=head.size,
        root=root,
        note=note.sign_note(body, signer_key),
        signed_at=clock.now(),
    )
    session.add(checkpoint)
    session.flush()
    return checkpoint


def latest(session: Session) -> LedgerCheckpoint | None:
    """The most recent checkpoint, or None before the first."""
    query = select(LedgerCheckpoint).order_by(LedgerCheckpoint.size.desc())
    return session.scalars(query).first()


def latest_or_raise(session: Session) -> LedgerCheckpoint:
    """The most recent checkpoint, or NotFound if the ledger has none yet."""
    found = latest(session)
    if found is None:
        raise NotFound("the ledger has no checkpoint yet", field="checkpoint")
    return found


def between(session: Session, first: int, last: int) -> list[LedgerCheckpoint]:
    """Checkpoints with sizes in [first, last], smallest first."""
    query = select(LedgerCheckpoint).where(
        LedgerCheckpoint.size >= first, LedgerCheckpoint.size <= last
    )
    return list(session.scalars(query.order_by(LedgerCheckpoint.size)).all())


def encoded(value: bytes) -> str:
    """Base64, as checkpoints and proofs carry hashes."""
    return base64.b64encode(value).decode()
