"""Unified command: joint objectives per operational period (ICS 202) and the status summary
(ICS 209), both built from the incident's own records."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.comms import statements_service
from coherence.errors import ValidationFailed
from coherence.evidence import service as evidence_service
from coherence.incidents import views as incident_views
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.partners import service
from coherence.partners.models import OperationalPeriod

MAX_PERIOD = timedelta(days=7)
MAX_OBJECTIVES = 20
MAX_OBJECTIVE_LENGTH = 500


def set_period(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    starts_at: datetime,
    ends_at: datetime,
    objectives: Sequence[str],
    organisations: Sequence[str],
    safety_message: str,
    actor: str,
    number: int | None = None,
) -> OperationalPeriod:
    """Set the joint objectives of an operational period (the next one unless ``number``)."""
    if ends_at <= starts_at:
        raise ValidationFailed("the period must end after it starts", field="ends_at")
    if ends_at - starts_at > MAX_PERIOD:
        raise ValidationFailed("an operational period lasts at most 7 days", field="ends_at")
    cleaned = [o.strip() for o in objectives if o.strip()]
    if not cleaned:
        raise ValidationFailed("give at least one objective", field="objectives")
    if len(cleaned) > MAX_OBJECTIVES or any(len(o) > MAX_OBJECTIVE_LENGTH for o in cleaned):
        raise ValidationFailed(
            f"at most {MAX_OBJECTIVES} objectives of {MAX_OBJECTIVE_LENGTH} characters",
            field="objectives",
        )
    known = {o.key for o in catalog_service.list_organisations(session)}
    unknown = sorted(set(organisations) - known)
    if unknown:
        raise ValidationFailed(
            f"unknown organisations: {', '.join(unknown)}", field="organisations"
        )
    existing = {p.number: p for p in periods(session, incident.id)}
    number = number or max(existing, default=0) + 1
    values = {
        "starts_at": starts_at,
        "ends_at": ends_at,
        "objectives": cleaned,
        "organisations": sorted(set(organisations) | _home(incident)),
        "safety_message": safety_message.strip(),
        "set_by": actor,
        "set_at": clock.now(),
    }
    row = existing.get(number)
    if row is None:
        row = OperationalPeriod(incident_id=incident.id, number=number, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.PERIOD_SET,
        actor=actor,
        subject=f"incident:{incident.id}",
        incident_id=incident.id,
        payload={
            "number": number,
            "starts_at": starts_at.isoformat(),
            "ends_at": ends_at.isoformat(),
            "objectives": cleaned,
            "organisations": row.organisations,
        },
    )
    return row


def periods(session: Session, incident_id: int) -> list[OperationalPeriod]:
    """The incident's operational periods, first to last."""
    query = select(OperationalPeriod).where(OperationalPeriod.incident_id == incident_id)
    return list(session.scalars(query.order_by(OperationalPeriod.number)).all())


def current_period(session: Session, incident_id: int, now: datetime) -> OperationalPeriod | None:
    """The period running at ``now``, else the latest one set."""
    found = periods(session, incident_id)
    running = [p for p in found if p.starts_at <= now < p.ends_at]
    latest = running or found
    return latest[-1] if latest else None


def organisations_involved(session: Session, incident: Incident, now: datetime) -> list[str]:
    """Who is working the incident: its own organisations, role holders' and the period's."""
    involved = set(_home(incident))
    involved |= {r.person.organisation.key for r in incident.roles}
    period = current_period(session, incident.id, now)
    if period is not None:
        involved |= set(period.organisations)
    return sorted(involved)


