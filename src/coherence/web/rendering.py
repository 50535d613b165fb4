"""Templates, security headers and the data each dashboard page renders."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import Request
from fastapi.templating import Jinja2Templates
from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access.api import Caller, redact_timeline, withhold_personal
from coherence.access.policy import Action
from coherence.access.redaction import Redactions, placeholder
from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import plans, statements_service
from coherence.comms import service as comms_service
from coherence.comms.statements import EXTERNAL_AUDIENCES, Audience
from coherence.containment import service as containment_service
from coherence.containment import views as containment_views
from coherence.detection import service as detection_service
from coherence.detection.models import TelemetrySnapshot
from coherence.errors import CoherenceError
from coherence.http import DATABASE_RETRY_SECONDS
from coherence.incidents import service as incidents_service
from coherence.incidents import views
from coherence.incidents.domain import METRIC_DESCRIPTIONS, REOPENABLE, Status, TaskStatus
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.obligations import views as obligation_views
from coherence.recovery import service as recovery_service
from coherence.recovery import views as recovery_views
from coherence.web import filters, telemetry

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Pages carry live incident data and buttons that act: never cache them, never frame them.
SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'none'"
    ),
    # Not "no-referrer": under it browsers send "Origin: null" with every form post, and the
    # same-origin check refuses them all. Same-origin still keeps sign-in links from leaking.
    "Referrer-Policy": "same-origin",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def build_templates() -> Jinja2Templates:
    """Return the dashboard's Jinja2 templates, autoescaped, with its formatting filters."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(["html"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(
        utc=filters.utc,
        duration=filters.duration,
        humanize=filters.humanize,
        severity_label=filters.severity_label,
        category_label=filters.category_label,
        summarize=filters.summarize,
    )
    env.globals.update(
        age=filters.age,
        clock_time=filters.clock_time,
        due_phrase=filters.due_phrase,
        is_past=filters.is_past,
        kind_warning=filters.kind_warning,
    )
    return Jinja2Templates(env=env)


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    *,
    person: Person | None = None,
    status_code: int = 200,
) -> Response:
    """Render a page with the signed-in person, an optional error and the security headers."""
    templates: Jinja2Templates = request.app.state.web_templates
    # Where the page's data stands, so its live stream reports only later changes.
    since = ledger_service.change_count(request.app.state.engine) if person else None
    context = {
        "person": person,
        "live_since": since,
        "error": None,
        "session_hours": f"{request.app.state.settings.session_hours:g}",
        **context,
    }
    return templates.TemplateResponse(
        request, name, context, status_code=status_code, headers=SECURITY_HEADERS
    )


def render_error(
    request: Request, error: CoherenceError, *, person: Person | None = None
) -> Response:
    """Render a page that only explains what went wrong, with the error's status."""
    return render(
        request, "error.html", {"error": error}, person=person, status_code=error.status_code
    )


def browser_error_page(request: Request, error: CoherenceError) -> Response | None:
    """Show ``error`` as a page to a browser asking for a dashboard page; None for API calls.

    A page that was only being read reloads itself, so a wall display comes back on its own
    when the database does.
    """
    wants_page = "text/html" in request.headers.get("accept", "")
    if not wants_page or request.url.path.startswith("/api/"):
        return None
    retry = DATABASE_RETRY_SECONDS if request.method == "GET" else None
    return render(
        request,
        "error.html",
        {"error": error, "reload_seconds": retry},
        status_code=error.status_code,
    )


