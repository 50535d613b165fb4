"""Response metrics over HTTP on a fixed clock: the JSON breakdown and the Prometheus endpoint."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient

from tests.conftest import ManualClock
from tests.incidents.test_metrics import parse

Headers = Callable[[str], dict[str, str]]


def run(client: TestClient, clock: ManualClock, *, kind: str, ack: int, contain: int) -> str:
    """Open an incident now, acknowledge after ``ack`` s and contain ``contain`` s after that."""
    body = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up", "kind": kind}
    occurred = (clock.now() - timedelta(seconds=90)).isoformat()
    opened = client.post("/api/v1/incidents", json={**body, "occurred_at": occurred})
    assert opened.status_code == 201, opened.text
    ref = str(opened.json()["reference"])
    clock.advance(timedelta(seconds=ack))
    assert client.post(f"/api/v1/incidents/{ref}/ack").status_code == 200
    clock.advance(timedelta(seconds=contain))
    moved = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "contained"})
    assert moved.status_code == 200, moved.text
    return ref


def test_response_metrics_by_category_and_month(client: TestClient, clock: ManualClock) -> None:
    run(client, clock, kind="real", ack=120, contain=600)
    clock.advance(timedelta(days=40))
    run(client, clock, kind="real", ack=60, contain=300)
    run(client, clock, kind="test", ack=5, contain=5)
    body = client.get(
        "/api/v1/metrics/response", params={"by": "category", "period": "month"}
    ).json()
    rows = {(r["period"], r["metric"]): r for r in body["rows"]}
    assert {r["kind"] for r in body["rows"]} == {"real"}
    assert {r["group"] for r in body["rows"]} == {"cryogenic"}
    assert rows[("2026-01", "mtta")]["mean"] == 120.0
    assert rows[("2026-02", "mtta")]["mean"] == 60.0
    assert rows[("2026-01", "mttc")]["mean"] == 720.0
    assert rows[("2026-01", "mttd")]["median"] == 90.0
    overall = client.get("/api/v1/metrics/response", params={"kind": "test"}).json()
    mtta = next(r for r in overall["rows"] if r["metric"] == "mtta")
    assert (mtta["count"], mtta["mean"]) == (1, 5.0)


def test_prometheus_endpoint_needs_a_token_and_parses(
    client: TestClient, clock: ManualClock, as_person: Headers
) -> None:
    run(client, clock, kind="real", ack=120, contain=600)
    run(client, clock, kind="test", ack=5, contain=5)
    scraped = client.get("/metrics")
    assert scraped.status_code == 200
    assert scraped.headers["content-type"] == "text/plain; version=0.0.4; charset=utf-8"
    families = parse(scraped.text)
    real = 'kind="real",category="cryogenic",site="sc-lab",severity="sev2"'
    assert (
        f"coherence_time_to_acknowledge_seconds_sum{{{real}}} 120.0"
        in families["coherence_time_to_acknowledge_seconds"]
    )
    assert client.get("/metrics", headers={"Authorization": ""}).status_code == 401
    bad = client.get("/metrics", headers={"Authorization": "Bearer coh_nonsense"})
    assert bad.status_code == 401
    assert client.get("/metrics", headers=as_person("telemetry-gateway")).status_code == 403
    assert client.get("/metrics", headers=as_person("campus-visitor-desk")).status_code == 200


def test_hostile_queries_are_4xx_naming_the_field(client: TestClient) -> None:
    for params, field in (
        ({"kind": "imaginary"}, "kind"),
        ({"by": "colour"}, "by"),
        ({"period": "fortnight"}, "period"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-02-01T00:00:00Z", "until": "2026-01-01T00:00:00Z"}, "since"),
    ):
        response = client.get("/api/v1/metrics/response", params=params)
        assert response.status_code == 422, (params, response.text)
        assert field in response.text
