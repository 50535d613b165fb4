"""The lessons library: findings published anonymised and labelled, searched, read redacted."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory, Tlp
from coherence.catalog import service as catalog_service
from coherence.catalog.models import Site
from coherence.clock import Clock
from coherence.errors import Conflict, NotFound
from coherence.incidents import service as incidents_service
from coherence.learning import domain, repository
from coherence.learning import service as near_misses
from coherence.learning.domain import LessonSource, lesson_reference
from coherence.learning.models import Lesson
from coherence.learning.schemas import LessonCreate
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.reviews import changes as review_changes
from coherence.reviews import service as reviews_service
from coherence.reviews.models import Finding


@dataclass(frozen=True)
class Source:
    """What a finding was about, as a lesson needs it."""

    finding: Finding
    kind: LessonSource
    category: str
    asset_kind: str | None
    playbook: str | None
    site: Site | None
    tlp: Tlp


def _source(session: Session, ref: str) -> Source:
    reviewed, number = domain.parse_finding(ref)
    if reviewed.upper().startswith("NM-"):
        row = near_misses.get_or_raise(session, reviewed)
        finding = near_misses.finding_or_raise(session, row.id, number)
        return Source(
            finding,
            LessonSource.NEAR_MISS,
            row.category,
            row.asset.kind if row.asset else None,
            None,
            row.site,
            Tlp(row.tlp),
        )
    incident = incidents_service.get_or_raise(session, reviewed)
    finding = reviews_service.get_finding_or_raise(session, incident.id, number)
    return Source(
        finding,
        LessonSource.INCIDENT,
        incident.category,
        incident.asset.kind,
        incident.playbook_key,
        incident.site,
        Tlp(incident.tlp),
    )


def source_incident_id(session: Session, ref: str) -> int | None:
    """The incident a finding reference is about (for the caller's access check), if any."""
    reviewed, _number = domain.parse_finding(ref)
    if reviewed.upper().startswith("NM-"):
        return None
    return incidents_service.get_or_raise(session, reviewed).id


def publish(session: Session, *, clock: Clock, request: LessonCreate, actor: str) -> Lesson:
    """Publish a finding as a lesson: its text anonymised, labelled, and ledgered."""
    source = _source(session, request.finding)
    if repository.lesson_for_finding(session, source.finding.id) is not None:
        raise Conflict(f"{request.finding} is already published as a lesson", field="finding")
    tlp = request.tlp or source.tlp
    domain.check_publishable(tlp)
    playbook = request.playbook or _changed_playbook(source.finding) or source.playbook
    if request.playbook is not None:
        playbooks_service.get_latest_or_raise(session, request.playbook)
    people = [(p.key, p.name) for p in catalog_service.list_people(session)]
    publisher = catalog_service.get_person(session, actor)
    origin = source.site.organisation.key if source.site is not None else None
    if origin is None:
        origin = publisher.organisation.key if publisher is not None else ""
    row = Lesson(
        finding_id=source.finding.id,
        source=source.kind.value,
        title=domain.anonymise(request.title or source.finding.title, people),
        summary=domain.anonymise(source.finding.what_happened, people),
        lesson=domain.anonymise(request.lesson, people),
        category=source.category,
        asset_kind=source.asset_kind,
        playbook=playbook,
        site=source.site.key if source.site is not None else None,
        tlp=tlp.value,
        data_category=request.data_category.value,
        origin_organisation=origin,
        published_at=clock.now(),
    )
    session.add(row)
    session.flush()
    entry = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.LESSON_PUBLISHED,
        actor=actor,
        subject=f"lesson:{lesson_reference(row.id)}",
        payload={
            "lesson": lesson_reference(row.id),
            "finding": review_changes.finding_ref(source.finding),
            "category": row.category,
            "asset_kind": row.asset_kind,
            "playbook": row.playbook,
            "tlp": row.tlp,
            "data_category": row.data_category,
        },
    )
    row.ledger_seq = entry.seq
    session.flush()
    return row


def _changed_playbook(finding: Finding) -> str | None:
    published = [c for c in finding.changes if c.published_version is not None]
    return published[-1].playbook_key if published else None


def get_or_raise(session: Session, ref: str) -> Lesson:
    """Return a lesson by reference, or NotFound."""
    row = session.get(Lesson, domain.parse_lesson(ref))
    if row is None:
        raise NotFound(f"no lesson {ref}; see `coherence lessons list`", field="lesson")
    return row


def search(
    session: Session,
    *,
    asset_kind: str | None = None,
    category: str | None = None,
    playbook: str | None = None,
    text: str | None = None,
    limit: int = 200,
) -> Sequence[Lesson]:
    """Lessons matching every filter given, newest first."""
    return repository.lessons(
        session,
        asset_kind=asset_kind,
        category=category,
        playbook=playbook,
        text=text,
        limit=limit,
    )


def shareable(session: Session) -> Sequence[Lesson]:
    """The facility's own lessons (never a partner's, which are theirs to share)."""
    return repository.lessons(session, local_only=True, limit=100_000)


def visible(row: Lesson, entitled: frozenset[DataCategory]) -> tuple[dict[str, str], list[str]]:
    """A lesson's text fields as a reader entitled to ``entitled`` sees them."""
    fields = {"title": row.title, "summary": row.summary, "lesson": row.lesson}
    shown, withheld = domain.redact_lesson(fields, DataCategory(row.data_category), entitled)
    return {k: str(v) for k, v in shown.items()}, withheld
