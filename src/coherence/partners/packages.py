"""Share packages: a partner's signed, provable view of one incident, and its offline check.

A package is one JSON document, ``{"package": {...}, "signature": "<signed note>"}``. The
package holds the incident's summary, roles, tasks and ledger entries as the recipient
organisation may read them under its agreements, the TLP label, the agreements, the export
guard's verdict and the latest signed checkpoint. Each entry carries its recorded leaf hash and
an RFC 6962 inclusion proof against that checkpoint; an entry the recipient may read whole
also carries its canonical bytes, and one with anything redacted is ``withheld``: only its
redacted view travels, and its leaf still proves it is in the log.

The signature is a C2SP signed note by the ledger's key over three lines: the format, the
incident reference and recipient, and the base64 SHA-256 of the package's canonical JSON
(sorted keys, no whitespace). Its first line can never parse as a checkpoint, so one key
signing both cannot be confused. Checking needs only the file and the log's verifier key.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from coherence.access.domain import AccessRole, DataCategory, Tlp
from coherence.access.policy import Action, Decision, IncidentFacts, Subject, decide
from coherence.access.redaction import Redactions, payload_categories, redact_payload
from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, PermissionDenied
from coherence.incidents import views as incident_views
from coherence.incidents.domain import Status, reference
from coherence.incidents.models import Incident
from coherence.ledger import bundle, checkpoints, merkle, note, tree
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType, canonical_json
from coherence.ledger.models import LedgerEntry
from coherence.partners import domain
from coherence.partners import service as partners_service

FORMAT = "coherence-share-package/1"
KIND = "package"
SUMMARY_FIELDS = (
    "id", "reference", "title", "summary", "kind", "status", "category", "severity", "impact",
    "urgency", "asset", "site", "playbook", "occurred_at", "detected_at", "acknowledged_at",
    "contained_at", "recovering_at", "resolved_at", "closed_at",
)  # fmt: skip
PACKAGE_FIELDS = frozenset(
    {
        "format", "incident", "tlp", "recipient", "agreements", "categories", "export_guard",
        "roles", "tasks", "entries", "checkpoint", "exported_at", "exported_by",
    }
)  # fmt: skip
ENTRY_FIELDS = frozenset({"seq", "leaf", "proof", "withheld", "view"})
VIEW_FIELDS = ("type", "recorded_at", "actor", "subject", "payload")
_PAGE = 1000


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def view_of(entry: dict[str, Any]) -> dict[str, Any]:
    """Return the readable view of a decoded entry: what happened, when, by whom."""
    return {name: entry[name] for name in VIEW_FIELDS}


def entry_record(
    *,
    stored: bytes,
    content: bytes | None,
    leaf: bytes,
    entitled: frozenset[DataCategory],
) -> tuple[dict[str, Any], frozenset[DataCategory]]:
    """Return an entry as a recipient entitled to ``entitled`` gets it, and the categories shown.

    ``stored`` is the entry as stored now (its payload purged under retention, if it was);
    ``content`` is its canonical bytes, None once purged. The proof is added later.
    """
    decoded = orjson.loads(stored)
    view = view_of(decoded)
    sensitive = payload_categories(view["type"], view["payload"])
    found = Redactions([], set())
    view["payload"] = redact_payload(
        view["type"], view["payload"], entitled, found, f"seq{decoded['seq']}"
    )
    record: dict[str, Any] = {
        "seq": decoded["seq"],
        "leaf": _b64(leaf),
        "proof": [],
        "withheld": bool(found) or content is None,
        "view": view,
    }
    if not record["withheld"] and content is not None:
        record["bytes"] = _b64(content)
    return record, frozenset(c for c in sensitive.values() if c in entitled)


def why_not_shared(
    agreements: Iterable[domain.Terms],
    organisation: str,
    scope: domain.IncidentScope,
    today: date,
) -> str:
    """Say why no agreement shares the incident with ``organisation``, agreement by agreement."""
    reasons = []
    for terms in agreements:
        if organisation not in terms.parties:
            continue
        if today > terms.valid_until:
            reasons.append(f"{terms.key} expired on {terms.valid_until.isoformat()}")
        elif today < terms.valid_from:
            reasons.append(f"{terms.key} starts on {terms.valid_from.isoformat()}")
        elif not terms.parties & scope.organisations:
            reasons.append(f"{terms.key} is not with the incident's organisations")
        else:
            reasons.append(f"the incident is outside the scope of {terms.key}")
    found = "; ".join(reasons) or f"{organisation} is party to no agreement"
    return f"no agreement in force shares this incident with {organisation}: {found}"


def signed_text(body: dict[str, Any]) -> str:
    """Return the note text a package's signature covers."""
    digest = _b64(hashlib.sha256(canonical_json(body)).digest())
    who = f"{body['incident']['reference']} {body['recipient']['organisation']}"
    return f"{FORMAT}\n{who}\n{digest}\n"


