"""Statement templates (versioned, cleared by approvals), issued statements and their cadence."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from importlib.resources import files
from typing import Any

import orjson
from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import cadence, plain
from coherence.comms import service as comms_service
from coherence.comms.models import Statement, StatementTemplate
from coherence.comms.statements import (
    EXTERNAL_AUDIENCES,
    LAY_AUDIENCES,
    Audience,
    TemplateDocument,
    TemplatesFile,
    TemplateStatus,
    can_give,
    missing_approvals,
)
from coherence.comms.templating import render
from coherence.documents import load_yaml_mapping, validate_document
from coherence.errors import Conflict, NotFound, PermissionDenied, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType


@dataclass
class TemplatesLoaded:
    """What loading a templates file did."""

    created: list[tuple[str, int]] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)


def load_shipped_templates(session: Session, *, clock: Clock, actor: str) -> TemplatesLoaded:
    """Store the shipped templates whose text was never stored, so a facility's edit stays."""
    source = files("coherence.comms").joinpath("data/templates.yaml")
    data = load_yaml_mapping(source.read_text(encoding="utf-8"), source="templates.yaml")
    return load_templates(
        session, clock=clock, data=data, actor=actor, source="templates.yaml", ever_stored=True
    )


def load_templates(
    session: Session,
    *,
    clock: Clock,
    data: dict[str, Any],
    actor: str,
    source: str,
    ever_stored: bool = False,
) -> TemplatesLoaded:
    """Store each changed template as a new draft version; identical content is left alone.

    With ``ever_stored``, content matching any earlier version (not only the latest) is left
    alone too.
    """
    document = validate_document(TemplatesFile, data, source=source)
    keys = [t.key for t in document.templates]
    if len(keys) != len(set(keys)):
        duplicate = next(k for k in keys if keys.count(k) > 1)
        raise ValidationFailed(f"template {duplicate!r} appears twice", field="templates")
    report = TemplatesLoaded()
    for template in document.templates:
        digest = _content_hash(template)
        latest = _latest(session, template.key)
        if (latest is not None and latest.content_hash == digest) or (
            ever_stored and _stored(session, template.key, digest)
        ):
            report.unchanged.append(template.key)
            continue
        version = (latest.version + 1) if latest is not None else 1
        needs = list(template.required_approvals)
        row = StatementTemplate(
            key=template.key,
            version=version,
            audience=template.audience.value,
            title=template.title,
            body=template.body,
            required_approvals=needs,
            update_every_minutes=template.update_every_minutes,
            content_hash=digest,
            # A template nobody must clear is usable as soon as it is stored.
            status=(TemplateStatus.DRAFT if needs else TemplateStatus.APPROVED).value,
            approvals=[],
            created_at=clock.now(),
            created_by=actor,
            approved_at=None if needs else clock.now(),
        )
        session.add(row)
        session.flush()
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.TEMPLATE_STORED,
            actor=actor,
            subject=f"template:{template.key}",
            payload={
                "key": template.key,
                "version": version,
                "audience": template.audience.value,
                "needs": needs,
                "sha256": digest,
                "source": source,
            },
        )
        report.created.append((template.key, version))
    return report


def _stored(session: Session, key: str, digest: str) -> bool:
    query = select(StatementTemplate.id).where(
        StatementTemplate.key == key, StatementTemplate.content_hash == digest
    )
    return session.scalars(query).first() is not None


def _content_hash(template: TemplateDocument) -> str:
    return hashlib.sha256(orjson.dumps(template.model_dump(mode="json"))).hexdigest()


def _latest(session: Session, key: str) -> StatementTemplate | None:
    query = select(StatementTemplate).where(StatementTemplate.key == key)
    return session.scalars(query.order_by(StatementTemplate.version.desc())).first()


def list_templates(session: Session) -> list[StatementTemplate]:
    """Return every template version, by key then version."""
    query = select(StatementTemplate).order_by(StatementTemplate.key, StatementTemplate.version)
    return list(session.scalars(query).all())


def get_template(session: Session, key: str, version: int | None = None) -> StatementTemplate:
    """Return one version (the latest if ``version`` is None) or raise NotFound."""
    if version is None:
        found = _latest(session, key)
    else:
        found = session.scalars(
            select(StatementTemplate).where(
                StatementTemplate.key == key, StatementTemplate.version == version
            )
        ).one_or_none()
    if found is None:
        shown = key if version is None else f"{key} v{version}"
        raise NotFound(f"no statement template {shown!r}", field="template")
    return found


