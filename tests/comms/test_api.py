"""One-click acknowledgement links, delivery receipts and channel health over HTTP."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.domain import ContactChannel
from coherence.clock import ManualClock
from coherence.comms import acks
from coherence.comms.channels import MemoryChannel, OutgoingMessage
from coherence.comms.config import make_dispatcher
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.ledger.models import LedgerEntry
from coherence.settings import Settings


@pytest.fixture
def inbox() -> MemoryChannel:
    return MemoryChannel(name="everything")


def deliver(
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    inbox: MemoryChannel,
    **channel: Any,
) -> list[OutgoingMessage]:
    """Deliver the outbox with one memory channel standing in for every kind of contact."""
    for name, value in channel.items():
        setattr(inbox, name, value)
    channels = {kind.value: inbox for kind in ContactChannel}
    dispatcher = make_dispatcher(settings, factory, clock=clock, channels=channels)
    dispatcher.run_once()
    dispatcher.close()
    return inbox.sent


def open_warm_up(client: TestClient) -> str:
    response = client.post(
        "/api/v1/incidents",
        json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"},
    )
    assert response.status_code == 201, response.text
    reference: str = response.json()["reference"]
    return reference


def link_path(message: OutgoingMessage) -> str:
    assert message.ack_url is not None
    return urlsplit(message.ack_url).path


def test_every_page_carries_a_link_that_acknowledges_in_one_click(
    client: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    inbox: MemoryChannel,
) -> None:
    ref = open_warm_up(client)
    sent = deliver(factory, clock, settings, inbox)
    assert sent
    assert all(m.ack_url for m in sent)
    assert sent[0].ack_url.startswith("http://127.0.0.1:8000/ack/")  # type: ignore[union-attr]
    assert sent[0].ack_url in sent[0].text  # type: ignore[operator]
    del client.headers["Authorization"]
    page = client.get(link_path(sent[0]))
    assert page.status_code == 200
    assert "Acknowledge as" in page.text
    assert client.get(f"/api/v1/incidents/{ref}").status_code == 401
    assert _status(factory, ref) == "detected", "opening the link must not acknowledge"
    done = client.post(link_path(sent[0]))
    assert done.status_code == 200
    assert "Acknowledged." in done.text
    assert _status(factory, ref) == "acknowledged"
    entry = _last_ack(factory)
    assert entry["via"] == f"{sent[0].channel} link"
    again = client.post(link_path(sent[1]))
    assert again.status_code == 200
    assert "Already acknowledged" in again.text


def test_links_that_are_forged_expired_or_mangled_are_refused(
    client: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    inbox: MemoryChannel,
) -> None:
    ref = open_warm_up(client)
    [first, *_] = deliver(factory, clock, settings, inbox)
    path = link_path(first)
    forged = acks.make_token(
        "someone-elses-secret-key", message_id=first.message_id, expires_at=clock.now()
    )
    assert client.post(f"/ack/{forged}").status_code == 403
    assert client.post(path[:-3] + "AAA").status_code == 403
    assert client.get("/ack/not-a-token").status_code == 422
    assert client.get("/ack/" + "9" * 300).status_code == 422
    clock.advance(timedelta(hours=acks.ACK_LINK_HOURS, seconds=1))
    expired = client.post(path)
    assert expired.status_code == 403
    assert "expired" in expired.text
    assert _status(factory, ref) == "detected"


def test_api_cli_and_dashboard_acknowledgements_name_their_channel(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ref = open_warm_up(client)
    assert client.post(f"/api/v1/incidents/{ref}/ack").status_code == 200
    assert _last_ack(factory)["via"] == "api"


def test_a_gateway_receipt_confirms_or_fails_over(
    client: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    inbox: MemoryChannel,
) -> None:
    open_warm_up(client)
    sent = deliver(factory, clock, settings, inbox, receipt_seconds=120)
    good, bad = sent[0].key, sent[1].key
    confirmed = client.post(f"/api/v1/deliveries/{good}/receipt", json={"status": "delivered"})
    assert confirmed.status_code == 200, confirmed.text
    assert confirmed.json()["status"] == "sent"
    refused = client.post(
        f"/api/v1/deliveries/{bad}/receipt", json={"status": "failed", "detail": "handset off"}
    )
    assert refused.json()["status"] in ("pending", "failed")
    with session_scope(factory) as session:
        message = session.scalars(select(OutboxMessage).where(OutboxMessage.key == bad)).one()
        assert "handset off" in (message.last_error or "")
    repeat = client.post(f"/api/v1/deliveries/{good}/receipt", json={"status": "failed"})
    assert repeat.json()["status"] == "sent", "a late or repeated receipt changes nothing"


@pytest.mark.parametrize(
    ("path", "body", "status"),
    [
        ("/api/v1/deliveries/00000000-0000-0000-0000-000000000000/receipt", {}, 404),
        ("/api/v1/deliveries/not-a-key/receipt", {}, 422),
        (
            "/api/v1/deliveries/00000000-0000-0000-0000-000000000000/receipt",
            {"status": "lost"},
            422,
        ),
        (
            "/api/v1/deliveries/00000000-0000-0000-0000-000000000000/receipt",
            {"status": "delivered", "extra": 1},
            422,
        ),
    ],
)
def test_bad_receipts_are_refused_by_field(
    client: TestClient, path: str, body: dict[str, Any], status: int
) -> None:
    response = client.post(path, json=body)
    assert response.status_code == status
    assert response.json().get("field") or response.json().get("problems")


def test_channel_health_needs_a_token_and_reports_per_channel(client: TestClient) -> None:
    report = client.get("/api/v1/channels/health")
    assert report.status_code == 200
    assert isinstance(report.json(), dict)
    del client.headers["Authorization"]
    assert client.get("/api/v1/channels/health").status_code == 401


def _status(factory: sessionmaker[Session], ref: str) -> str:
    with session_scope(factory) as session:
        return incidents_service.get_or_raise(session, ref).status


def _last_ack(factory: sessionmaker[Session]) -> dict[str, Any]:
    with session_scope(factory) as session:
        entry = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == "incident:acknowledged")
            .order_by(LedgerEntry.seq.desc())
        ).first()
        assert entry is not None
        payload: dict[str, Any] = orjson.loads(entry.payload)
        return payload
