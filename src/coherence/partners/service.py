"""Agreements, what they share of an incident, the export guard and its overrides."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.access.domain import DataCategory, Tlp
from coherence.access.policy import SharingGrant
from coherence.catalog import service as catalog_service
from coherence.catalog.models import Organisation
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.errors import CoherenceError, NotFound, ValidationFailed
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.partners import domain
from coherence.partners.models import Agreement, ShareOverride

MIN_OVERRIDE_REASON = 10
# Who may let a blocked share through: the named approver role of the export guard.
OVERRIDE_CLEARANCE = "export_control"


class ShareBlocked(CoherenceError):
    """The export guard stops this share; the findings say why and what would fix it."""

    status_code = 451
    code = "share_blocked"


@dataclass(frozen=True)
class LoadReport:
    """What loading an agreements file changed."""

    created: list[str]
    updated: list[str]
    unchanged: list[str]


def load_agreements(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> LoadReport:
    """Validate a whole agreements document and upsert it by key; on any problem write nothing."""
    document = validate_document(domain.AgreementsDocument, data, source=source)
    known = {o.key for o in catalog_service.list_organisations(session)}
    problems = []
    for index, spec in enumerate(document.agreements):
        for party in spec.parties:
            if party not in known:
                problems.append(
                    {
                        "path": f"agreements[{index}].parties",
                        "message": f"unknown organisation {party!r}",
                    }
                )
        for person in spec.liaisons.values():
            if catalog_service.get_person(session, person) is None:
                problems.append(
                    {
                        "path": f"agreements[{index}].liaisons",
                        "message": f"unknown person {person!r}",
                    }
                )
    if problems:
        raise problems_error(source, problems)
    report = LoadReport([], [], [])
    for spec in document.agreements:
        values = _row_values(spec)
        row = session.scalars(select(Agreement).where(Agreement.key == spec.key)).one_or_none()
        if row is None:
            session.add(Agreement(key=spec.key, loaded_at=clock.now(), **values))
            report.created.append(spec.key)
        elif any(getattr(row, name) != value for name, value in values.items()):
            for name, value in values.items():
                setattr(row, name, value)
            row.loaded_at = clock.now()
            report.updated.append(spec.key)
        else:
            report.unchanged.append(spec.key)
    if report.created or report.updated:
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.AGREEMENTS_LOADED,
            actor=actor,
            subject=f"agreements:{source}",
            payload={"created": report.created, "updated": report.updated},
        )
    return report


def _row_values(spec: domain.AgreementSpec) -> dict[str, Any]:
    return {
        "title": spec.title,
        "parties": list(spec.parties),
        "scope": spec.scope.model_dump(mode="json"),
        "ceiling": spec.ceiling.value,
        "data_categories": [c.value for c in spec.data_categories],
        "legal_basis": spec.legal_basis,
        "jurisdiction": spec.jurisdiction,
        "valid_from": spec.valid_from,
        "valid_until": spec.valid_until,
        "transfer_bases": [b.value for b in spec.transfer_bases],
        "licences": [lic.model_dump(mode="json") for lic in spec.licences],
        "mutual_aid": [aid.model_dump(mode="json", by_alias=True) for aid in spec.mutual_aid],
        "liaisons": dict(spec.liaisons),
    }


def list_agreements(session: Session) -> Sequence[Agreement]:
    """Every agreement, by key."""
    return session.scalars(select(Agreement).order_by(Agreement.key)).all()


def get_agreement_or_raise(session: Session, key: str) -> Agreement:
    """Return one agreement, or raise NotFound."""
    row = session.scalars(select(Agreement).where(Agreement.key == key)).one_or_none()
    if row is None:
        raise NotFound(f"no agreement {key!r}; see `coherence agreement list`", field="agreement")
    return row


def terms_of(row: Agreement) -> domain.Terms:
    """Return the rules' view of a stored agreement."""
    scope = row.scope or {}
    return domain.Terms(
        key=row.key,
        parties=frozenset(row.parties),
        sites=frozenset(scope.get("sites", [])),
        asset_kinds=frozenset(scope.get("asset_kinds", [])),
        categories=frozenset(scope.get("categories", [])),
        ceiling=Tlp(row.ceiling),
        data_categories=frozenset(DataCategory(c) for c in row.data_categories),
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        transfer_bases=frozenset(row.transfer_bases),
        licences=frozenset((lic["eccn"], lic["country"]) for lic in row.licences),
    )


def scope_of(incident: Incident) -> domain.IncidentScope:
    """Return what decides whether an agreement covers an incident."""
    return domain.IncidentScope(
        organisations=frozenset({incident.site.organisation.key, incident.asset.owner.key}),
        site=incident.site.key,
        asset_kind=incident.asset.kind,
        category=incident.category,
    )


