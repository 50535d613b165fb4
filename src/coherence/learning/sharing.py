"""Lessons shared with partners under agreements: signed packages out, verified packages in.

A lessons package is one JSON document, ``{"lessons": {...}, "signature": "<signed note>"}``.
Which lessons go to an organisation follows the same rules as share packages: an agreement in
force must cover the lesson (its origin, site, asset kind and category), the lesson's TLP label
must be within the agreement's ceiling (never AMBER+STRICT or RED), and text of a data category
the agreement does not share is redacted. Each lesson carries the leaf hash of its
``lesson:published`` ledger entry and an RFC 6962 inclusion proof against the signed
checkpoint the package holds; the entry's bytes stay home, since they name the publisher.
The signature is a C2SP signed note by the ledger's key over the format, the origin and
recipient organisations, and the SHA-256 of the package's canonical JSON.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy.orm import Session

from coherence.access.domain import AccessRole, DataCategory, Tlp
from coherence.access.policy import Action, IncidentFacts, Subject, decide
from coherence.catalog import service as catalog_service
from coherence.catalog.models import Organisation
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.incidents.domain import Status
from coherence.learning import lessons, repository
from coherence.learning.domain import LessonSource, lesson_reference
from coherence.learning.models import Lesson
from coherence.learning.schemas import LessonsImported
from coherence.ledger import checkpoints, merkle, note, tree
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType, canonical_json
from coherence.partners import domain as partners_domain
from coherence.partners import service as partners_service

FORMAT = "coherence-lessons-package/1"
KIND = "lessons"
LESSON_FIELDS = (
    "reference", "title", "summary", "lesson", "category", "asset_kind", "playbook", "tlp",
    "data_category", "published_at", "withheld", "seq", "leaf", "proof",
)  # fmt: skip
BODY_FIELDS = frozenset(
    {"format", "origin", "recipient", "agreements", "lessons", "checkpoint", "exported_at"}
)
MAX_LESSONS = 10_000
SHAREABLE = frozenset({Tlp.CLEAR.value, Tlp.GREEN.value, Tlp.AMBER.value})


def organisation_or_raise(session: Session, key: str) -> Organisation:
    """Return an organisation by key, or NotFound naming the field."""
    found = next((o for o in catalog_service.list_organisations(session) if o.key == key), None)
    if found is None:
        raise NotFound(f"no organisation {key!r}", field="organisation")
    return found


def party(organisation: Organisation) -> dict[str, Any]:
    """How a package names an organisation."""
    return {
        "organisation": organisation.key,
        "name": organisation.name,
        "country": organisation.country,
    }


def _b64(value: bytes) -> str:
    return base64.b64encode(value).decode()


def signed_text(body: dict[str, Any], kind: str) -> str:
    """The note text a package's signature covers."""
    digest = _b64(hashlib.sha256(canonical_json(body)).digest())
    who = f"{body['origin']['organisation']} {body['recipient']['organisation']}"
    return f"{kind}\n{who}\n{digest}\n"


def seal(body: dict[str, Any], key: str, signer_key: str) -> bytes:
    """The package file: the body and a signed note over its canonical JSON."""
    return canonical_json(
        {key: body, "signature": note.sign_note(signed_text(body, body["format"]), signer_key)}
    )


def _shared(
    lesson: Lesson, organisation: str, terms: list[partners_domain.Terms], now: datetime
) -> tuple[dict[str, Any], list[str]] | None:
    scope = partners_domain.IncidentScope(
        organisations=frozenset({lesson.origin_organisation}),
        site=lesson.site or "",
        asset_kind=lesson.asset_kind or "",
        category=lesson.category,
    )
    grant, keys = partners_domain.grant(terms, organisation, scope, now.date())
    if grant is None:
        return None
    decision = decide(
        Subject("", organisation, False, AccessRole.RESPONDER),
        Action.READ,
        IncidentFacts(scope.organisations, Status.CLOSED, Tlp(lesson.tlp), grant=grant),
    )
    if not decision.allowed:
        return None
    shown, withheld = lessons.visible(lesson, decision.entitled)
    record = {
        "reference": lesson_reference(lesson.id),
        **shown,
        "category": lesson.category,
        "asset_kind": lesson.asset_kind,
        "playbook": lesson.playbook,
        "tlp": lesson.tlp,
        "data_category": lesson.data_category,
        "published_at": lesson.published_at,
        "withheld": withheld,
    }
    return record, keys