def seal(body: dict[str, Any], signer_key: str) -> bytes:
    """Return the package file: the body and a signed note over its canonical JSON."""
    return canonical_json(
        {"package": body, "signature": note.sign_note(signed_text(body), signer_key)}
    )


@dataclass(frozen=True)
class Exported:
    """One exported package: its bytes and what the ledger records about it."""

    data: bytes
    sha256: str
    incident: str
    organisation: str
    entries: int
    withheld: int
    agreements: list[str]
    categories: list[str]
    seq: int

    @property
    def filename(self) -> str:
        """A file name for the package."""
        return f"{self.incident}-{self.organisation}.package.json"


def recipient_decision(
    session: Session, *, incident: Incident, organisation: str, now: datetime
) -> tuple[Decision, list[str]]:
    """What a responder of ``organisation`` with no role may read of ``incident``, and under which
    agreements; raise NotFound when none is in force and covers it, PermissionDenied if the label
    keeps it from the organisation."""
    recipient = next(
        (o for o in catalog_service.list_organisations(session) if o.key == organisation), None
    )
    if recipient is None:
        raise NotFound(f"no organisation {organisation!r}", field="organisation")
    scope = partners_service.scope_of(incident)
    if organisation in scope.organisations:
        raise NotFound(
            f"{organisation} is one of the incident's own organisations; share packages are "
            "for partners",
            field="organisation",
        )
    covering = partners_service.covering(
        session, organisation=organisation, incident=incident, now=now
    )
    grant = partners_service.grant_for(
        session, organisation=organisation, incident=incident, now=now
    )
    if not covering or grant is None:
        terms = [partners_service.terms_of(a) for a in partners_service.list_agreements(session)]
        raise NotFound(why_not_shared(terms, organisation, scope, now.date()), field="organisation")
    decision = decide(
        Subject("", organisation, False, AccessRole.RESPONDER),
        Action.READ,
        IncidentFacts(
            organisations=scope.organisations,
            phase=Status(incident.status),
            tlp=Tlp(incident.tlp),
            grant=grant,
        ),
    )
    if not decision.allowed:
        raise PermissionDenied(decision.reason, action=Action.READ.value)
    return decision, [a.key for a in covering]


def _incident_entries(session: Session, incident_id: int) -> list[LedgerEntry]:
    rows: list[LedgerEntry] = []
    while True:
        page = ledger_service.list_entries(
            session, incident_id=incident_id, after_seq=rows[-1].seq if rows else -1, limit=_PAGE
        )
        rows.extend(page)
        if len(page) < _PAGE:
            return rows


