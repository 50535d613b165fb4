"""Partner readiness summaries: top risks, role coverage, latest exercises, shared in advance."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory
from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import CoherenceError, NotFound
from coherence.exercises import report as exercise_report
from coherence.exercises import service as exercises_service
from coherence.learning import domain
from coherence.learning.schemas import (
    ExerciseSummary,
    RiskSection,
    RoleCover,
    SummaryRead,
)
from coherence.learning.sharing import organisation_or_raise, party, seal
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.partners import domain as partners_domain
from coherence.partners import service as partners_service
from coherence.risk import domain as risk_domain
from coherence.risk import service as risk_service
from coherence.training import views as training_views

FORMAT = "coherence-readiness-summary/1"
KIND = "summary"
HORIZON_DAYS = 7


def scope_for(
    session: Session, *, organisation: str, now: datetime
) -> tuple[domain.SummaryScope, list[str], str]:
    """What the agreements in force with ``organisation`` let it see, which, and who shares."""
    recipient = organisation_or_raise(session, organisation)
    rows = [
        a
        for a in partners_service.list_agreements(session)
        if organisation in a.parties
        and partners_domain.in_force(partners_service.terms_of(a), now.date())
    ]
    if not rows:
        raise NotFound(
            f"no agreement in force with {recipient.key}; a summary is shared under one",
            field="organisation",
        )
    terms = [partners_service.terms_of(a) for a in rows]
    sites = (
        frozenset()
        if any(not t.sites for t in terms)
        else frozenset().union(*(t.sites for t in terms))
    )
    kinds = (
        frozenset()
        if any(not t.asset_kinds for t in terms)
        else frozenset().union(*(t.asset_kinds for t in terms))
    )
    entitled = frozenset().union(*(t.data_categories for t in terms)) - {
        DataCategory.EXPORT_CONTROLLED
    }
    ceiling = max((t.ceiling for t in terms), key=lambda label: label.rank)
    others = sorted({p for t in terms for p in t.parties} - {organisation})
    return domain.SummaryScope(sites, kinds, entitled, ceiling), [a.key for a in rows], others[0]


def _risks(session: Session) -> list[domain.RiskFact]:
    assets = {a.key: a for a in catalog_service.list_assets(session)}
    found = []
    for row in risk_service.list_risks(session, status=risk_domain.Status.OPEN.value):
        score = row.likelihood * row.impact
        held = [assets[k] for k in row.assets if k in assets]
        found.append(
            domain.RiskFact(
                key=row.key,
                score=score,
                band=risk_domain.band(score).name,
                category=row.category,
                asset_kinds=tuple(a.kind for a in held),
                sites=tuple(a.site.key for a in held),
                scenario=row.scenario,
                controls=tuple(row.controls),
            )
        )
    return found


def _roles(session: Session, now: datetime, scope: domain.SummaryScope | None) -> list[RoleCover]:
    try:
        read = training_views.build_readiness(session, now=now, days=HORIZON_DAYS)
    except CoherenceError:
        # No curriculum loaded: nothing says which roles are checked.
        return []
    return [
        RoleCover(
            site=r.site,
            role=r.role,
            status=r.status,
            shifts=r.shifts,
            gaps=r.gaps,
            fragile_shifts=r.fragile_shifts,
            min_depth=r.min_depth,
        )
        for r in read.roles
        if domain.in_scope(scope, sites=[r.site], kinds=[])
    ]


def _exercises(
    session: Session, clock: Clock, scope: domain.SummaryScope | None
) -> list[ExerciseSummary]:
    latest: dict[str, ExerciseSummary] = {}
    for row in exercises_service.list_exercises(session):
        if row.ended_at is None or row.playbook_key in latest:
            continue
        if not domain.in_scope(scope, sites=[row.site], kinds=[]):
            continue
        scores = exercise_report.build(session, clock=clock, ref=row.id).score.scores
        latest[row.playbook_key] = ExerciseSummary(
            playbook=row.playbook_key,
            title=row.title,
            site=row.site,
            ended_at=row.ended_at,
            scores=dict(scores),
        )
    return sorted(latest.values(), key=lambda e: e.playbook)


def build(session: Session, *, clock: Clock, organisation: str | None = None) -> SummaryRead:
    """The facility's summary: whole for its own staff, or as ``organisation`` may see it."""
    now = clock.now()
    scope: domain.SummaryScope | None = None
    agreements: list[str] = []
    origin = ""
    if organisation is not None:
        scope, agreements, origin = scope_for(session, organisation=organisation, now=now)
    section = domain.risk_section(_risks(session), scope)
    return SummaryRead(
        format=FORMAT,
        organisation=origin,
        recipient=organisation,
        agreements=agreements,
        tlp=domain.summary_label(scope).value,
        generated_at=now,
        risks=RiskSection.model_validate(section),
        roles=_roles(session, now, scope),
        exercises=_exercises(session, clock, scope),
    )


@dataclass(frozen=True)
class Exported:
    """One exported summary and the ledger entry recording it."""

    data: bytes
    sha256: str
    organisation: str
    seq: int

    @property
    def filename(self) -> str:
        """A file name for the summary."""
        return f"readiness-summary-{self.organisation}.json"


def export(
    session: Session, *, clock: Clock, organisation: str, signer_key: str, actor: str
) -> Exported:
    """Build, sign and ledger (``share:sent``, kind summary) the summary for ``organisation``."""
    read = build(session, clock=clock, organisation=organisation)
    body = {
        "format": FORMAT,
        "origin": party(organisation_or_raise(session, read.organisation)),
        "recipient": party(organisation_or_raise(session, organisation)),
        "summary": read.model_dump(mode="json"),
    }
    data = seal(body, KIND, signer_key)
    digest = hashlib.sha256(data).hexdigest()
    entry = ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SHARE_SENT,
        actor=actor,
        subject=f"summary:{organisation}",
        payload={
            "organisation": organisation,
            "kind": KIND,
            "sha256": digest,
            "agreements": read.agreements,
            "tlp": read.tlp,
        },
    )
    return Exported(data, digest, organisation, entry.seq)
