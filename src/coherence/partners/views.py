"""Read models for agreements, partners' view of an incident, overrides and periods."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy.orm import Session

from coherence.access.domain import AccessRole, Tlp
from coherence.access.policy import Action, IncidentFacts, Subject, decide
from coherence.catalog import service as catalog_service
from coherence.incidents.domain import Status, reference
from coherence.incidents.models import Incident
from coherence.partners import service
from coherence.partners.domain import in_force
from coherence.partners.models import Agreement, OperationalPeriod, ShareOverride
from coherence.partners.schemas import AgreementRead, OverrideRead, PartnerView, PeriodRead


def agreement_read(row: Agreement, *, today: date) -> AgreementRead:
    """Return an agreement's read model."""
    terms = service.terms_of(row)
    return AgreementRead(
        key=row.key,
        title=row.title,
        parties=list(row.parties),
        scope={name: list(values) for name, values in (row.scope or {}).items()},
        ceiling=terms.ceiling,
        data_categories=sorted(terms.data_categories),
        legal_basis=row.legal_basis,
        jurisdiction=row.jurisdiction,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        in_force=in_force(terms, today),
        transfer_bases=list(row.transfer_bases),
        licences=list(row.licences),
        mutual_aid=list(row.mutual_aid),
        liaisons=dict(row.liaisons),
    )


def partner_views(session: Session, incident: Incident, *, now: datetime) -> list[PartnerView]:
    """Each organisation an agreement in force shares ``incident`` with, and what it sees."""
    views = []
    for organisation in catalog_service.list_organisations(session):
        covering = service.covering(
            session, organisation=organisation.key, incident=incident, now=now
        )
        grant = service.grant_for(
            session, organisation=organisation.key, incident=incident, now=now
        )
        if not covering or grant is None:
            continue
        # A responder of the partner with no role on the incident: what the agreement alone gives.
        seen = decide(
            Subject("", organisation.key, False, AccessRole.RESPONDER),
            Action.READ,
            IncidentFacts(
                organisations=service.scope_of(incident).organisations,
                phase=Status(incident.status),
                tlp=Tlp(incident.tlp),
                grant=grant,
            ),
        )
        verdict = service.check_share(
            session,
            incident=incident,
            organisation=organisation.key,
            categories=seen.entitled,
            now=now,
        )
        views.append(
            PartnerView(
                organisation=organisation.key,
                name=organisation.name,
                country=organisation.country,
                agreements=[a.key for a in covering],
                ceiling=grant.ceiling,
                data_categories=sorted(grant.categories),
                sees_incident=seen.allowed,
                why_not=None if seen.allowed else seen.reason,
                export_findings=verdict.findings,
                overridden=verdict.override is not None,
            )
        )
    return views


def override_read(row: ShareOverride) -> OverrideRead:
    """Return an override's read model."""
    return OverrideRead(
        id=row.id,
        incident=reference(row.incident_id),
        organisation=row.organisation,
        blocked=list(row.blocked),
        reason=row.reason,
        approved_by=row.approved_by,
        approved_at=row.approved_at,
    )


def period_read(row: OperationalPeriod) -> PeriodRead:
    """Return an operational period's read model."""
    return PeriodRead(
        incident=reference(row.incident_id),
        number=row.number,
        starts_at=row.starts_at,
        ends_at=row.ends_at,
        objectives=list(row.objectives),
        organisations=list(row.organisations),
        safety_message=row.safety_message,
        set_by=row.set_by,
    )
