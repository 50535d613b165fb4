"""Watchful access as the API shows it: a record's access history and the findings."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field

from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.models import LedgerEntry
from coherence.watch.models import AccessEvent, AccessFinding
from coherence.watch.service import History


class AccessRead(BaseModel):
    """One read of the incident's data."""

    at: datetime
    person: str
    organisation: str
    tlp: str = Field(description="The label the read was decided under.")
    path: str = Field(description="What was read: the page or API path.")


class RedactionRead(BaseModel):
    """A read that was shown the incident's data with fields withheld."""

    at: datetime
    reader: str
    what: str
    categories: list[str]
    fields: int


class AccessHistory(BaseModel):
    """Who read an incident's data, under which label, and what was withheld from whom."""

    incident: str
    tlp: str
    reads: list[AccessRead]
    redactions: list[RedactionRead]


class FindingRead(BaseModel):
    """Unusual reading by one principal, and the incident it opened (if any)."""

    id: int
    person: str
    organisation: str
    rule: str
    detail: str
    records: int
    sensitive: int
    raised_at: datetime
    incident: str | None


def access_read(event: AccessEvent) -> AccessRead:
    """One recorded read."""
    return AccessRead(
        at=event.at,
        person=event.person,
        organisation=event.organisation,
        tlp=event.tlp,
        path=event.path,
    )


def redaction_read(entry: LedgerEntry) -> RedactionRead:
    """One redacting read, from its ledger entry."""
    payload = ledger_service.payload_of(entry)
    return RedactionRead(
        at=entry.recorded_at,
        reader=str(payload.get("reader", entry.actor)),
        what=str(payload.get("what", entry.subject)),
        categories=[str(c) for c in payload.get("categories", [])],
        fields=int(payload.get("count", 0)),
    )


def access_history(incident: Incident, found: History) -> AccessHistory:
    """An incident's access history."""
    return AccessHistory(
        incident=reference(incident.id),
        tlp=incident.tlp,
        reads=[access_read(e) for e in found.reads],
        redactions=[redaction_read(e) for e in found.redactions],
    )


def finding_read(row: AccessFinding) -> FindingRead:
    """One finding."""
    return FindingRead(
        id=row.id,
        person=row.person,
        organisation=row.organisation,
        rule=row.rule,
        detail=row.detail,
        records=row.records,
        sensitive=row.sensitive,
        raised_at=row.raised_at,
        incident=reference(row.incident_id) if row.incident_id is not None else None,
    )