def build(session: Session, *, organisation: str, now: datetime) -> dict[str, Any]:
    """The lessons package body for ``organisation``: what its agreements let it have."""
    recipient = organisation_or_raise(session, organisation)
    terms = [partners_service.terms_of(a) for a in partners_service.list_agreements(session)]
    records: list[dict[str, Any]] = []
    used: set[str] = set()
    origins: set[str] = set()
    for lesson in lessons.shareable(session):
        found = _shared(lesson, organisation, terms, now)
        if found is None or lesson.ledger_seq is None:
            continue
        record, keys = found
        record["seq"] = lesson.ledger_seq
        records.append(record)
        used.update(keys)
        origins.add(lesson.origin_organisation)
    if not records:
        raise NotFound(
            f"no lesson may go to {organisation}: no agreement in force covers any lesson for "
            "it, or their labels are above its ceiling",
            field="organisation",
        )
    if len(origins) > 1:
        raise Conflict(
            f"the lessons for {organisation} come from {', '.join(sorted(origins))}; a package "
            "carries one origin's lessons",
            field="organisation",
        )
    checkpoint = checkpoints.latest(session)
    last = max(r["seq"] for r in records)
    if checkpoint is None or checkpoint.size <= last:
        raise Conflict(
            f"no signed checkpoint covers ledger entry {last} yet; the server signs one every "
            "second: export again in a moment",
            field="checkpoint",
        )
    for record in records:
        record["leaf"] = _b64(_leaf(session, record["seq"]))
        record["proof"] = [_b64(h) for h in tree.inclusion(session, record["seq"], checkpoint.size)]
    records.sort(key=lambda r: r["seq"])
    agreements = [partners_service.get_agreement_or_raise(session, k) for k in sorted(used)]
    body = {
        "format": FORMAT,
        "origin": party(organisation_or_raise(session, origins.pop())),
        "recipient": party(recipient),
        "agreements": [
            {"key": a.key, "title": a.title, "legal_basis": a.legal_basis, "ceiling": a.ceiling}
            for a in agreements
        ],
        "lessons": records,
        "checkpoint": checkpoint.note,
        "exported_at": now,
    }
    parsed: dict[str, Any] = orjson.loads(canonical_json(body))
    return parsed


def _leaf(session: Session, seq: int) -> bytes:
    rows = ledger_service.list_entries(session, after_seq=seq - 1, limit=1)
    row = rows[0]
    content = ledger_service.content_of(row)
    leaf = row.leaf_hash or (merkle.leaf_hash(content) if content else None)
    if leaf is None:
        raise Conflict(f"entry {seq} is purged and has no recorded leaf", field="seq")
    return bytes(leaf)


@dataclass(frozen=True)
class Exported:
    """One exported package and what the ledger records of it."""

    data: bytes
    sha256: str
    organisation: str
    lessons: list[str]
    withheld: int
    seq: int

    @property
    def filename(self) -> str:
        """A file name for the package."""
        return f"lessons-{self.organisation}.json"


def export(
    session: Session, *, clock: Clock, organisation: str, signer_key: str, actor: str
) -> Exported:
    """Build, sign and ledger (``share:sent``, kind lessons) a lessons package."""
    body = build(session, organisation=organisation, now=clock.now())
    data = seal(body, KIND, signer_key)
    digest = hashlib.sha256(data).hexdigest()
    refs = [r["reference"] for r in body["lessons"]]
    entry = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SHARE_SENT,
        actor=actor,
        subject=f"lessons:{organisation}",
        payload={
            "organisation": organisation,
            "kind": KIND,
            "sha256": digest,
            "lessons": refs,
            "agreements": [a["key"] for a in body["agreements"]],
        },
    )
    withheld = sum(1 for r in body["lessons"] if r["withheld"])
    return Exported(data, digest, organisation, refs, withheld, entry.seq)


def verify(data: bytes, verifier_key: str) -> tuple[dict[str, Any], note.Checkpoint]:
    """Check a lessons package offline; raise ValidationFailed naming the first problem."""
    try:
        document = orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        raise ValidationFailed(
            f"not a lessons package: not JSON ({exc})", field="package"
        ) from None
    if not isinstance(document, dict) or set(document) != {KIND, "signature"}:
        raise ValidationFailed(
            "not a lessons package: expected lessons and signature", field="package"
        )
    body = document[KIND]
    if not isinstance(body, dict) or body.get("format") != FORMAT:
        raise ValidationFailed(f"not a {FORMAT} package", field="package")
    missing = sorted(BODY_FIELDS - set(body))
    if missing or set(body) - BODY_FIELDS:
        raise ValidationFailed(f"package fields wrong: missing {missing}", field="package")
    lessons_list = body["lessons"]
    if not isinstance(lessons_list, list) or len(lessons_list) > MAX_LESSONS:
        raise ValidationFailed("package.lessons is not a list of lessons", field="package")
    try:
        checkpoint = note.parse_checkpoint(note.open_note(body["checkpoint"], [verifier_key]))
        text = note.open_note(document["signature"], [verifier_key])
    except (note.NoteError, TypeError, AttributeError) as exc:
        raise ValidationFailed(
            f"the package is not signed by this key: {exc}", field="signature"
        ) from None
    try:
        signed = signed_text(body, FORMAT)
    except (KeyError, TypeError) as exc:
        raise ValidationFailed(f"malformed package: {exc}", field="package") from None
    if text != signed:
        raise ValidationFailed("the package was changed after it was signed", field="signature")
    for index, record in enumerate(lessons_list):
        _check_lesson(index, record, checkpoint)
    return body, checkpoint


