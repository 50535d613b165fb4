"""Validate and publish playbooks; look them up for incidents."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from importlib import resources
from typing import Any

from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.documents import load_yaml_mapping, problems_error, validate_document
from coherence.errors import NotFound
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType, canonical_json
from coherence.playbooks import repository
from coherence.playbooks.domain import ClassificationScheme, standard_scheme
from coherence.playbooks.models import PlaybookVersion
from coherence.playbooks.schemas import PlaybookDocument


def validate(data: dict[str, Any], *, source: str) -> PlaybookDocument:
    """Check a playbook against the schema and the classification scheme, listing every problem."""
    document = validate_document(PlaybookDocument, data, source=source)
    problems = scheme_problems(document, standard_scheme())
    if problems:
        raise problems_error(source, problems)
    return document


def scheme_problems(doc: PlaybookDocument, scheme: ClassificationScheme) -> list[dict[str, str]]:
    """List the places where ``doc`` names a category or level the scheme does not have."""
    problems = []

    def need(path: str, value: str | None, allowed: Sequence[str], what: str) -> None:
        if value is not None and value not in allowed:
            problems.append(
                {
                    "path": path,
                    "message": f"unknown {what} {value!r}; use one of {', '.join(allowed)}",
                }
            )

    need("category", doc.category, list(scheme.categories), "category")
    need("impact", doc.impact, list(scheme.impacts), "impact")
    need("urgency", doc.urgency, list(scheme.urgencies), "urgency")
    for i, trigger in enumerate(doc.triggers):
        need(f"triggers[{i}].impact", trigger.impact, list(scheme.impacts), "impact")
        need(f"triggers[{i}].urgency", trigger.urgency, list(scheme.urgencies), "urgency")
    for i, rule in enumerate(doc.notify):
        need(f"notify[{i}].min_severity", rule.min_severity, list(scheme.severities), "severity")
    return problems


def document_data(document: PlaybookDocument) -> dict[str, Any]:
    """Return the playbook as stored: JSON form, without an unset review interval."""
    data = document.model_dump(mode="json")
    # Left out when unset, so playbooks written before the field existed keep their hashes.
    if data.get("review_interval_days") is None:
        data.pop("review_interval_days", None)
    return data


def content_hash(document: PlaybookDocument) -> str:
    """Return the SHA-256 of the playbook's canonical JSON form."""
    return hashlib.sha256(canonical_json(document_data(document))).hexdigest()


def publish(
    session: Session,
    *,
    clock: Clock,
    data: dict[str, Any],
    actor: str,
    source: str,
    finding: str | None = None,
) -> tuple[PlaybookVersion, bool]:
    """Store ``data`` as the next version of its playbook unless it is unchanged.

    Returns the version now current and whether a new one was created. ``finding`` names
    the after-action review finding whose approved change this version is.
    """
    document = validate(data, source=source)
    digest = content_hash(document)
    current = repository.latest(session, document.key)
    if current is not None and current.content_hash == digest:
        return current, False
    row = PlaybookVersion(
        key=document.key,
        version=(current.version + 1) if current else 1,
        title=document.title,
        category=document.category,
        content_hash=digest,
        document=document_data(document),
        published_at=clock.now(),
        published_by=actor,
        finding=finding,
    )
    session.add(row)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.PLAYBOOK_PUBLISHED,
        actor=actor,
        subject=f"playbook:{row.key}",
        payload={
            "key": row.key,
            "version": row.version,
            "content_hash": digest,
            "source": source,
            **({"finding": finding} if finding else {}),
        },
    )
    return row, True


def library_sources() -> list[tuple[str, str]]:
    """Return (name, YAML text) for every playbook that ships with Coherence."""
    folder = resources.files("coherence.playbooks").joinpath("library")
    entries = sorted(
        (e for e in folder.iterdir() if e.name.endswith(".yaml")), key=lambda e: e.name
    )
    return [(f"library/{entry.name}", entry.read_text()) for entry in entries]


def publish_library(
    session: Session, *, clock: Clock, actor: str
) -> list[tuple[PlaybookVersion, bool]]:
    """Publish each shipped playbook whose text was never published before.

    A shipped version already stored at any point is skipped, so running `coherence init`
    again never undoes a facility's own edit of a shipped playbook.
    """
    results = []
    for name, text in library_sources():
        document = validate(load_yaml_mapping(text, source=name), source=name)
        digest = content_hash(document)
        seen = [
            row for row in repository.history(session, document.key) if row.content_hash == digest
        ]
        if seen:
            current = repository.latest(session, document.key)
            assert current is not None
            results.append((current, False))
            continue
        results.append(
            publish(
                session,
                clock=clock,
                data=document.model_dump(mode="json"),
                actor=actor,
                source=name,
            )
        )
    return results


def get_latest_or_raise(session: Session, key: str) -> PlaybookVersion:
    """Return the newest version of ``key`` or raise NotFound naming the field."""
    row = repository.latest(session, key)
    if row is None:
        raise NotFound(
            f"no playbook with key {key!r}; see `coherence playbook list`", field="playbook"
        )
    return row


def get_version_or_raise(session: Session, key: str, version: int) -> PlaybookVersion:
    """Return one version of ``key`` or raise NotFound."""
    row = repository.version(session, key, version)
    if row is None:
        raise NotFound(f"playbook {key!r} has no version {version}", field="version")
    return row


def list_latest(session: Session) -> Sequence[PlaybookVersion]:
    """Return the newest version of every playbook."""
    return repository.all_latest(session)


def history(session: Session, key: str) -> Sequence[PlaybookVersion]:
    """Return every version of ``key``, oldest first."""
    return repository.history(session, key)


def document_of(row: PlaybookVersion) -> PlaybookDocument:
    """Return a stored version as a typed document."""
    return PlaybookDocument.model_validate(row.document)
