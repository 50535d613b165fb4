"""Collect evidence, move it through custody, read it, and check the store against the ledger."""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory, Tlp
from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import NotFound, ValidationFailed
from coherence.evidence.domain import CustodyAction, ItemState, check_not_purged, next_state
from coherence.evidence.models import EvidenceItem
from coherence.evidence.store import ContentStore, rehash
from coherence.incidents import service as incidents_service
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry

MAX_NAME = 200
PURGED = object()
ENTRY_TYPES = {
    CustodyAction.COLLECTED: EntryType.EVIDENCE_COLLECTED,
    CustodyAction.TRANSFERRED: EntryType.EVIDENCE_TRANSFERRED,
    CustodyAction.ACCESSED: EntryType.EVIDENCE_ACCESSED,
    CustodyAction.SEALED: EntryType.EVIDENCE_SEALED,
    CustodyAction.RELEASED: EntryType.EVIDENCE_RELEASED,
    CustodyAction.DESTROYED: EntryType.EVIDENCE_DESTROYED,
}


def collect(
    session: Session,
    *,
    clock: Clock,
    store: ContentStore,
    content: BinaryIO,
    name: str,
    actor: str,
    tlp: Tlp,
    category: DataCategory,
    incident: str | None = None,
    asset: str | None = None,
    description: str = "",
    max_bytes: int,
) -> EvidenceItem:
    """Store content and register it, with ``actor`` as its first custodian."""
    clean = " ".join(name.split())[:MAX_NAME]
    if not clean:
        raise ValidationFailed("give the evidence a name", field="name")
    incident_id = incidents_service.get_or_raise(session, incident).id if incident else None
    if asset is not None:
        catalog_service.get_asset_or_raise(session, asset)
    digest, size = store.put(content, max_bytes=max_bytes)
    item = EvidenceItem(
        sha256=digest,
        size=size,
        name=clean,
        description=description.strip()[:2000],
        incident_id=incident_id,
        asset=asset,
        tlp=tlp.value,
        category=category.value,
        collected_by=actor,
        collected_at=clock.now(),
        custodian=actor,
        state=ItemState.HELD.value,
        events=1,
    )
    session.add(item)
    session.flush()
    _record(
        session,
        clock,
        item,
        CustodyAction.COLLECTED,
        actor,
        {
            "sha256": digest,
            "size": size,
            "name": clean,
            "tlp": tlp.value,
            "category": category.value,
            "asset": asset,
        },
    )
    return item


def custody(
    session: Session,
    *,
    clock: Clock,
    item_id: int,
    action: CustodyAction,
    actor: str,
    reason: str,
    to_person: str | None = None,
    store: ContentStore | None = None,
) -> EvidenceItem:
    """Transfer, seal, release or destroy an item, as one ledger entry."""
    if action in (CustodyAction.COLLECTED, CustodyAction.ACCESSED):
        raise ValidationFailed(
            f"{action.value} is recorded by collecting or reading", field="action"
        )
    item = get_or_raise(session, item_id, for_update=True)
    if not reason.strip():
        raise ValidationFailed("say why", field="reason")
    state = next_state(ItemState(item.state), action)
    details: dict[str, object] = {"reason": reason.strip()[:2000]}
    if action is CustodyAction.TRANSFERRED:
        if not to_person or catalog_service.get_person(session, to_person) is None:
            raise NotFound(f"no person {to_person!r} to hand it to", field="to")
        if to_person == item.custodian:
            raise ValidationFailed(f"{to_person} already holds it", field="to")
        details |= {"from": item.custodian, "to": to_person}
        item.custodian = to_person
    if action is CustodyAction.DESTROYED:
        if store is None:
            raise ValidationFailed("destroying needs the store", field="store")
        still_used = session.scalar(
            select(EvidenceItem.id).where(
                EvidenceItem.sha256 == item.sha256,
                EvidenceItem.id != item.id,
                EvidenceItem.state != ItemState.DESTROYED.value,
            )
        )
        # Identical content registered twice is stored once: keep it while another needs it.
        if still_used is None:
            store.delete(item.sha256)
    item.state = state.value
    _record(session, clock, item, action, actor, details)
    return item


def read(
    session: Session, *, clock: Clock, store: ContentStore, item_id: int, actor: str, reason: str
) -> tuple[EvidenceItem, BinaryIO]:
    """Open an item's content for ``actor``; the access is a ledger entry."""
    item = get_or_raise(session, item_id, for_update=True)
    next_state(ItemState(item.state), CustodyAction.ACCESSED)
    check_not_purged(item.id, item.purged_at)
    _record(session, clock, item, CustodyAction.ACCESSED, actor, {"reason": reason.strip()[:2000]})
    return item, store.open(item.sha256)


