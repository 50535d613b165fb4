"""The lessons library: anonymised publishing, search, redaction, sharing and importing."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.ledger import checkpoints, keys, note
from coherence.settings import Settings
from tests.conftest import ManualClock
from tests.helpers import counts

Headers = Callable[[str], dict[str, str]]
FINDING = {
    "title": "Amara Osei found the valve half open",
    "what_happened": "amara-osei saw it; call +31 20 555 0101 or amara@example.org.",
    "owner": "tomasz-kowal",
}


def near_miss_finding(client: TestClient, **extra: Any) -> str:
    body = {"what_happened": "Valve half open", "category": "cryogenic", "asset": "fridge-1"}
    ref = client.post("/api/v1/near-misses", json=body | extra).json()["reference"]
    added = client.post(f"/api/v1/near-misses/{ref}/findings", json=FINDING)
    assert added.status_code == 201, added.text
    return f"{ref}/F1"


def publish(client: TestClient, finding: str, **extra: Any) -> Any:
    body = {"finding": finding, "lesson": "Shut the recovery valve before any transfer."}
    response = client.post("/api/v1/lessons", json=body | extra)
    assert response.status_code == 201, response.text
    return response.json()


def test_a_published_lesson_names_nobody(client: TestClient) -> None:
    lesson = publish(client, near_miss_finding(client), playbook="dilution-refrigerator-warm-up")
    assert lesson["reference"] == "LL-00001"
    text = orjson.dumps(lesson).decode().lower()
    for leak in ("amara", "osei", "555 0101", "example.org", "tomasz"):
        assert leak not in text
    assert "[person]" in lesson["title"]
    assert "[person]" in lesson["summary"]
    assert (lesson["asset_kind"], lesson["category"], lesson["source"]) == (
        "dilution_refrigerator",
        "cryogenic",
        "near_miss",
    )
    assert lesson["origin_organisation"] == "northbridge"


def test_lessons_are_searchable(client: TestClient) -> None:
    publish(client, near_miss_finding(client), playbook="dilution-refrigerator-warm-up")
    publish(client, near_miss_finding(client, asset=None, category="vacuum"))

    def found(**params: str) -> list[str]:
        response = client.get("/api/v1/lessons", params=params)
        assert response.status_code == 200, response.text
        return [lesson["reference"] for lesson in response.json()]

    assert found() == ["LL-00002", "LL-00001"]
    assert found(asset_kind="dilution_refrigerator") == ["LL-00001"]
    assert found(category="vacuum") == ["LL-00002"]
    assert found(playbook="dilution-refrigerator-warm-up") == ["LL-00001"]
    assert found(q="RECOVERY VALVE") == ["LL-00002", "LL-00001"]
    assert found(q="100%_") == []
    assert client.get("/api/v1/lessons", params={"q": ""}).status_code == 422


def test_lesson_text_is_redacted_by_category_and_label(
    client: TestClient, as_person: Headers
) -> None:
    publish(client, near_miss_finding(client), data_category="proprietary")
    publish(client, near_miss_finding(client), tlp="AMBER+STRICT")
    observer = client.get("/api/v1/lessons", headers=as_person("campus-visitor-desk")).json()
    secret = next(x for x in observer if x["reference"] == "LL-00001")
    assert secret["withheld"] == ["summary", "lesson"]
    assert secret["lesson"].startswith("[redacted:")
    other = as_person("fatima-idrissi")
    assert [x["reference"] for x in client.get("/api/v1/lessons", headers=other).json()] == [
        "LL-00001"
    ]
    assert client.get("/api/v1/lessons/LL-00002", headers=other).status_code == 403
    assert client.get("/api/v1/lessons/LL-00002").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"finding": "NM-00001", "lesson": "x"}, "finding"),
        ({"finding": "NM-00009/F1", "lesson": "x"}, "near_miss"),
        ({"finding": "NM-00001/F7", "lesson": "x"}, "number"),
        ({"finding": "NM-00001/F1", "lesson": ""}, "lesson"),
        ({"finding": "NM-00001/F1", "lesson": "x", "tlp": "RED"}, "tlp"),
        ({"finding": "NM-00001/F1", "lesson": "x", "playbook": "no-such"}, "playbook"),
        ({"finding": "NM-00001/F1", "lesson": "x", "data_category": "secret"}, "data_category"),
    ],
)
def test_a_bad_lesson_names_the_field_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], field: str
) -> None:
    near_miss_finding(client)
    before = counts(factory)
    response = client.post("/api/v1/lessons", json=body)
    assert 400 <= response.status_code < 500, response.text
    assert field in response.text
    assert counts(factory) == before
    assert client.get("/api/v1/lessons").json() == []


def test_a_finding_is_published_once(client: TestClient) -> None:
    finding = near_miss_finding(client)
    publish(client, finding)
    again = client.post("/api/v1/lessons", json={"finding": finding, "lesson": "again"})
    assert again.status_code == 409


def _signed(factory: sessionmaker[Session], clock: ManualClock, settings: Settings) -> str:
    signer = keys.load_signer(settings.resolved_ledger_key_file)
    with session_scope(factory) as session:
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)
    return note.verifier_for(signer)


def test_lessons_are_shared_under_an_agreement_and_imported(
    client: TestClient,
    as_person: Headers,
    agreements: None,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
) -> None:
    publish(client, near_miss_finding(client), data_category="proprietary")
    publish(client, near_miss_finding(client))
    publish(client, near_miss_finding(client), tlp="AMBER+STRICT")
    publish(client, near_miss_finding(client, asset=None, category="vacuum"))
    verifier = _signed(factory, clock, settings)
    partner = as_person("polar-cryo-support")
    response = client.get("/api/v1/lessons/package", headers=partner)
    assert response.status_code == 200, response.text
    body = orjson.loads(response.content)["lessons"]
    assert body["recipient"]["organisation"] == "polar-cryogenics"
    assert [a["key"] for a in body["agreements"]] == ["nb-polar-cryo"]
    shared = {x["reference"]: x for x in body["lessons"]}
    # AMBER+STRICT never leaves; the vacuum lesson has no asset kind the agreement covers.
    assert sorted(shared) == ["LL-00001", "LL-00002"]
    assert shared["LL-00001"]["withheld"] == ["summary", "lesson"]
    assert "[person]" in shared["LL-00002"]["title"]

    imported = client.post(
        "/api/v1/lessons/import", params={"key": verifier}, content=response.content
    )
    assert imported.status_code == 200, imported.text
    assert imported.json()["imported"] == ["LL-00005", "LL-00006"]
    again = client.post(
        "/api/v1/lessons/import", params={"key": verifier}, content=response.content
    )
    assert again.json()["skipped"] == ["LL-00001", "LL-00002"]
    mine = client.get("/api/v1/lessons/LL-00006").json()
    assert (mine["source"], mine["origin_reference"]) == ("imported", "LL-00002")


def test_a_tampered_or_foreign_package_imports_nothing(
    client: TestClient,
    as_person: Headers,
    agreements: None,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
) -> None:
    publish(client, near_miss_finding(client))
    verifier = _signed(factory, clock, settings)
    data = client.get("/api/v1/lessons/package", headers=as_person("polar-cryo-support")).content
    document = orjson.loads(data)
    document["lessons"]["lessons"][0]["lesson"] = "Leave the valve open."
    before = counts(factory)
    tampered = client.post(
        "/api/v1/lessons/import", params={"key": verifier}, content=orjson.dumps(document)
    )
    assert tampered.status_code == 422
    assert "changed after it was signed" in tampered.text
    _other_signer, other = note.generate_signer("other.example.org")
    foreign = client.post("/api/v1/lessons/import", params={"key": other}, content=data)
    assert foreign.status_code == 422
    assert "signature" in foreign.text
    junk = client.post("/api/v1/lessons/import", params={"key": verifier}, content=b"[1, 2")
    assert junk.status_code == 422
    assert "package" in junk.text
    assert counts(factory) == before
    assert len(client.get("/api/v1/lessons").json()) == 1


def test_no_package_without_an_agreement(client: TestClient, as_person: Headers) -> None:
    publish(client, near_miss_finding(client))
    response = client.get("/api/v1/lessons/package", headers=as_person("polar-cryo-support"))
    assert response.status_code == 404
    assert "agreement" in response.text


@pytest.mark.parametrize(
    "document",
    [
        b"{}",
        b'{"lessons": [], "signature": "x"}',
        b'{"lessons": {"format": "coherence-lessons-package/1"}, "signature": "x"}',
        orjson.dumps(
            {
                "lessons": {
                    "format": "coherence-lessons-package/1",
                    "origin": 5,
                    "recipient": None,
                    "agreements": [],
                    "lessons": [1, "two"],
                    "checkpoint": 7,
                    "exported_at": "now",
                },
                "signature": ["not", "a", "note"],
            }
        ),
        b"\xff\xfe" * 100,
    ],
)
def test_hostile_packages_are_refused_clearly(
    client: TestClient, factory: sessionmaker[Session], document: bytes
) -> None:
    before = counts(factory)
    response = client.post("/api/v1/lessons/import", params={"key": "x" * 20}, content=document)
    assert response.status_code == 422, response.text
    assert response.json()["field"] in ("package", "signature")
    assert counts(factory) == before
