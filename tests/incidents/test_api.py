"""The incident API end to end, including hostile input that must change nothing."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from tests.helpers import counts

WARMUP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}


def open_warmup(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/api/v1/incidents", json={**WARMUP, **extra})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def test_open_drive_and_read_an_incident(client: TestClient) -> None:
    incident = open_warmup(client, summary="MXC at 40 mK", kind="exercise")
    ref = incident["reference"]
    assert incident["status"] == "detected"
    assert incident["kind"] == "exercise"
    assert incident["tasks"][0]["due_at"]
    assert client.post(f"/api/v1/incidents/{ref}/ack").json()["status"] == "acknowledged"
    for target in ("contained", "recovering", "resolved"):
        response = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": target})
        assert response.status_code == 200, response.text
    note = client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "Warm-up controlled"})
    assert note.status_code == 201
    decision = client.post(
        f"/api/v1/incidents/{ref}/decisions",
        json={"decision": "Hold at 4 K", "rationale": "Vendor visit tomorrow"},
    )
    assert decision.json()[-1]["payload"]["decided_by"] == "amara-osei"
    listed = client.get("/api/v1/incidents", params={"status": "resolved"}).json()
    assert [i["reference"] for i in listed["items"]] == [ref]
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    assert [e["type"] for e in timeline][:2] == ["incident:opened", "notification:queued"]
    assert client.get("/api/v1/metrics", params={"kind": "exercise"}).json()["incidents"] == 1


def test_roles_and_tasks_over_the_api(client: TestClient) -> None:
    ref = open_warmup(client)["reference"]
    assigned = client.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "safety_officer", "person": "amara-osei"}
    )
    assert assigned.json()["roles"]["safety_officer"] == "amara-osei"
    task_id = client.get(f"/api/v1/incidents/{ref}/tasks").json()[0]["id"]
    done = client.patch(f"/api/v1/tasks/{task_id}", json={"status": "done", "note": "checked"})
    assert done.json()["status"] == "done"
    skipped = client.patch(f"/api/v1/tasks/{task_id}", json={"status": "skipped"})
    assert skipped.status_code == 422
    assert skipped.json()["field"] == "note"


def test_every_request_needs_a_token(client: TestClient) -> None:
    anonymous = TestClient(client.app)
    for path in ("/api/v1/incidents", "/api/v1/assets", "/api/v1/ledger", "/api/v1/me"):
        response = anonymous.get(path)
        assert response.status_code == 401
        assert "token" in response.json()["message"]
    forged = anonymous.get("/api/v1/me", headers={"Authorization": "Bearer coh_forged"})
    assert forged.status_code == 401


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({}, 422, "asset"),
        ({"asset": 12, "playbook": "dilution-refrigerator-warm-up"}, 422, "asset"),
        ({**WARMUP, "kind": "drill"}, 422, "kind"),
        ({**WARMUP, "occurred_at": "yesterday"}, 422, "occurred_at"),
        ({**WARMUP, "occurred_at": "2026-01-05T09:00:00"}, 422, "occurred_at"),
        ({**WARMUP, "occurred_at": "2030-01-05T09:00:00+00:00"}, 422, "occurred_at"),
        ({**WARMUP, "title": "x" * 201}, 422, "title"),
        ({**WARMUP, "severity": "sev1"}, 422, "severity"),
        ({"asset": "no-such-asset", "playbook": "dilution-refrigerator-warm-up"}, 404, "asset"),
        ({"asset": "fridge-1", "playbook": "nope"}, 404, "playbook"),
        ({"asset": "laser-397", "playbook": "dilution-refrigerator-warm-up"}, 422, "playbook"),
        ({"asset": "fridge-1", "category": "cryogenic"}, 422, "impact"),
    ],
)
def test_bad_open_requests_name_the_field_and_write_nothing(
    client: TestClient,
    factory: sessionmaker[Session],
    body: dict[str, Any],
    status: int,
    field: str,
) -> None:
    before = counts(factory)
    response = client.post("/api/v1/incidents", json=body)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field
    assert response.json()["message"]
    assert counts(factory) == before


def test_malformed_and_oversized_bodies_are_refused(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    before = counts(factory)
    broken = client.post(
        "/api/v1/incidents", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert broken.status_code == 422
    huge = client.post(
        "/api/v1/incidents",
        content=b"{" + b" " * 2_000_000 + b"}",
        headers={"content-type": "application/json"},
    )
    assert huge.status_code == 413
    assert huge.json()["code"] == "payload_too_large"
    listed = client.post("/api/v1/incidents", json=[WARMUP])
    assert listed.status_code == 422
    assert counts(factory) == before


def test_chunked_oversized_bodies_are_refused(client: TestClient) -> None:
    def chunks() -> Any:
        for _ in range(40):
            yield b" " * 100_000

    response = client.post(
        "/api/v1/incidents", content=chunks(), headers={"content-type": "application/json"}
    )
    assert response.status_code == 413


def test_illegal_moves_and_unknown_incidents(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    ref = open_warmup(client)["reference"]
    before = counts(factory)
    closing = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "closed"})
    assert closing.status_code == 409
    assert "acknowledged" in closing.json()["message"]
    unknown_status = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "exploded"})
    assert unknown_status.status_code == 422
    assert unknown_status.json()["field"] == "status"
    assert client.get("/api/v1/incidents/INC-99999").status_code == 404
    assert client.get("/api/v1/incidents/DROP TABLE incidents").status_code == 404
    assert client.post(f"/api/v1/incidents/{ref}/notes", json={"text": "   "}).status_code == 422
    assert client.post(f"/api/v1/incidents/{ref}/reopen", json={"reason": "x"}).status_code == 409
    role = client.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "safety_officer", "person": "nobody"}
    )
    assert role.status_code == 404
    assert role.json()["field"] == "person"
    assert client.patch("/api/v1/tasks/999999", json={"status": "done"}).status_code == 404
    assert counts(factory) == before


def test_list_parameters_are_checked(client: TestClient) -> None:
    assert client.get("/api/v1/incidents", params={"limit": 0}).status_code == 422
    assert client.get("/api/v1/incidents", params={"limit": 10_000}).status_code == 422
    assert client.get("/api/v1/incidents", params={"status": "bogus"}).status_code == 422


def test_openapi_describes_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method} {path} has no summary"
            assert operation.get("description"), f"{method} {path} has no description"


def test_api_docs_work_offline(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assert "cdn" not in page.text.lower()
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/apidocs-assets/{asset}").status_code == 200
    redoc = client.get("/redoc")
    assert "fonts.googleapis" not in redoc.text
    assert "cdn" not in redoc.text.lower()


def test_openapi_declares_bearer_auth_and_the_error_shape(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    assert spec["components"]["securitySchemes"]["HTTPBearer"]["scheme"] == "bearer"
    operation = spec["paths"]["/api/v1/incidents"]["post"]
    for status in ("401", "404", "409", "422"):
        schema = operation["responses"][status]["content"]["application/json"]["schema"]
        assert schema["$ref"].endswith("/ErrorBody")


def test_document_errors_have_the_same_shape_as_request_errors(client: TestClient) -> None:
    bad_document = client.post("/api/v1/playbooks/validate", json={"key": "x"})
    bad_request = client.post("/api/v1/incidents", json={})
    for response in (bad_document, bad_request):
        body = response.json()
        assert response.status_code == 422
        assert {"code", "message", "field", "problems"} <= set(body)
        assert all({"path", "message"} <= set(p) for p in body["problems"])
