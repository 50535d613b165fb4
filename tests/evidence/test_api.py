"""Evidence over HTTP: uploads within limits, custody steps, recorded reads, verification."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.settings import Settings
from tests.helpers import counts

LOG = b"2026-01-05 10:00:00,MXC,0.0102\n" * 50


@pytest.fixture
def settings(tmp_path: Any) -> Settings:
    """Settings with a small evidence limit, so the limit can be tested."""
    return Settings(data_dir=tmp_path / "data", max_evidence_bytes=4096)


def upload(client: TestClient, data: bytes = LOG, **params: str) -> Any:
    query = {"name": "fridge-1.log", "tlp": "AMBER", "asset": "fridge-1", **params}
    return client.post(
        "/api/v1/evidence",
        params=query,
        content=data,
        headers={"content-type": "application/octet-stream"},
    )


def test_upload_custody_read_and_verify(client: TestClient) -> None:
    made = upload(client, name="../../etc/passwd")
    assert made.status_code == 201, made.text
    item = made.json()
    assert item["sha256"] == hashlib.sha256(LOG).hexdigest()
    assert (item["name"], item["custodian"], item["state"]) == (
        "../../etc/passwd",
        "amara-osei",
        "held",
    )
    read = client.get(f"/api/v1/evidence/{item['id']}/content", params={"reason": "review"})
    assert read.content == LOG
    assert read.headers["x-content-sha256"] == item["sha256"]
    step = client.post(
        f"/api/v1/evidence/{item['id']}/custody",
        json={"action": "sealed", "reason": "hold for the regulator"},
    )
    assert step.json()["state"] == "sealed"
    blocked = client.get(f"/api/v1/evidence/{item['id']}/content", params={"reason": "peek"})
    assert blocked.status_code == 409
    report = client.get(f"/api/v1/evidence/{item['id']}").json()
    assert [e["event"] for e in report["custody"]] == ["collected", "accessed", "sealed"]
    assert client.post("/api/v1/evidence/verify").json() == []


def test_an_oversized_upload_is_refused_and_stores_nothing(
    client: TestClient, factory: sessionmaker[Session], settings: Settings
) -> None:
    before = counts(factory)
    response = upload(client, data=b"x" * 5000)
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    assert counts(factory) == before
    assert [p for p in settings.resolved_evidence_dir.glob("**/*") if p.is_file()] == []


@pytest.mark.parametrize(
    ("params", "status", "field"),
    [
        ({"tlp": "PURPLE"}, 422, "tlp"),
        ({"category": "gossip"}, 422, "category"),
        ({"asset": "atlantis"}, 404, "asset"),
        ({"incident": "INC-99999"}, 404, "incident"),
        ({"name": ""}, 422, "name"),
    ],
)
def test_bad_uploads_are_refused_by_field(
    client: TestClient,
    factory: sessionmaker[Session],
    params: dict[str, str],
    status: int,
    field: str,
) -> None:
    before = counts(factory)
    response = upload(client, **params)
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("field") == field or field in str(body.get("problems"))
    assert counts(factory) == before


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/evidence/..%2F..%2Fetc%2Fpasswd/content?reason=x",
        "/api/v1/evidence/1%2F..%2F../content?reason=x",
        "/api/v1/evidence/-1/content?reason=x",
        "/api/v1/evidence/99999/content?reason=x",
    ],
)
def test_nothing_outside_the_register_can_be_read(client: TestClient, path: str) -> None:
    assert client.get(path).status_code in (404, 422)


def test_a_read_needs_a_reason_and_a_token(client: TestClient) -> None:
    item = upload(client).json()
    assert client.get(f"/api/v1/evidence/{item['id']}/content").status_code == 422
    del client.headers["Authorization"]
    assert client.get(f"/api/v1/evidence/{item['id']}/content?reason=x").status_code == 401
