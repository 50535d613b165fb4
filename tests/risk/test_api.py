"""The risk API and the risk posture page; hostile input is a 4xx naming the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.db import session_scope
from tests.conftest import ManualClock

PASSWORD = "correct horse battery staple"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
RISK = {
    "key": "chiller-fault",
    "scenario": "Chiller 1 fails",
    "assets": ["sc-chiller-1"],
    "category": "power_cooling",
    "likelihood": 3,
    "impact": 2,
    "controls": ["Second chiller"],
    "owner": "priya-raman",
    "review_date": "2026-06-01",
}


def load(client: TestClient, name: str, path: str) -> None:
    response = client.post(
        path,
        content=(EXAMPLES / name).read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert response.status_code == 200, response.text


def test_the_register_over_the_api(client: TestClient, clock: ManualClock) -> None:
    load(client, "risks.yaml", "/api/v1/risk/register/load")
    listed = client.get("/api/v1/risk/register").json()
    assert len(listed) == 7
    warm = next(r for r in listed if r["key"] == "fridge-1-warm-up")
    assert (warm["score"], warm["band"]) == (16, "high")
    assert warm["learned_frequency"] > 0
    made = client.post("/api/v1/risk/register", json=RISK)
    assert made.status_code == 201, made.text
    assert client.post("/api/v1/risk/register", json=RISK).status_code == 409
    changed = client.patch("/api/v1/risk/register/chiller-fault", json={"status": "treated"})
    assert changed.json()["status"] == "treated"
    assert (
        client.get("/api/v1/risk/register", params={"status": "treated"}).json()[0]["key"]
        == "chiller-fault"
    )
    advisory = {
        "key": "he-shortage-2026",
        "source": "supply_chain",
        "reason": "Supplier allocates helium-3 at 40 % of contracted volume",
        "factor": 2.5,
        "kinds": ["helium_supply"],
        "expires_at": (clock.now() + timedelta(days=90)).isoformat(),
    }
    recorded = client.post("/api/v1/risk/advisories", json=advisory)
    assert recorded.status_code == 201, recorded.text
    assert recorded.json()["in_force"] is True
    helium = client.get("/api/v1/risk/register/helium-shortage").json()
    assert helium["effective_likelihood"] == helium["likelihood"] + 1
    assert "Supplier allocates helium-3" in helium["raised_by"][0]
    withdrawn = client.post("/api/v1/risk/advisories/he-shortage-2026/withdraw")
    assert withdrawn.json()["in_force"] is False
    assert client.get("/api/v1/risk/advisories").json()[0]["withdrawn_by"] == "amara-osei"


def test_rates_trend_and_simulation(client: TestClient, clock: ManualClock) -> None:
    load(client, "supply.yaml", "/api/v1/recovery/supply")
    assert len(client.get("/api/v1/risk/rates/trend").json()) == 1  # no history yet
    clock.advance(timedelta(days=30))
    rates = client.get("/api/v1/risk/rates").json()
    assert rates["rates"][0]["prior_source"]
    trend = client.get("/api/v1/risk/rates/trend", params={"points": 3}).json()
    assert len(trend) == 3
    run = client.post(
        "/api/v1/risk/simulations",
        json={
            "trials": 5000,
            "add_redundant": ["compressor-1"],
            "spares": {"fridge-1": "pulse-tube-head"},
            "repair_hours": {"laser-729": 12},
        },
    )
    assert run.status_code == 200, run.text
    body = run.json()
    fridge = next(s for s in body["services"] if s["key"] == "fridge-1")
    assert fridge["downtime_hours"] < fridge["baseline_downtime_hours"]
    assert body["what_if"]["add_redundant"] == ["compressor-1"]
    assert any(a["key"] == "compressor-1~twin" for a in body["assets"])
    plain = client.post("/api/v1/risk/simulations", json={"trials": 5000}).json()
    assert plain["what_if"] is None
    assert plain["services"][0]["baseline_availability"] is None


def test_hostile_input_is_refused_naming_the_field_and_changes_nothing(
    client: TestClient, clock: ManualClock, as_person: Callable[[str], dict[str, str]]
) -> None:
    bad_risks = [
        ({**RISK, "likelihood": 9}, "likelihood"),
        ({**RISK, "key": "../etc"}, "key"),
        ({**RISK, "assets": ["ghost"]}, "assets[0]"),
        ({**RISK, "owner": "nobody"}, "owner"),
        ({**RISK, "category": "weather"}, "category"),
        ({**RISK, "review_date": "someday"}, "review_date"),
        ({**RISK, "scenario": "x" * 5000}, "scenario"),
        ({**RISK, "extra": 1}, "extra"),
    ]
    for payload, field in bad_risks:
        response = client.post("/api/v1/risk/register", json=payload)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert client.get("/api/v1/risk/register").json() == []
    patches = [
        ({}, "body"),
        ({"impact": 0}, "impact"),
        ({"assets": []}, "assets"),
        ({"status": None}, "status"),
        ({"owner": None}, "owner"),
    ]
    for payload, field in patches:
        client.post("/api/v1/risk/register", json={**RISK, "key": "r1"})
        response = client.patch("/api/v1/risk/register/r1", json=payload)
        assert response.status_code == 422, response.text
        assert field in response.text or "at least one field" in response.text
    assert client.patch("/api/v1/risk/register/ghost", json={"impact": 2}).status_code == 404
    broken = client.post(
        "/api/v1/risk/register/load",
        content=b"risks: [{key: a, scenario: s, assets: [ghost], likelihood: 1, impact: 1, "
        b"owner: priya-raman, review_date: 2026-01-01}]",
        headers={"Content-Type": "application/yaml"},
    )
    assert broken.status_code == 422
    assert "risks[0].assets[0]" in broken.text
    not_yaml = client.post("/api/v1/risk/register/load", content=b"{: [")
    assert not_yaml.status_code == 422
    expires = (clock.now() + timedelta(days=1)).isoformat()
    bad_advisories = [
        (
            {
                "key": "a",
                "reason": "r",
                "factor": 0.5,
                "assets": ["fridge-1"],
                "expires_at": expires,
            },
            "factor",
        ),
        ({"key": "a", "reason": "r", "factor": 2, "expires_at": expires}, "affects"),
        (
            {"key": "a", "reason": "r", "factor": 2, "kinds": ["toaster"], "expires_at": expires},
            "kinds",
        ),
        (
            {
                "key": "a",
                "reason": "r",
                "factor": 2,
                "assets": ["fridge-1"],
                "expires_at": "2026-01-01T00:00:00",
            },
            "expires_at",
        ),
        (
            {
                "key": "a",
                "reason": "r",
                "factor": 2,
                "assets": ["fridge-1"],
                "expires_at": clock.now().isoformat(),
            },
            "expires_at",
        ),
    ]
    for payload, field in bad_advisories:
        response = client.post("/api/v1/risk/advisories", json=payload)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert client.get("/api/v1/risk/advisories").json() == []
    assert client.post("/api/v1/risk/advisories/ghost/withdraw").status_code == 404
    for payload, field in [
        ({"trials": 10}, "trials"),
        ({"trials": 10**9}, "trials"),
        ({"add_redundant": ["ghost"]}, "add_redundant"),
        ({"repair_hours": {"fridge-1": -1}}, "repair_hours"),
        ({"services": ["ghost"]}, "services"),
    ]:
        response = client.post("/api/v1/risk/simulations", json=payload)
        assert response.status_code == 422, response.text
        assert field in response.text
    assert client.get("/api/v1/risk/rates", params={"since": "yesterday"}).status_code == 422
    refused = client.post("/api/v1/risk/register", json=RISK, headers=as_person("priya-raman"))
    assert refused.status_code == 403
    readable = client.get("/api/v1/risk/register", headers=as_person("priya-raman"))
    assert readable.status_code == 200


def test_the_risk_posture_page(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    load(client, "risks.yaml", "/api/v1/risk/register/load")
    client.post(
        "/api/v1/risk/advisories",
        json={
            "key": "cve-2026-0002",
            "reason": "Default credentials on the AWG racks",
            "factor": 4,
            "assets": ["rack-1"],
            "expires_at": (clock.now() + timedelta(days=5)).isoformat(),
        },
    )
    with session_scope(factory) as session:
        passwords.set_password(
            session, clock=clock, person_key="amara-osei", password=PASSWORD, actor="test"
        )
    del client.headers["Authorization"]
    assert client.get("/risk", follow_redirects=False).status_code in (303, 401)
    client.post("/login", data={"person": "amara-osei", "password": PASSWORD})
    page = client.get("/risk")
    assert page.status_code == 200, page.text
    text = page.text
    assert 'class="board heatmap"' in text
    assert "<strong>high</strong> · 16" in text  # severity in words, not colour alone
    assert 'href="#risk-fridge-1-warm-up"' in text
    assert "raised by cve-2026-0002 (advisory, x4): Default credentials on the AWG racks" in text
    assert 'class="spark"' in text
    assert "Research service availability" in text
    assert "http://" not in text.replace("http://www.w3.org/2000/svg", "")