def build(
    session: Session, *, incident: Incident, organisation: str, now: datetime, actor: str
) -> dict[str, Any]:
    """Return the package body for ``organisation``: refuse (404, 403, 451, 409) with reasons."""
    decision, agreement_keys = recipient_decision(
        session, incident=incident, organisation=organisation, now=now
    )
    entitled = decision.entitled
    rows = _incident_entries(session, incident.id)
    records = []
    shown: set[DataCategory] = {DataCategory.OPERATIONAL}
    for row in rows:
        content = ledger_service.content_of(row)
        leaf = row.leaf_hash or (merkle.leaf_hash(content) if content else None)
        if leaf is None:
            raise Conflict(f"entry {row.seq} is purged and has no recorded leaf", field="seq")
        record, categories = entry_record(
            stored=ledger_service.bytes_of(row),
            content=content,
            leaf=bytes(leaf),
            entitled=entitled,
        )
        records.append(record)
        shown |= categories
    verdict = partners_service.require_share(
        session,
        incident=incident,
        organisation=organisation,
        categories=frozenset(shown),
        now=now,
    )
    checkpoint = checkpoints.latest(session)
    last = rows[-1].seq if rows else -1
    if checkpoint is None or checkpoint.size <= last:
        signed = f"the latest covers entries up to {checkpoint.size - 1}" if checkpoint else "none"
        raise Conflict(
            f"no signed checkpoint covers {reference(incident.id)}'s entries up to {last} yet "
            f"({signed}); the server signs one every second: export again in a moment",
            field="checkpoint",
        )
    for record in records:
        record["proof"] = [_b64(h) for h in tree.inclusion(session, record["seq"], checkpoint.size)]
    summary = incident_views.incident_read(incident).model_dump(mode="json")
    recipient = next(
        o for o in catalog_service.list_organisations(session) if o.key == organisation
    )
    agreements = [partners_service.get_agreement_or_raise(session, k) for k in agreement_keys]
    body = {
        "format": FORMAT,
        "incident": {name: summary[name] for name in SUMMARY_FIELDS},
        "tlp": incident.tlp,
        "recipient": {
            "organisation": recipient.key,
            "name": recipient.name,
            "country": recipient.country,
        },
        "agreements": [
            {
                "key": a.key,
                "title": a.title,
                "legal_basis": a.legal_basis,
                "jurisdiction": a.jurisdiction,
                "ceiling": a.ceiling,
                "data_categories": sorted(a.data_categories),
                "valid_until": a.valid_until,
            }
            for a in agreements
        ],
        "categories": sorted(c.value for c in entitled),
        "export_guard": {"findings": verdict.findings, "override": verdict.override},
        "roles": summary["roles"],
        "tasks": [
            incident_views.task_read(t).model_dump(mode="json", exclude={"id"})
            for t in incident.tasks
        ],
        "entries": records,
        "checkpoint": checkpoint.note,
        "exported_at": now,
        "exported_by": actor,
    }
    # Round-trip so the body is exactly what a verifier parses back out of the file.
    parsed: dict[str, Any] = orjson.loads(canonical_json(body))
    return parsed


def export(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    organisation: str,
    signer_key: str,
    actor: str,
) -> Exported:
    """Build, sign and ledger (``share:sent``, with the file's SHA-256) one share package."""
    body = build(
        session, incident=incident, organisation=organisation, now=clock.now(), actor=actor
    )
    data = seal(body, signer_key)
    digest = hashlib.sha256(data).hexdigest()
    entries = body["entries"]
    agreements = [a["key"] for a in body["agreements"]]
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
            "entries": bundle.compact_ranges(e["seq"] for e in entries),
            "agreements": agreements,
        },
    )
    return Exported(
        data=data,
        sha256=digest,
        incident=body["incident"]["reference"],
        organisation=organisation,
        entries=len(entries),
        withheld=sum(1 for e in entries if e["withheld"]),
        agreements=agreements,
        categories=list(body["categories"]),
        seq=appended.seq,
    )


@dataclass
class Verdict:
    """What checking a package found: ``ok``, or the first problem (and entry) found."""

    ok: bool
    problem: str = ""
    incident: str = ""
    organisation: str = ""
    tlp: str = ""
    origin: str = ""
    checkpoint_size: int = 0
    entries: int = 0
    withheld: int = 0
    first_bad_seq: int | None = None


def verify(data: bytes, verifier_key: str) -> Verdict:
    """Check a package offline against the log's verifier key; never raises on a bad package.

    In order: its shape, the checkpoint's signature, each entry (bytes to leaf, bytes to view,
    leaf to the checkpoint's root), then the package signature over everything else.
    """
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        return Verdict(False, problem=f"not a share package: not JSON ({exc})")
    problem = _shape(document)
    if problem:
        return Verdict(False, problem=problem)
    body = document["package"]
    try:
        return _verify(body, document["signature"], verifier_key)
    except (AttributeError, KeyError, TypeError, ValueError, binascii.Error) as exc:
        return Verdict(False, problem=f"malformed package: {type(exc).__name__}: {exc}")


