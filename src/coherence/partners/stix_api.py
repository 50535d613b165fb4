"""STIX 2.1 export of a cyber incident: gathering what it records, the share, and its route.

The bundle itself is built by the pure :mod:`coherence.partners.stix`; this module reads the
incident's signals, notes and evidence register, decides what the recipient organisation may
see (its agreements, the access policy, the export guard), and records each share to a partner
in the ledger as ``share:sent`` (kind ``stix``) with the bundle's SHA-256. The TAXII server and
``coherence stix export`` use the same functions.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime

from fastapi import APIRouter, Query
from fastapi.responses import Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access import guard
from coherence.access.api import Reads
from coherence.access.domain import DataCategory, Tlp
from coherence.access.policy import EVERY_CATEGORY, Action, Decision
from coherence.access.redaction import payload_categories
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.errors import PermissionDenied, ValidationFailed
from coherence.evidence import service as evidence_service
from coherence.evidence.domain import ItemState
from coherence.http import ERROR_RESPONSES
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import bundle as ledger_bundle
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.partners import domain, packages, stix
from coherence.partners import service as partners_service
from coherence.partners.models import Agreement

KIND = "stix"
_PAGE = 1000
_RECORDS = {
    EntryType.SIGNAL_RAISED: (stix.RecordKind.SIGNAL, "detail"),
    EntryType.INCIDENT_NOTE_ADDED: (stix.RecordKind.NOTE, "text"),
}


def source_of(session: Session, incident: Incident) -> stix.Source:
    """Gather what a bundle of ``incident`` is built from: its signals, notes and evidence."""
    records: list[stix.Record] = []
    labelled_at: datetime | None = None
    after = -1
    types = [*_RECORDS, EntryType.INCIDENT_LABELLED]
    while True:
        page = ledger_service.list_entries(
            session, incident_id=incident.id, entry_types=types, after_seq=after, limit=_PAGE
        )
        for row in page:
            if row.entry_type == EntryType.INCIDENT_LABELLED.value:
                labelled_at = row.recorded_at
            elif row.purged_at is None:
                records.append(_record(row))
        if len(page) < _PAGE:
            break
        after = page[-1].seq
    files = [
        stix.FileRecord(
            key=f"evidence-{item.id}",
            name=item.name,
            sha256=item.sha256,
            size=item.size,
            at=item.collected_at,
            tlp=Tlp(item.tlp),
            category=DataCategory(item.category),
        )
        for item in evidence_service.list_items(session, incident_id=incident.id)
        # A sealed item is off limits until released; not even its record travels.
        if item.state != ItemState.SEALED.value
    ]
    organisation = incident.site.organisation
    return stix.Source(
        producer=organisation.key,
        producer_name=organisation.name,
        incident=stix.IncidentView(
            reference=reference(incident.id),
            title=incident.title,
            summary=incident.summary,
            category=incident.category,
            severity=incident.severity,
            status=incident.status,
            kind=incident.kind,
            tlp=Tlp(incident.tlp),
            asset=incident.asset.key,
            asset_name=incident.asset.name,
            asset_kind=incident.asset.kind,
            site=incident.site.key,
            detected_at=incident.detected_at,
            updated_at=incident.updated_at,
            labelled_at=labelled_at,
        ),
        records=tuple(records),
        files=tuple(files),
    )


def _record(row: LedgerEntry) -> stix.Record:
    kind, field = _RECORDS[EntryType(row.entry_type)]
    payload = ledger_service.payload_of(row)
    sensitive = payload_categories(row.entry_type, payload)
    return stix.Record(
        seq=row.seq,
        kind=kind,
        text=str(payload.get(field, "")),
        at=row.recorded_at,
        category=sensitive.get(field, DataCategory.OPERATIONAL),
    )


def shareable(categories: frozenset[DataCategory]) -> frozenset[DataCategory]:
    """What a bundle may carry of ``categories``: export-controlled data never goes as STIX."""
    return categories - {DataCategory.EXPORT_CONTROLLED}


def require_cyber(incident: Incident) -> None:
    """Raise ValidationFailed unless ``incident`` is a cyber incident."""
    if not stix.is_cyber(incident.category):
        raise ValidationFailed(
            f"{reference(incident.id)} is a {incident.category} incident; only "
            f"{', '.join(sorted(stix.CYBER_CATEGORIES))} incidents are exported as STIX",
            field="ref",
        )


@dataclass(frozen=True)
class Exported:
    """One exported bundle and what the ledger recorded about it."""

    bundle: stix.Bundle
    data: bytes
    sha256: str
    organisation: str
    agreements: list[str]
    seq: int | None

    @property
    def filename(self) -> str:
        """A file name for the bundle."""
        return f"{reference_of(self.bundle)}-{self.organisation}.stix.json"


def reference_of(bundle: stix.Bundle) -> str:
    """The incident reference a bundle is about."""
    for item in bundle.objects:
        if item.body["type"] == "incident":
            return str(item.body["external_references"][0]["external_id"])
    return "bundle"


def export(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    organisation: str,
    actor: str,
    decision: Decision | None = None,
) -> Exported:
    """Build the bundle ``organisation`` may receive of ``incident``.

    For one of the incident's own organisations it holds what ``decision`` (default: everything)
    entitles the reader to, and nothing is recorded. For a partner, an agreement in force must
    cover the incident and its label (404, 403), the export guard must let the share go (451),
    and the share is ledgered as ``share:sent``. ``decision`` is the partner reader's own, when
    a person of that organisation asks.
    """
    require_cyber(incident)
    now = clock.now()
    own = organisation in partners_service.scope_of(incident).organisations
    agreements: list[str] = []
    if own:
        categories = decision.entitled if decision is not None else EVERY_CATEGORY
    else:
        found, agreements = packages.recipient_decision(
            session, incident=incident, organisation=organisation, now=now
        )
        categories = (decision or found).entitled
    built = stix.build_bundle(
        source_of(session, incident), categories=shareable(categories), recipient=organisation
    )
    data = built.content()
    digest = hashlib.sha256(data).hexdigest()
    if own:
        return Exported(built, data, digest, organisation, agreements, None)
    partners_service.require_share(
        session, incident=incident, organisation=organisation, categories=built.categories, now=now
    )
    appended = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SHARE_SENT,
        actor=actor,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "organisation": organisation,
            "kind": KIND,
            "sha256": digest,
            "entries": ledger_bundle.compact_ranges(built.seqs),
            "agreements": agreements,
        },
    )
    return Exported(built, data, digest, organisation, agreements, appended.seq)


@dataclass
class Contents:
    """What a collection holds for one caller, and the shares the export guard withheld."""

    objects: list[stix.StixObject] = field(default_factory=list)
    withheld: list[str] = field(default_factory=list)


def agreement_contents(
    session: Session, *, person: Person, agreement: Agreement, now: datetime
) -> Contents:
    """The STIX objects of the cyber incidents ``agreement`` shares with ``person``'s
    organisation that the access policy lets ``person`` read, at or below the agreement's
    ceiling and with the data categories both allow; shares the export guard blocks are left
    out and listed as withheld. An object several incidents carry appears once."""
    organisation = person.organisation.key
    terms = partners_service.terms_of(agreement)
    query = select(Incident).where(Incident.category.in_(sorted(stix.CYBER_CATEGORIES)))
    merged: dict[str, stix.StixObject] = {}
    result = Contents()
    for incident in session.scalars(query.order_by(Incident.id)).all():
        scope = partners_service.scope_of(incident)
        if not domain.covers(terms, organisation, scope, now.date()):
            continue
        if Tlp(incident.tlp).rank > terms.ceiling.rank:
            continue
        decision = guard.decide_for(
            session, person=person, action=Action.READ, now=now, incident=incident
        )
        if not decision.allowed:
            continue
        built = stix.build_bundle(
            source_of(session, incident),
            categories=shareable(decision.entitled & terms.data_categories),
            recipient=organisation,
        )
        verdict = partners_service.check_share(
            session,
            incident=incident,
            organisation=organisation,
            categories=built.categories,
            now=now,
        )
        if not verdict.allowed:
            result.withheld.append(reference(incident.id))
            continue
        for item in built.objects:
            merged[item.id] = _merge(merged.get(item.id), item)
    result.objects = sorted(merged.values(), key=lambda o: (o.added, o.id))
    return result


def _merge(known: stix.StixObject | None, item: stix.StixObject) -> stix.StixObject:
    """One object several incidents carry (identity, observables): the most restrictive label."""
    if known is None:
        return item
    # Versioned objects: the newer wins. Unversioned ones (observables) are one object.
    if "modified" in item.body and known.version != item.version:
        return max(known, item, key=lambda o: stix.parse_stamp(o.version))
    labels = [stix.label_of(o.body.get("object_marking_refs", ())) for o in (known, item)]
    ranks = [label.rank if label else -1 for label in labels]
    body = known.body if ranks[0] >= ranks[1] else item.body
    return stix.StixObject(body, min(known.added, item.added), known.seqs | item.seqs)


# Included by the partners router, under its /api/v1 prefix.
router = APIRouter(tags=["partners"], responses=ERROR_RESPONSES)


@router.get(
    "/incidents/{ref}/stix",
    summary="Export as STIX 2.1",
    response_class=Response,
    responses={
        200: {"content": {stix.STIX_MEDIA_TYPE: {}}, "description": "A STIX 2.1 bundle."},
        451: {"description": "The export guard blocks this share; `details.findings` say why."},
    },
)
def export_stix(
    ref: str,
    caller: Reads,
    organisation: str | None = Query(
        None,
        alias="for",
        description="The organisation the bundle is for (default: your own). Members of the "
        "incident's organisations may name a partner; the share is then ledgered.",
        max_length=64,
    ),
) -> Response:
    """A cyber incident as a STIX 2.1 bundle marked with its TLP 2.0 label: what the recipient
    may see under its agreements, as the export guard lets it go."""
    incident = caller.target
    mine = caller.person.organisation.key
    recipient = organisation or mine
    own_side = mine in partners_service.scope_of(incident).organisations
    if recipient != mine and not own_side:
        raise PermissionDenied(
            "only the incident's own organisations export it for another organisation",
            field="for",
        )
    exported = export(
        caller.session,
        clock=caller.clock,
        incident=incident,
        organisation=recipient,
        actor=caller.person.key,
        decision=caller.decision if recipient == mine else None,
    )
    return Response(
        content=exported.data,
        media_type=stix.STIX_MEDIA_TYPE,
        headers={
            "Content-Disposition": f'attachment; filename="{exported.filename}"',
            "X-Content-SHA256": exported.sha256,
        },
    )