def approve(
    session: Session,
    *,
    clock: Clock,
    key: str,
    version: int,
    person_key: str,
    approval: str | None = None,
) -> StatementTemplate:
    """Record one approval of a template version by ``person_key``.

    ``approval`` names which one (e.g. ``legal``); left out, the first still missing that
    the person may give. Nobody may clear a version they wrote, and one person gives one
    approval per version, so every cleared version has been read by others.
    """
    template = get_template(session, key, version)
    session.refresh(template, with_for_update=True)
    person = catalog_service.get_person(session, person_key)
    if person is None:
        raise NotFound(f"no person {person_key!r}", field="person")
    if template.status == TemplateStatus.APPROVED.value:
        raise Conflict(f"{key} v{version} is already approved", field="version")
    if person.key == template.created_by:
        raise PermissionDenied(
            f"{person.key} wrote {key} v{version}; someone else must clear it", field="person"
        )
    if any(entry["person"] == person.key for entry in template.approvals):
        raise Conflict(f"{person.key} has already approved {key} v{version}", field="person")
    missing = missing_approvals(template.required_approvals, template.approvals)
    clearances = person.clearances or []
    if approval is None:
        approval = next(
            (m for m in missing if can_give(m, roles=person.roles, clearances=clearances)), None
        )
        if approval is None:
            raise PermissionDenied(
                f"{person.key} cannot give any approval {key} v{version} still needs "
                f"({', '.join(missing)})",
                field="person",
            )
    elif approval not in missing:
        raise ValidationFailed(
            f"{key} v{version} does not need {approval!r}; it still needs "
            f"{', '.join(missing) or 'nothing'}",
            field="approval",
        )
    elif not can_give(approval, roles=person.roles, clearances=clearances):
        raise PermissionDenied(
            f"{person.key} may not give {approval!r} approval: it is neither one of their "
            "roles nor one of their clearances",
            field="person",
        )
    now = clock.now()
    template.approvals = [
        *template.approvals,
        {"approval": approval, "person": person.key, "at": now.isoformat()},
    ]
    complete = not missing_approvals(template.required_approvals, template.approvals)
    if complete:
        template.status, template.approved_at = TemplateStatus.APPROVED.value, now
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.TEMPLATE_APPROVED,
        actor=person.key,
        subject=f"template:{key}",
        payload={"key": key, "version": version, "approval": approval, "cleared": complete},
    )
    return template


def _latest_approved(session: Session, key: str) -> StatementTemplate | None:
    query = select(StatementTemplate).where(
        StatementTemplate.key == key, StatementTemplate.status == TemplateStatus.APPROVED.value
    )
    return session.scalars(query.order_by(StatementTemplate.version.desc())).first()


def issue(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    template_key: str,
    actor: str,
    version: int | None = None,
) -> Statement:
    """Render a template version for an incident and record the statement.

    External audiences only ever get an approved version: the latest approved one unless
    ``version`` names another approved one.
    """
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    template = _usable(session, template_key, version)
    audience = Audience(template.audience)
    context = public_context(incident)
    title = render(template.title, context, field="title")
    body = render(template.body, context, field="body")
    earlier = _statements(session, incident.id, audience)
    count = len(earlier) + 1
    statement = Statement(
        incident_id=incident.id,
        audience=audience.value,
        template_key=template.key,
        template_version=template.version,
        title=title[:300],
        body=body,
        plain_score=_plain_score(body) if audience in LAY_AUDIENCES else None,
        cap_identifier=f"{cap_sender(incident)}-{reference(incident.id)}-{audience.value}-{count}",
        cap_msg_type="Update" if earlier else "Alert",
        cap_references=[s.cap_identifier for s in earlier],
        issued_at=clock.now(),
        issued_by=actor,
    )
    session.add(statement)
    session.flush()
    recipients = _recipients(session, incident, audience)
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.STATEMENT_ISSUED,
        actor=actor,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "statement_id": statement.id,
            "audience": audience.value,
            "template": template.key,
            "version": template.version,
            "title": statement.title,
            "sha256": hashlib.sha256(body.encode()).hexdigest(),
            "sent_to": [person.key for person in recipients],
        },
    )
    for person in recipients:
        comms_service.enqueue(
            session,
            clock=clock,
            person=person,
            subject=title,
            body=body,
            reason=f"statement:{audience.value}",
            actor=actor,
            incident_id=incident.id,
        )
    cadence.rearm(session, clock, incident, audience, template.update_every_minutes)
    return statement


@dataclass(frozen=True)
class Preview:
    """A statement as it would be issued now, rendered but not recorded or sent."""

    template: StatementTemplate
    title: str
    body: str
    plain_score: int | None


def preview(
    session: Session, *, ref: str | int, template_key: str, version: int | None = None
) -> Preview:
    """Render what ``issue`` would send, with the same clearance rule, changing nothing."""
    incident = incidents_service.get_or_raise(session, ref)
    template = _usable(session, template_key, version)
    context = public_context(incident)
    body = render(template.body, context, field="body")
    lay = Audience(template.audience) in LAY_AUDIENCES
    return Preview(
        template=template,
        title=render(template.title, context, field="title"),
        body=body,
        plain_score=_plain_score(body) if lay else None,
    )