def _record(
    session: Session,
    clock: Clock,
    item: EvidenceItem,
    action: CustodyAction,
    actor: str,
    details: dict[str, object],
) -> None:
    if action is not CustodyAction.COLLECTED:
        item.events += 1
    ledger_service.append(
        session,
        clock=clock,
        entry_type=ENTRY_TYPES[action],
        actor=actor,
        subject=f"evidence:{item.id}",
        incident_id=item.incident_id,
        payload={"item": item.id, "sha256": item.sha256, "custodian": item.custodian, **details},
    )


def get_or_raise(session: Session, item_id: int, *, for_update: bool = False) -> EvidenceItem:
    """Return an item or raise NotFound."""
    item = session.get(EvidenceItem, item_id, with_for_update=for_update)
    if item is None:
        raise NotFound(f"no evidence item #{item_id}", field="item")
    return item


def list_items(session: Session, *, incident_id: int | None = None) -> Sequence[EvidenceItem]:
    """Every item, or one incident's, oldest first."""
    query = select(EvidenceItem)
    if incident_id is not None:
        query = query.where(EvidenceItem.incident_id == incident_id)
    return session.scalars(query.order_by(EvidenceItem.id)).all()


def custody_trail(session: Session, item_id: int) -> Sequence[LedgerEntry]:
    """The item's custody events from the ledger, in order."""
    get_or_raise(session, item_id)
    query = select(LedgerEntry).where(LedgerEntry.subject == f"evidence:{item_id}")
    return session.scalars(query.order_by(LedgerEntry.seq)).all()


@dataclass(frozen=True)
class StoreProblem:
    """An item whose stored content no longer matches its registered hash."""

    item_id: int
    sha256: str
    problem: str


def verify(session: Session, store: ContentStore) -> list[StoreProblem]:
    """Re-hash every item's content against the hash the ledger recorded at collection.

    Items retention purged are not problems: list them with ``purged_items``.
    """
    collected = {
        # A purged collection entry no longer says; the register's hash is then the reference.
        entry.subject: PURGED
        if entry.purged_at is not None
        else ledger_service.payload_of(entry).get("sha256")
        for entry in session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == EntryType.EVIDENCE_COLLECTED.value)
        )
    }
    problems = []
    for item in list_items(session):
        if item.purged_at is not None:
            continue
        recorded = collected.get(f"evidence:{item.id}")
        if recorded is PURGED:
            recorded = item.sha256
        if recorded != item.sha256:
            problems.append(
                StoreProblem(
                    item.id, item.sha256, f"register says {item.sha256}, ledger {recorded}"
                )
            )
            continue
        if item.state == ItemState.DESTROYED.value:
            continue
        found = rehash(store, item.sha256)
        if found is None:
            problems.append(StoreProblem(item.id, item.sha256, "content is missing"))
        elif found != item.sha256:
            problems.append(
                StoreProblem(item.id, item.sha256, f"content now hashes to {found}: altered")
            )
    return problems


def purged_items(session: Session) -> Sequence[EvidenceItem]:
    """Items whose content retention purged, oldest first."""
    query = select(EvidenceItem).where(EvidenceItem.purged_at.is_not(None))
    return session.scalars(query.order_by(EvidenceItem.id)).all()


def mark_purged(session: Session, *, item_ids: Collection[int], at: datetime) -> list[EvidenceItem]:
    """Mark items' content purged under retention; sealed or already purged ones are skipped.

    The row, hash and size stay. Removing the bytes is the caller's, once this is committed,
    for the digests ``unneeded_digests`` names.
    """
    if not item_ids:
        return []
    items = session.scalars(
        select(EvidenceItem)
        .where(
            EvidenceItem.id.in_(list(item_ids)),
            EvidenceItem.purged_at.is_(None),
            EvidenceItem.state != ItemState.SEALED.value,
        )
        .order_by(EvidenceItem.id)
        .with_for_update()
    ).all()
    for item in items:
        item.purged_at = at
    session.flush()
    return list(items)


def sealed_ids(session: Session) -> set[int]:
    """Items under a legal hold now."""
    query = select(EvidenceItem.id).where(EvidenceItem.state == ItemState.SEALED.value)
    return set(session.scalars(query))


def unneeded_digests(session: Session, digests: Collection[str] | None = None) -> set[str]:
    """Digests of purged items that no live item (neither purged nor destroyed) shares.

    ``None`` checks every purged item's digest.
    """
    query = select(EvidenceItem.sha256).where(EvidenceItem.purged_at.is_not(None))
    if digests is not None:
        query = query.where(EvidenceItem.sha256.in_(list(digests)))
    candidates = set(session.scalars(query))
    if not candidates:
        return set()
    live = session.scalars(
        select(EvidenceItem.sha256).where(
            EvidenceItem.sha256.in_(list(candidates)),
            EvidenceItem.purged_at.is_(None),
            EvidenceItem.state != ItemState.DESTROYED.value,
        )
    )
    return candidates - set(live)
