"""The page behind a message's one-click acknowledgement link.

Opening the link only shows what would be acknowledged: mail scanners fetch links in
messages, and a fetch must not acknowledge anything. The button on the page does.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access.api import Public
from coherence.catalog.models import Person
from coherence.clock import Clock
from coherence.comms import acks
from coherence.comms.models import OutboxMessage
from coherence.errors import CoherenceError, NotFound
from coherence.http import ClockDep, SessionDep
from coherence.incidents import service as incidents_service
from coherence.incidents import views
from coherence.incidents.domain import Status
from coherence.web.auth import same_origin
from coherence.web.rendering import render, render_error

NO_SIGN_IN = Public("the signed, expiring link in a page is the credential")
router = APIRouter(
    include_in_schema=False,
    dependencies=[
        Depends(same_origin),
        Depends(NO_SIGN_IN),
    ],
)


@router.get("/ack/{token}")
def ack_page(request: Request, token: str, session: SessionDep, clock: ClockDep) -> Response:
    """Show the incident the link acknowledges, with one button."""
    try:
        message, person = _resolve(request, session, clock, token)
    except CoherenceError as refused:
        return render_error(request, refused)
    return _page(request, session, message, person)


@router.post("/ack/{token}")
def ack_now(request: Request, token: str, session: SessionDep, clock: ClockDep) -> Response:
    """Acknowledge the incident as the person the message went to, through its channel."""
    try:
        message, person = _resolve(request, session, clock, token)
        incident = incidents_service.get_or_raise(session, message.incident_id or 0)
        waiting = incident.status == Status.DETECTED.value
        if waiting:
            incidents_service.acknowledge(
                session,
                clock=clock,
                ref=incident.id,
                actor=person.key,
                via=f"{message.channel} link",
            )
    except CoherenceError as refused:
        return render_error(request, refused)
    return _page(request, session, message, person, just_acknowledged=waiting)


def _resolve(
    request: Request, session: Session, clock: Clock, token: str
) -> tuple[OutboxMessage, Person]:
    secret: str = request.app.state.settings.secret_key
    message_id = acks.read_token(secret, token, now=clock.now())
    message = session.get(OutboxMessage, message_id)
    person = session.get(Person, message.person_id) if message and message.person_id else None
    if message is None or message.incident_id is None or person is None:
        raise NotFound("this link's message or incident no longer exists", field="token")
    return message, person


def _page(
    request: Request,
    session: Session,
    message: OutboxMessage,
    person: Person,
    *,
    just_acknowledged: bool = False,
) -> Response:
    incident = incidents_service.get_or_raise(session, message.incident_id or 0)
    context = {
        "incident": views.incident_read(incident),
        "recipient": person,
        "channel": message.channel,
        "waiting": incident.status == Status.DETECTED.value,
        "just_acknowledged": just_acknowledged,
    }
    return render(request, "ack.html", context)