def grant_for(
    session: Session, *, organisation: str, incident: Incident, now: datetime
) -> SharingGrant | None:
    """Return what the agreements in force share of ``incident`` with ``organisation``."""
    found, _keys = domain.grant(
        (terms_of(a) for a in list_agreements(session)),
        organisation,
        scope_of(incident),
        now.date(),
    )
    return found


def covering(
    session: Session, *, organisation: str, incident: Incident, now: datetime
) -> list[Agreement]:
    """The agreements in force that share ``incident`` with ``organisation``."""
    scope = scope_of(incident)
    return [
        a
        for a in list_agreements(session)
        if domain.covers(terms_of(a), organisation, scope, now.date())
    ]


@dataclass(frozen=True)
class ShareCheck:
    """The export guard's verdict on one share."""

    allowed: bool
    findings: list[str]
    override: int | None = None


def check_share(
    session: Session,
    *,
    incident: Incident,
    organisation: str,
    categories: frozenset[DataCategory],
    now: datetime,
) -> ShareCheck:
    """Run the export guard for sharing ``categories`` of ``incident`` with ``organisation``."""
    recipient = _organisation_or_raise(session, organisation)
    agreements = covering(session, organisation=organisation, incident=incident, now=now)
    facts = domain.ShareFacts(
        recipient=organisation,
        recipient_country=recipient.country,
        operator_country=incident.site.organisation.country,
        categories=categories,
        asset=incident.asset.key,
        eccn=incident.asset.eccn,
        transfer_bases=frozenset(b for a in agreements for b in a.transfer_bases),
        licences=frozenset((lic["eccn"], lic["country"]) for a in agreements for lic in a.licences),
    )
    findings = domain.export_findings(facts)
    if not findings:
        return ShareCheck(True, [])
    override = _override_for(session, incident.id, organisation, findings)
    if override is not None:
        return ShareCheck(True, findings, override.id)
    return ShareCheck(False, findings)


def require_share(
    session: Session,
    *,
    incident: Incident,
    organisation: str,
    categories: frozenset[DataCategory],
    now: datetime,
) -> ShareCheck:
    """Return the guard's verdict if the share may go, else raise ShareBlocked (451)."""
    verdict = check_share(
        session, incident=incident, organisation=organisation, categories=categories, now=now
    )
    if not verdict.allowed:
        raise ShareBlocked(
            "the export guard blocks this share: " + "; ".join(verdict.findings),
            field="organisation",
            findings=verdict.findings,
            override=f"an {OVERRIDE_CLEARANCE} approver may override it with a reason",
        )
    return verdict


def override_share(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    organisation: str,
    categories: frozenset[DataCategory],
    reason: str,
    approver: str,
) -> ShareOverride:
    """Let a blocked share through: the approver needs the export_control clearance."""
    person = catalog_service.get_person_or_raise(session, approver, field="approver")
    if OVERRIDE_CLEARANCE not in (person.clearances or []):
        raise ValidationFailed(
            f"overriding the export guard needs the {OVERRIDE_CLEARANCE} clearance",
            field="approver",
        )
    if len(reason.strip()) < MIN_OVERRIDE_REASON:
        raise ValidationFailed(
            f"give the reason (at least {MIN_OVERRIDE_REASON} characters), e.g. the licence "
            "or basis it rests on",
            field="reason",
        )
    verdict = check_share(
        session,
        incident=incident,
        organisation=organisation,
        categories=categories,
        now=clock.now(),
    )
    if not verdict.findings:
        raise ValidationFailed(
            "nothing blocks this share; no override is needed", field="organisation"
        )
    row = ShareOverride(
        incident_id=incident.id,
        organisation=organisation,
        blocked=verdict.findings,
        reason=reason.strip(),
        approved_by=person.key,
        approved_at=clock.now(),
    )
    session.add(row)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SHARE_OVERRIDDEN,
        actor=person.key,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "override": row.id,
            "organisation": organisation,
            "blocked": verdict.findings,
            "reason": row.reason,
        },
    )
    return row


def _override_for(
    session: Session, incident_id: int, organisation: str, findings: list[str]
) -> ShareOverride | None:
    """An override that saw every one of these findings (new findings need a new override)."""
    rows = session.scalars(
        select(ShareOverride).where(
            ShareOverride.incident_id == incident_id, ShareOverride.organisation == organisation
        )
    ).all()
    return next((r for r in reversed(rows) if set(findings) <= set(r.blocked)), None)


def _organisation_or_raise(session: Session, key: str) -> Organisation:
    found = next((o for o in catalog_service.list_organisations(session) if o.key == key), None)
    if found is None:
        raise NotFound(f"no organisation {key!r}", field="organisation")
    return found
