"""Pages about exercise incidents never reach real contact points unless a scenario says so."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.comms.channels import DownChannel, OutgoingMessage
from coherence.comms.domain import DeliveryFailed, Outcome
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Kind
from coherence.incidents.schemas import IncidentCreate

pytestmark = pytest.mark.usefixtures("facility")


def channels_of(factory: sessionmaker[Session], incident_id: int) -> set[str]:
    with session_scope(factory) as session:
        rows = session.scalars(
            select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
        ).all()
        return {c["channel"] for m in rows for c in m.contacts or []}


@pytest.mark.parametrize("kind", [Kind.REAL, Kind.EXERCISE])
def test_exercise_pages_go_to_the_exercise_channel(
    factory: sessionmaker[Session], clock: ManualClock, kind: Kind
) -> None:
    with session_scope(factory) as session:
        incident = incidents_service.open_incident(
            session,
            clock=clock,
            actor="priya-raman",
            request=IncidentCreate(
                asset="fridge-1", playbook="dilution-refrigerator-warm-up", kind=kind
            ),
        ).id
    used = channels_of(factory, incident)
    if kind is Kind.REAL:
        assert used
        assert "exercise" not in used
    else:
        assert used == {"exercise"}


def test_a_channel_taken_down_refuses_every_message() -> None:
    message = OutgoingMessage(1, "exercise-down", "sms:+15555550101", "subject", "body")
    with pytest.raises(DeliveryFailed) as refused:
        DownChannel("exercise-down").send(message)
    assert refused.value.outcome is Outcome.REFUSED
    assert "sms is down" in refused.value.detail