def render_incident(
    request: Request,
    session: Session,
    caller: Caller,
    ref: str | int,
    *,
    error: CoherenceError | None = None,
    values: dict[str, str | None] | None = None,
) -> Response:
    """Render the incident page as the caller may see it, with an error when an action was
    refused; forms the policy would refuse are not offered."""
    person = caller.person
    try:
        incident = incidents_service.get_or_raise(session, ref)
    except CoherenceError as missing:
        return render_error(request, missing, person=person)
    clock: Clock = request.app.state.clock
    detail = views.incident_detail(incident)
    keys = set(detail.roles.values()) | {t.assignee for t in detail.tasks if t.assignee}
    found = {key: catalog_service.get_person(session, key) for key in keys}
    plan = plans.comms_plan(session, incident)
    withhold_personal(
        caller, f"comms-plan:{incident.id}", [c for a in plan.assignments for c in a.contacts]
    )
    may = {action: caller.can(action, incident) for action in PAGE_ACTIONS}
    recovery = recovery_service.current_plan(session, incident.id)
    context = {
        "incident": detail,
        "timeline": redact_timeline(caller, views.timeline(session, incident.id)),
        "telemetry": _telemetry(caller, session, incident),
        "plan": plan,
        "statements": statements_service.statements_for_incident(session, incident.id),
        "statement_templates": _statement_templates(session),
        "can_communicate": caller.can(Action.COMMUNICATE, incident),
        "ics_roles": [role.value for role in IcsRole],
        "people": [(p.key, p.name) for p in catalog_service.list_people(session)],
        "changes": [
            containment_views.change_read(c)
            for c in containment_service.changes_for(session, incident.id)
        ],
        "recovery": recovery_views.panel(recovery) if recovery is not None else None,
        "obligation_clocks": obligation_views.running_clocks(
            session, now=clock.now(), incident_id=incident.id, include_done=True
        ),
        "failed_pages": [
            m
            for m in comms_service.messages_for_incident(session, incident.id)
            if m.status == "failed"
        ],
        "names": {key: p.name for key, p in found.items() if p is not None},
        "now": clock.now(),
        "can_reopen": detail.status in REOPENABLE and may[Action.REOPEN],
        "moves": [
            s
            for s in detail.allowed_transitions
            if s != Status.ACKNOWLEDGED
            and may[Action.CLOSE if s == Status.CLOSED else Action.COMMAND]
        ],
        "can_ack": Status.ACKNOWLEDGED in detail.allowed_transitions and may[Action.RECORD],
        "can_record": may[Action.RECORD],
        "can_command": may[Action.COMMAND],
        "procedures": containment_service.procedures_of(session, incident),
        "metrics": [
            (name, name.replace("_", " ").capitalize(), description, detail.metrics.get(name))
            for name, description in METRIC_DESCRIPTIONS.items()
        ],
        "OPEN": TaskStatus.OPEN,
        "error": error,
        "values": {k: v for k, v in (values or {}).items() if v is not None},
    }
    status = error.status_code if error is not None else 200
    return render(request, "incident.html", context, person=person, status_code=status)


PAGE_ACTIONS = (Action.RECORD, Action.COMMAND, Action.CLOSE, Action.REOPEN)


def _telemetry(
    caller: Caller, session: Session, incident: Incident
) -> list[tuple[TelemetrySnapshot, list[telemetry.Sparkline], str | None]]:
    """The incident's kept telemetry as sparklines, withheld where the caller may not read it."""
    shown: list[tuple[TelemetrySnapshot, list[telemetry.Sparkline], str | None]] = []
    found = Redactions([], set())
    for snap in detection_service.snapshots_for(session, incident.id):
        category = detection_service.snapshot_category(snap.content)
        if category in caller.decision.entitled:
            shown.append((snap, telemetry.sparklines(snap.content), None))
        else:
            found.add(f"snapshot:{snap.id}", category)
            shown.append((snap, [], placeholder(category)))
    if found:
        caller.record_redaction(f"incident:{incident.id}:telemetry", found, incident=incident)
    return shown


def _statement_templates(session: Session) -> list[tuple[str, str, bool]]:
    """Each template's key, audience and whether it may be sent (internal, or a version cleared)."""
    latest: dict[str, tuple[str, bool]] = {}
    for row in statements_service.list_templates(session):
        internal = Audience(row.audience) not in EXTERNAL_AUDIENCES
        cleared = latest.get(row.key, ("", False))[1] or row.status == "approved"
        latest[row.key] = (row.audience, internal or cleared)
    return [(key, audience, cleared) for key, (audience, cleared) in sorted(latest.items())]
