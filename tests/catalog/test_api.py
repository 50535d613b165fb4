"""Catalog, playbook and ledger reads over HTTP, and loading documents through the API."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.conftest import SAMPLE_FACILITY
from tests.helpers import counts


def test_catalog_reads(client: TestClient) -> None:
    assets = client.get("/api/v1/assets", params={"site": "sc-lab"}).json()
    assert {"fridge-1", "fridge-2"} <= {a["key"] for a in assets}
    fridge = client.get("/api/v1/assets/fridge-1").json()
    assert fridge["kind"] == "dilution_refrigerator"
    assert client.get("/api/v1/assets/nope").status_code == 404
    assert client.get("/api/v1/sites").json()
    assert client.get("/api/v1/organisations").json()
    people = client.get("/api/v1/people").json()
    assert any("incident_commander" in p["roles"] for p in people)
    oncall = client.get("/api/v1/oncall", params={"site": "sc-lab", "role": "operations"})
    assert oncall.json()["person"] == "priya-raman"
    bad_role = client.get("/api/v1/oncall", params={"site": "sc-lab", "role": "wizard"})
    assert bad_role.status_code == 422
    assert bad_role.json()["field"] == "role"
    assert client.get("/api/v1/me").json()["key"] == "amara-osei"


def test_facility_upload_is_idempotent_and_bad_yaml_is_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    body = SAMPLE_FACILITY.read_bytes()
    again = client.post(
        "/api/v1/facility", content=body, headers={"content-type": "application/yaml"}
    )
    assert again.status_code == 200, again.text
    assert sum(again.json()["created"].values()) == 0
    before = counts(factory)
    for broken in (
        b"assets: [\n",
        b"- just a list\n",
        b"a: &x 1\nb: *x\n",
        b"",
        b"assets:\n  - key: x\n",
    ):
        response = client.post(
            "/api/v1/facility", content=broken, headers={"content-type": "application/yaml"}
        )
        assert response.status_code == 422, (broken, response.text)
        assert response.json()["message"]
    assert counts(factory) == before


def test_playbook_reads_and_publishing(client: TestClient) -> None:
    playbooks = client.get("/api/v1/playbooks").json()
    assert len(playbooks) >= 10
    key = playbooks[0]["key"]
    full = client.get(f"/api/v1/playbooks/{key}").json()
    assert full["document"]["steps"]
    assert client.get(f"/api/v1/playbooks/{key}/versions/1").status_code == 200
    assert client.get(f"/api/v1/playbooks/{key}/versions/99").status_code == 404
    document = full["document"]
    document["summary"] = "Edited over the API"
    published = client.post("/api/v1/playbooks", json=document)
    assert published.json()["version"] == 2
    assert len(client.get(f"/api/v1/playbooks/{key}/versions").json()) == 2
    checked = client.post("/api/v1/playbooks/validate", json={**document, "steps": []})
    assert checked.status_code == 422
    assert client.post("/api/v1/playbooks/validate", json=document).json()["valid"]


def test_classification_and_glossary(client: TestClient) -> None:
    assert len(client.get("/api/v1/classification/categories").json()) == 12
    severities = client.get("/api/v1/classification/severities").json()
    assert [s["rank"] for s in severities] == sorted(s["rank"] for s in severities)
    assert len(client.get("/api/v1/glossary").json()) >= 30


def test_ledger_is_numbered_without_gaps(client: TestClient) -> None:
    client.post(
        "/api/v1/incidents", json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
    )
    entries = client.get("/api/v1/ledger", params={"limit": 1000}).json()
    assert [e["seq"] for e in entries] == list(range(len(entries)))
    page = client.get("/api/v1/ledger", params={"after": 2, "limit": 2}).json()
    assert [e["seq"] for e in page] == [3, 4]