def _check_lesson(index: int, record: Any, checkpoint: note.Checkpoint) -> None:
    where = f"lessons[{index}]"
    if not isinstance(record, dict) or set(record) != set(LESSON_FIELDS):
        raise ValidationFailed(f"{where} does not have the fields of a lesson", field="package")
    try:
        leaf = base64.b64decode(record["leaf"], validate=True)
        proof = [base64.b64decode(h, validate=True) for h in record["proof"]]
        seq = int(record["seq"])
    except (binascii.Error, TypeError, ValueError) as exc:
        raise ValidationFailed(f"{where} has a malformed proof: {exc}", field="package") from None
    if not 0 <= seq < checkpoint.size or not merkle.verify_inclusion(
        leaf, seq, checkpoint.size, proof, checkpoint.root
    ):
        raise ValidationFailed(
            f"{where}'s inclusion proof does not reach the checkpoint's root", field="package"
        )
    for name in ("reference", "title", "summary", "lesson", "category", "tlp", "data_category"):
        if not isinstance(record[name], str) or not record[name] or len(record[name]) > 5_000:
            raise ValidationFailed(f"{where}.{name} is missing or too long", field="package")
    if len(record["reference"]) > 32:
        raise ValidationFailed(f"{where}.reference is longer than 32 characters", field="package")
    for name in ("asset_kind", "playbook"):
        if record[name] is not None and not isinstance(record[name], str):
            raise ValidationFailed(f"{where}.{name} is not text", field="package")
    if record["tlp"] not in SHAREABLE or record["data_category"] not in set(DataCategory):
        raise ValidationFailed(
            f"{where} has an unknown data category or a label that is never shared",
            field="package",
        )


def import_package(
    session: Session, *, clock: Clock, data: bytes, verifier_key: str, actor: str
) -> LessonsImported:
    """Verify a partner's lessons package and add the lessons not held yet, marked as theirs."""
    body, _checkpoint = verify(data, verifier_key)
    origin = str(body["origin"]["organisation"])
    recipient = str(body["recipient"]["organisation"])
    organisation_or_raise(session, origin)
    now = clock.now()
    terms = [partners_service.terms_of(a) for a in partners_service.list_agreements(session)]
    if not any(
        partners_domain.in_force(t, now.date()) and {origin, recipient} <= t.parties for t in terms
    ):
        raise ValidationFailed(
            f"no agreement in force between {origin} and {recipient}; load it first "
            "(`coherence agreement load`)",
            field="organisation",
        )
    digest = hashlib.sha256(data).hexdigest()
    added, skipped = [], []
    for record in body["lessons"]:
        reference = record["reference"]
        if repository.imported(session, origin, reference) is not None:
            skipped.append(reference)
            continue
        row = Lesson(
            source=LessonSource.IMPORTED.value,
            title=record["title"][:200],
            summary=record["summary"],
            lesson=record["lesson"],
            category=record["category"][:64],
            asset_kind=(record["asset_kind"] or None) and record["asset_kind"][:64],
            playbook=(record["playbook"] or None) and record["playbook"][:64],
            tlp=record["tlp"],
            data_category=record["data_category"],
            origin_organisation=origin,
            origin_reference=reference[:32],
            package_sha256=digest,
            published_at=now,
        )
        session.add(row)
        session.flush()
        added.append(row)
    entry = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.LESSONS_IMPORTED,
        actor=actor,
        subject=f"lessons:{origin}",
        payload={
            "organisation": origin,
            "sha256": digest,
            "lessons": [lesson_reference(r.id) for r in added],
            "skipped": skipped,
        },
    )
    for row in added:
        row.ledger_seq = entry.seq
    session.flush()
    return LessonsImported(
        organisation=origin,
        sha256=digest,
        imported=[lesson_reference(r.id) for r in added],
        skipped=skipped,
    )
