"""The training API, the role check over HTTP, and the readiness page."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.db import session_scope
from coherence.settings import QualificationPolicy
from tests.conftest import ManualClock
from tests.helpers import counts
from tests.training.conftest import CURRICULUM, RECORDS

YAML = {"Content-Type": "application/yaml"}
PASSWORD = "correct horse battery staple"


def load(client: TestClient, path: str, file: Path) -> dict[str, object]:
    response = client.post(path, content=file.read_bytes(), headers=YAML)
    assert response.status_code == 200, response.text
    body: dict[str, object] = response.json()
    return body


@pytest.fixture
def loaded(client: TestClient) -> TestClient:
    load(client, "/api/v1/training/curriculum", CURRICULUM)
    load(client, "/api/v1/training/records/load", RECORDS)
    return client


def test_curriculum_records_and_qualifications_over_the_api(loaded: TestClient) -> None:
    curriculum = loaded.get("/api/v1/training/curriculum").json()
    assert curriculum["checked_roles"] == ["incident_commander", "safety_officer"]
    assert {c["key"] for c in curriculum["courses"]} >= {"incident-command", "odh-awareness"}
    made = loaded.post(
        "/api/v1/training/people/ravi-menon/exercises",
        json={
            "exercise": "EX-2026-01 warm-up tabletop",
            "completed_on": "2026-01-04",
            "drill": "ic-tabletop",
            "role": "incident_commander",
            "score": 80,
        },
    )
    assert made.status_code == 201, made.text
    ravi = loaded.get("/api/v1/training/people/ravi-menon").json()
    ic = next(q for q in ravi["qualifications"] if q["role"] == "incident_commander")
    # Renewed by the exercise; the 2023 course now lapses first.
    assert (ic["standing"], ic["expires_on"]) == ("qualified", "2026-09-19")
    course = loaded.post(
        "/api/v1/training/people/ravi-menon/completions",
        json={"course": "incident-command", "completed_on": "2026-01-05", "assessor": "NFR"},
    )
    assert course.status_code == 201, course.text
    assert course.json()["recorded_by"] == "amara-osei"


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("people/helen-marsh/completions", {"course": "odh-awareness"}, 422, "completed_on"),
        (
            "people/helen-marsh/completions",
            {"course": "x" * 65, "completed_on": "2025-01-01", "assessor": "a"},
            422,
            "course",
        ),
        (
            "people/helen-marsh/completions",
            {"course": "juggling", "completed_on": "2025-01-01", "assessor": "a"},
            422,
            "course",
        ),
        (
            "people/nobody/completions",
            {"course": "odh-awareness", "completed_on": "2025-01-01", "assessor": "a"},
            404,
            "key",
        ),
        (
            "people/helen-marsh/exercises",
            {"exercise": "EX", "completed_on": "2025-01-01", "score": 101},
            422,
            "score",
        ),
        (
            "people/helen-marsh/exercises",
            {"exercise": "EX", "completed_on": "2025-01-01", "drill": "odh-awareness"},
            422,
            "drill",
        ),
        (
            "people/helen-marsh/exercises",
            {"exercise": "EX", "completed_on": "2099-01-01"},
            422,
            "completed_on",
        ),
    ],
)
def test_hostile_records_are_refused_naming_the_field_and_change_nothing(
    loaded: TestClient,
    factory: sessionmaker[Session],
    path: str,
    body: dict[str, object],
    status: int,
    field: str,
) -> None:
    before = counts(factory)
    response = loaded.post(f"/api/v1/training/{path}", json=body)
    assert response.status_code == status, response.text
    assert field in (response.json().get("field") or "")
    assert counts(factory) == before


def test_a_bad_curriculum_document_is_refused_with_the_path(
    client: TestClient, factory: sessionmaker[Session]
) -> None:
    before = counts(factory)
    assert client.get("/api/v1/training/curriculum").status_code == 409
    for text, path in (
        (
            b"courses: [{key: a, title: A, qualifies_for: [pilot], validity_days: 3}]",
            "courses[0].qualifies_for[0]",
        ),
        (b"courses: {}", "courses"),
        (b"- just a list", None),
        (b"courses: [&a {key: a}]", None),
    ):
        response = client.post("/api/v1/training/curriculum", content=text, headers=YAML)
        assert response.status_code == 422, response.text
        if path:
            assert path in [p["path"] for p in response.json()["problems"]]
    assert counts(factory) == before


def test_assigning_an_unqualified_commander_is_refused_under_refuse_and_overridden(
    loaded: TestClient, factory: sessionmaker[Session]
) -> None:
    loaded.app.state.settings.qualification_policy = QualificationPolicy.REFUSE  # type: ignore[attr-defined]
    ref = loaded.post(
        "/api/v1/incidents", json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
    ).json()["reference"]
    before = counts(factory)
    refused = loaded.post(
        f"/api/v1/incidents/{ref}/roles", json={"role": "safety_officer", "person": "mateo-rossi"}
    )
    assert refused.status_code == 422
    assert refused.json()["field"] == "person"
    assert "override_reason" in refused.json()["message"]
    assert counts(factory) == before
    too_long = loaded.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "safety_officer", "person": "mateo-rossi", "override_reason": "x" * 2001},
    )
    assert too_long.status_code == 422
    assert counts(factory) == before
    allowed = loaded.post(
        f"/api/v1/incidents/{ref}/roles",
        json={
            "role": "safety_officer",
            "person": "mateo-rossi",
            "override_reason": "Helen and Kwame are both off site",
        },
    )
    assert allowed.status_code == 200, allowed.text
    assert allowed.json()["roles"]["safety_officer"] == "mateo-rossi"
    timeline = loaded.get(f"/api/v1/incidents/{ref}/timeline").json()
    override = next(e for e in timeline if e["type"] == "qualification:overridden")
    assert override["payload"]["reason"] == "Helen and Kwame are both off site"


def test_readiness_and_on_call_over_the_api(loaded: TestClient) -> None:
    read = loaded.get("/api/v1/training/readiness", params={"site": "ion-lab", "days": 2}).json()
    assert {r["site"] for r in read["roles"]} == {"ion-lab"}
    safety = next(r for r in read["roles"] if r["role"] == "safety_officer")
    assert safety["status"] == "gap"
    assert safety["min_depth"] == 1
    assert any(s["on_call"] == "mateo-rossi" for s in safety["problem_shifts"])
    gaps = loaded.get("/api/v1/training/on-call").json()
    assert {g["person"] for g in gaps} >= {"ravi-menon", "yuki-tanaka", "mateo-rossi", "chen-wei"}
    assert loaded.get("/api/v1/training/readiness", params={"site": "moon"}).status_code == 404
    assert loaded.get("/api/v1/training/readiness", params={"days": 0}).status_code == 422


def test_the_readiness_page(
    loaded: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    as_person: Callable[[str], dict[str, str]],
) -> None:
    with session_scope(factory) as session:
        passwords.set_password(
            session, clock=clock, person_key="amara-osei", password=PASSWORD, actor="test"
        )
    browser = TestClient(loaded.app)
    browser.post("/login", data={"person": "amara-osei", "password": PASSWORD})
    page = browser.get("/readiness")
    assert page.status_code == 200, page.text
    assert "unqualified on call" in page.text
    assert "mateo-rossi" in page.text
    assert "lapsed 2025-03-13" in page.text
    assert browser.get("/readiness?site=moon").status_code == 404