def _shape(document: Any) -> str:
    """Name the first missing, unexpected or misplaced field; empty if the layout is right."""
    if not isinstance(document, dict) or set(document) != {"package", "signature"}:
        return "not a share package: expected an object with package and signature"
    body = document["package"]
    if not isinstance(body, dict):
        return "package is not an object"
    if body.get("format") != FORMAT:
        return f"not a {FORMAT} package (format {body.get('format')!r})"
    problem = _fields("package", body, PACKAGE_FIELDS)
    if problem or not isinstance(body["entries"], list):
        return problem or "package.entries is not a list"
    for index, record in enumerate(body["entries"]):
        where = f"package.entries[{index}]"
        if not isinstance(record, dict):
            return f"{where} is not an object"
        withheld = record.get("withheld")
        if not isinstance(withheld, bool):
            return f"{where}.withheld is missing or not true/false"
        if withheld and "bytes" in record:
            return f"{where} is withheld but carries bytes"
        expected = ENTRY_FIELDS if withheld else ENTRY_FIELDS | {"bytes"}
        problem = _fields(where, record, expected)
        if problem:
            return problem
        if not isinstance(record["view"], dict):
            return f"{where}.view is not an object"
        problem = _fields(f"{where}.view", record["view"], frozenset(VIEW_FIELDS))
        if problem:
            return problem
    return ""


def _fields(where: str, found: dict[str, Any], expected: frozenset[str]) -> str:
    missing = sorted(expected - set(found))
    if missing:
        return f"{where}.{missing[0]} is missing"
    unexpected = sorted(set(found) - expected)
    if unexpected:
        return f"{where}.{unexpected[0]} is not a field of a {FORMAT} package"
    return ""


def _verify(body: dict[str, Any], signature: str, verifier_key: str) -> Verdict:
    verdict = Verdict(
        False,
        incident=str(body["incident"]["reference"]),
        organisation=str(body["recipient"]["organisation"]),
        tlp=str(body["tlp"]),
    )
    try:
        checkpoint = note.parse_checkpoint(note.open_note(body["checkpoint"], [verifier_key]))
    except note.NoteError as exc:
        verdict.problem = (
            f"the checkpoint is not signed by this key (forged, or another log's): {exc}"
        )
        return verdict
    verdict.origin, verdict.checkpoint_size = checkpoint.origin, checkpoint.size
    problem, seq = _check_entries(body, checkpoint)
    if problem:
        verdict.problem, verdict.first_bad_seq = problem, seq
        return verdict
    try:
        text = note.open_note(signature, [verifier_key])
    except note.NoteError as exc:
        verdict.problem = f"the package signature does not verify: {exc}"
        return verdict
    if text != signed_text(body):
        verdict.problem = (
            "the package signature is over other content: the package was changed after it "
            "was signed"
        )
        return verdict
    verdict.entries = len(body["entries"])
    verdict.withheld = sum(1 for e in body["entries"] if e["withheld"])
    verdict.ok = True
    return verdict


def _check_entries(body: dict[str, Any], checkpoint: note.Checkpoint) -> tuple[str, int | None]:
    """The first entry that does not prove against the checkpoint, and why."""
    incident_id = body["incident"]["id"]
    previous = -1
    for record in body["entries"]:
        seq = record["seq"]
        if type(seq) is not int or seq <= previous:
            return f"entry {seq} follows entry {previous}: entries reordered or repeated", seq
        previous = seq
        if seq >= checkpoint.size:
            return f"entry {seq} is beyond the checkpoint (size {checkpoint.size})", seq
        leaf = _hash(record["leaf"])
        if not record["withheld"]:
            raw = base64.b64decode(record["bytes"], validate=True)
            if merkle.leaf_hash(raw) != leaf:
                return f"entry {seq}'s bytes do not hash to its leaf: the entry was changed", seq
            decoded = orjson.loads(raw)
            if decoded.get("seq") != seq or decoded.get("incident_id") != incident_id:
                return (
                    f"entry {seq}'s bytes are entry {decoded.get('seq')} of incident "
                    f"{decoded.get('incident_id')}, not entry {seq} of this incident",
                    seq,
                )
            if view_of(decoded) != record["view"]:
                return f"entry {seq}'s view does not match its bytes: the view was changed", seq
        proof = [_hash(h) for h in record["proof"]]
        if not merkle.verify_inclusion(leaf, seq, checkpoint.size, proof, checkpoint.root):
            return (
                f"entry {seq}'s inclusion proof does not reach the checkpoint's root "
                f"(size {checkpoint.size}): the leaf or its proof was changed",
                seq,
            )
    return "", None


def _hash(text: str) -> bytes:
    value = base64.b64decode(text, validate=True)
    if len(value) != merkle.HASH_SIZE:
        raise ValueError(f"a hash must be {merkle.HASH_SIZE} bytes")
    return value
