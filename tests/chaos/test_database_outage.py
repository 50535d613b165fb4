"""PostgreSQL cut off mid-traffic: 503s that say so, the dashboard shows it, nothing is lost."""

from __future__ import annotations

import threading
import time
import uuid
from pathlib import Path

import httpx
import orjson
import pytest
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.detection.models import SignalKey
from coherence.incidents.models import Incident
from tests.chaos.helpers import (
    Deployment,
    Sender,
    TcpProxy,
    free_port,
    nats_backlog,
    nats_publish,
    verify_ledger,
    wait_for,
)
from tests.helpers import Receiver

SIGNALS = 40
FAULT_KEYS = {"fridge-1:dilution-refrigerator-warm-up", "ion-vacuum:ion-trap-vacuum-loss"}
OUTAGE_SECONDS = 4
# Sample time starts an hour ago, so every batch is recent enough to keep as evidence.
BASE = time.time() - 3600


class EventStream:
    """A dashboard's live-update stream, read in a thread; ``lines`` is what arrived."""

    def __init__(self, client: httpx.Client) -> None:
        self.lines: list[str] = []
        self._client = client
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        try:
            with self._client.stream(
                "GET", "/events", headers={"Accept": "text/event-stream"}, timeout=60
            ) as response:
                for line in response.iter_lines():
                    self.lines.append(line)
        except httpx.HTTPError:
            return

    def saw(self, line: str) -> bool:
        """Whether the stream has carried a line starting with ``line``."""
        return any(seen.startswith(line) for seen in self.lines)


@pytest.mark.parametrize("engine", ["postgresql"], indirect=True)
def test_a_lost_database_is_retried_shown_and_loses_nothing(
    engine: Engine, factory: sessionmaker[Session], receiver: str, tmp_path: Path, nats_url: str
) -> None:
    proxy = TcpProxy(("127.0.0.1", 5432))
    suffix = f"-{uuid.uuid4().hex[:8]}"
    site = f"sc-lab{suffix}"
    deployment = Deployment(
        engine, tmp_path, receiver, via=proxy.port, nats_url=nats_url, nats_ack_wait_seconds="3"
    )
    token = deployment.prepare(factory, suffix=suffix)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server = deployment.serve(port)
    detector = deployment.start("worker", "detect", "--site", site)
    assert wait_for(lambda: nats_backlog(nats_url, [site]) is not None, 20), deployment.logs()
    nats_publish(
        nats_url, site, _telemetry(site, "fridge-1", "mxc_temperature_k", "K", 0.012, BASE)
    )
    assert _post_telemetry(url, token, f"ion-lab{suffix}", 1e-11, BASE) == 200
    dashboard = httpx.Client(base_url=url, timeout=10)
    sender = Sender([url], token, [f"outage-{n}" for n in range(SIGNALS)], "fridge-2")
    try:
        commander = deployment.token_for(factory, "amara-osei")
        assert dashboard.get(f"/login?token={commander}", follow_redirects=True).is_success
        stream = EventStream(dashboard)
        sender.start()
        assert wait_for(lambda: len(sender.accepted) >= SIGNALS // 4, 30), deployment.logs()
        proxy.cut()
        assert wait_for(lambda: stream.saw("event: database"), 10), stream.lines
        assert wait_for(lambda: sender.statuses[503] > 0, 10), sender.statuses
        nats_publish(
            nats_url, site, _telemetry(site, "fridge-1", "mxc_temperature_k", "K", 0.08, BASE + 300)
        )
        assert _post_telemetry(url, token, f"ion-lab{suffix}", 5e-9, BASE + 300) == 503
        ready = httpx.get(f"{url}/readyz", timeout=10)
        assert ready.status_code == 503
        assert ready.json()["code"] == "database_unavailable"
        assert "unreachable (since" in ready.json()["message"]
        time.sleep(OUTAGE_SECONDS)
        proxy.restore()
        assert wait_for(lambda: stream.saw("data: ok"), 15), stream.lines
        # The sender resends what was refused during the outage.
        assert wait_for(
            lambda: _post_telemetry(url, token, f"ion-lab{suffix}", 5e-9, BASE + 300) == 200, 10
        )
        assert wait_for(lambda: nats_backlog(nats_url, [site]) == 0, 20), "telemetry left unread"
        sender.join(40)
        assert not sender.pending, f"unanswered after the outage: {sender.pending}"
        assert httpx.get(f"{url}/readyz", timeout=10).json() == {"status": "ok", "database": "ok"}
        assert wait_for(lambda: _all_sent(factory), 30), "pages were not all delivered"
        assert server.poll() is None, "the server died with its database connection"
        assert detector.poll() is None, "the detector died with its database connection"
        verify_ledger(deployment, factory)
    finally:
        dashboard.close()
        deployment.close()
        proxy.close()
    assert sender.statuses[500] == 0, sender.errors
    assert all('"database_unavailable"' in e for e in sender.errors), sender.errors
    with session_scope(factory) as session:
        keys = set(session.scalars(select(SignalKey.dedup_key)))
        incidents = session.scalar(select(func.count()).select_from(Incident))
        message_keys = set(session.scalars(select(OutboxMessage.key)))
    assert keys == {f"chaos:outage-{n}" for n in range(SIGNALS)} | FAULT_KEYS
    assert incidents == SIGNALS + len(FAULT_KEYS), "an incident was lost or opened twice"
    assert message_keys <= set(Receiver.received), "a page was lost"


def _telemetry(site: str, asset: str, metric: str, unit: str, value: float, start: float) -> bytes:
    """Five minutes of one reading, every 30 s from ``start``: longer than any hold time."""
    return orjson.dumps(
        [
            {
                "site": site,
                "asset": asset,
                "metric": metric,
                "value": value,
                "unit": unit,
                "timestamp": start + 30 * n,
            }
            for n in range(10)
        ]
    )


def _post_telemetry(url: str, token: str, site: str, pressure: float, start: float) -> int:
    """Send the ion trap's vacuum readings over HTTP; return the answer's status."""
    body = _telemetry(site, "ion-vacuum", "vacuum_pressure_mbar", "mbar", pressure, start)
    answer = httpx.post(
        f"{url}/api/v1/telemetry",
        content=body,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        timeout=10,
    )
    return answer.status_code


def _all_sent(factory: sessionmaker[Session]) -> bool:
    with session_scope(factory) as session:
        return set(session.scalars(select(OutboxMessage.status))) == {"sent"}