def status_summary(session: Session, incident: Incident, now: datetime) -> dict[str, Any]:
    """An ICS 209-style status summary, from the incident's own records."""
    detail = incident_views.incident_detail(incident)
    period = current_period(session, incident.id, now)
    open_tasks = [t for t in detail.tasks if t.status == "open"]
    decisions = [
        e for e in incident_views.timeline(session, incident.id) if e.type == "decision:recorded"
    ]
    statements = statements_service.statements_for_incident(session, incident.id)
    partners = []
    for organisation in catalog_service.list_organisations(session):
        covering = service.covering(
            session, organisation=organisation.key, incident=incident, now=now
        )
        if covering:
            partners.append(
                {
                    "organisation": organisation.key,
                    "name": organisation.name,
                    "agreements": [a.key for a in covering],
                    "mutual_aid": [
                        aid
                        for a in covering
                        for aid in a.mutual_aid
                        if aid["from"] != _home_key(incident)
                    ],
                }
            )
    return {
        "form": "ICS 209 (status summary)",
        "incident": detail.reference,
        "title": detail.title,
        "kind": detail.kind.value,
        "phase": detail.status.value,
        "severity": detail.severity,
        "category": detail.category,
        "tlp": detail.tlp.value,
        "location": {"site": detail.site, "asset": detail.asset},
        "times": {
            "occurred": detail.occurred_at,
            "detected": detail.detected_at,
            "acknowledged": detail.acknowledged_at,
            "contained": detail.contained_at,
            "recovering": detail.recovering_at,
            "resolved": detail.resolved_at,
            "closed": detail.closed_at,
        },
        "command": detail.roles,
        "organisations": organisations_involved(session, incident, now),
        "period": _period_view(period),
        "tasks": {
            "open": len(open_tasks),
            "overdue": sum(1 for t in open_tasks if t.overdue),
            "done": sum(1 for t in detail.tasks if t.status == "done"),
            "skipped": sum(1 for t in detail.tasks if t.status == "skipped"),
            "next": [
                {"title": t.title, "owner_role": t.owner_role, "due_at": t.due_at}
                for t in open_tasks[:5]
            ],
        },
        "decisions": [
            {"at": e.at, "decision": e.payload.get("decision"), "by": e.payload.get("decided_by")}
            for e in decisions[-5:]
        ],
        "statements": {
            "issued": len(statements),
            "latest": statements[-1].title if statements else None,
        },
        "evidence_items": len(evidence_service.list_items(session, incident_id=incident.id)),
        "partners": partners,
        "prepared_at": now,
    }


def summary_markdown(summary: dict[str, Any]) -> str:
    """The status summary as a printable Markdown page."""
    times = summary["times"]
    lines = [
        f"# {summary['form']}: {summary['incident']} — {summary['title']}",
        "",
        f"**TLP:{summary['tlp']}** · phase **{summary['phase']}** · severity "
        f"**{summary['severity']}** · category {summary['category']} · {summary['kind']}",
        "",
        f"Location: site {summary['location']['site']}, asset {summary['location']['asset']}",
        "",
        "## Times (UTC)",
        "",
        *[f"- {name}: {_when(value)}" for name, value in times.items()],
        "",
        "## Command",
        "",
        *[f"- {role}: {person}" for role, person in sorted(summary["command"].items())],
        f"- organisations under unified command: {', '.join(summary['organisations'])}",
        "",
        "## Current operational period",
        "",
    ]
    period = summary["period"]
    if period is None:
        lines.append("No objectives set yet.")
    else:
        lines.append(
            f"Period {period['number']}, {_when(period['starts_at'])} to {_when(period['ends_at'])}"
        )
        lines.extend(f"{n}. {o}" for n, o in enumerate(period["objectives"], start=1))
        if period["safety_message"]:
            lines.append(f"\nSafety: {period['safety_message']}")
    tasks = summary["tasks"]
    lines += [
        "",
        "## Work",
        "",
        f"- tasks: {tasks['open']} open ({tasks['overdue']} overdue), {tasks['done']} done, "
        f"{tasks['skipped']} skipped",
        *[
            f"- next: {t['title']} ({t['owner_role']}, due {_when(t['due_at'])})"
            for t in tasks["next"]
        ],
        f"- statements issued: {summary['statements']['issued']}",
        f"- evidence items: {summary['evidence_items']}",
        "",
        "## Partners and mutual aid",
        "",
    ]
    if not summary["partners"]:
        lines.append("No agreement shares this incident.")
    for partner in summary["partners"]:
        lines.append(f"- {partner['name']} ({', '.join(partner['agreements'])})")
        lines.extend(
            f"  - can lend: {aid['quantity']} of {aid['resource']} ({aid['kind']})"
            for aid in partner["mutual_aid"]
        )
    lines += ["", f"Prepared {_when(summary['prepared_at'])}."]
    return "\n".join(lines) + "\n"


def _period_view(period: OperationalPeriod | None) -> dict[str, Any] | None:
    if period is None:
        return None
    return {
        "number": period.number,
        "starts_at": period.starts_at,
        "ends_at": period.ends_at,
        "objectives": list(period.objectives),
        "organisations": list(period.organisations),
        "safety_message": period.safety_message,
        "set_by": period.set_by,
    }


def period_view(period: OperationalPeriod) -> dict[str, Any]:
    """A period as the API and CLI show it."""
    view = _period_view(period)
    assert view is not None
    return {**view, "incident": reference(period.incident_id)}


def _home(incident: Incident) -> set[str]:
    return {incident.site.organisation.key, incident.asset.owner.key}


def _home_key(incident: Incident) -> str:
    return incident.site.organisation.key


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if isinstance(value, datetime) else "—"