# Who a statement is delivered to, besides where it is published: the incident's own role
# holders for responders, and the people of these kinds of organisation for the others.
# Public, media, investors and executives are reached by publication and by their own desks.
DELIVERED_TO_ORGANISATIONS = {
    Audience.REGULATORS: ("regulator",),
    Audience.PARTNERS: ("research_group", "public_safety", "government_partner"),
}


def _recipients(session: Session, incident: Incident, audience: Audience) -> list[Person]:
    if audience is Audience.RESPONDERS:
        people = [role.person for role in sorted(incident.roles, key=lambda r: r.role)]
    else:
        people = [
            person
            for kind in DELIVERED_TO_ORGANISATIONS.get(audience, ())
            for person in catalog_service.people_of_organisation_kind(session, kind)
        ]
    return list({person.id: person for person in people}.values())


def _usable(session: Session, key: str, version: int | None) -> StatementTemplate:
    template = get_template(session, key, version)
    if Audience(template.audience) not in EXTERNAL_AUDIENCES:
        return template
    if version is None:
        approved = _latest_approved(session, key)
        if approved is not None:
            return approved
    if template.status != TemplateStatus.APPROVED.value:
        needs = missing_approvals(template.required_approvals, template.approvals)
        raise Conflict(
            f"{key} v{template.version} is for {template.audience} and has not been cleared "
            f"(still needs {', '.join(needs)}); approve it with "
            "`coherence statement template approve`",
            field="template",
        )
    return template


def withdraw(
    session: Session, *, clock: Clock, statement_id: int, actor: str, reason: str
) -> Statement:
    """Withdraw an issued statement: a CAP Cancel that references it, recorded in the ledger."""
    original = session.get(Statement, statement_id)
    if original is None or original.withdraws_id is not None:
        raise NotFound(f"no issued statement #{statement_id}", field="statement")
    if session.scalar(select(Statement.id).where(Statement.withdraws_id == statement_id)):
        raise Conflict(f"statement #{statement_id} is already withdrawn", field="statement")
    if not reason.strip():
        raise ValidationFailed("say why the statement is withdrawn", field="reason")
    cancel = Statement(
        incident_id=original.incident_id,
        audience=original.audience,
        template_key=original.template_key,
        template_version=original.template_version,
        title=f"Withdrawn: {original.title}"[:300],
        body=reason.strip(),
        plain_score=None,
        cap_identifier=f"{original.cap_identifier}-cancel",
        cap_msg_type="Cancel",
        cap_references=[original.cap_identifier],
        issued_at=clock.now(),
        issued_by=actor,
        withdraws_id=original.id,
    )
    session.add(cancel)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.STATEMENT_WITHDRAWN,
        actor=actor,
        subject=f"incident:{original.incident_id}",
        incident_id=original.incident_id,
        payload={"statement_id": original.id, "cancel_id": cancel.id, "reason": reason.strip()},
    )
    return cancel


def _plain_score(body: str) -> int | None:
    """The plain-language score, or None for a text with no words to score."""
    try:
        return plain.check_plain(body).score
    except ValidationFailed:
        return None


def cap_sender(incident: Incident) -> str:
    """The CAP sender for statements about ``incident``: the site's organisation."""
    return incident.site.organisation.key


def public_context(incident: Incident) -> dict[str, Any]:
    """What a template may mention: facts about the incident fit for any audience."""
    return {
        "incident": {
            "reference": reference(incident.id),
            "title": incident.title,
            "severity": incident.severity.upper(),
            "status": incident.status,
            "category": incident.category,
            "kind": incident.kind,
            "detected_at": incident.detected_at.strftime("%Y-%m-%d %H:%M UTC"),
        },
        "site": {"name": incident.site.name, "key": incident.site.key},
        "asset": {"name": incident.asset.name, "key": incident.asset.key},
    }


def _statements(session: Session, incident_id: int, audience: Audience) -> list[Statement]:
    query = select(Statement).where(
        Statement.incident_id == incident_id,
        Statement.audience == audience.value,
        Statement.withdraws_id.is_(None),
    )
    return list(session.scalars(query.order_by(Statement.id)).all())


def statements_for_incident(session: Session, incident_id: int) -> list[Statement]:
    """Every statement about an incident, oldest first, withdrawals included."""
    query = select(Statement).where(Statement.incident_id == incident_id)
    return list(session.scalars(query.order_by(Statement.id)).all())


def public_statements(session: Session, *, limit: int = 100) -> list[Statement]:
    """Public statements and their withdrawals, newest first: what the status page shows."""
    query = select(Statement).where(Statement.audience == Audience.PUBLIC.value)
    return list(session.scalars(query.order_by(Statement.id.desc()).limit(limit)).all())


def get_statement(session: Session, statement_id: int) -> Statement | None:
    """Return one statement by id, or None."""
    return session.get(Statement, statement_id)
