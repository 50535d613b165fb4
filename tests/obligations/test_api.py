"""The obligations API as people use it: who may do what, hostile input, the dashboard panel."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.app import create_app
from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from coherence.settings import Settings
from tests.conftest import ManualClock
from tests.helpers import counts

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
EARLY = "eu-nis2.early-warning"
SCRIBE, COMMANDER, OBSERVER = "oskar-nilsen", "kwame-asante", "campus-visitor-desk"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def ref(client: TestClient) -> str:
    """A warm-up incident with kwame-asante commanding and oskar-nilsen as scribe."""
    opened = client.post("/api/v1/incidents", json=WARM_UP)
    assert opened.status_code == 201, opened.text
    reference: str = opened.json()["reference"]
    for role, person in (("incident_commander", COMMANDER), ("scribe", SCRIBE)):
        assigned = client.post(
            f"/api/v1/incidents/{reference}/roles", json={"role": role, "person": person}
        )
        assert assigned.status_code == 200, assigned.text
    return reference


def ledger_types(factory: sessionmaker[Session]) -> list[str]:
    with session_scope(factory) as session:
        return list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))


def test_a_scribe_records_and_drafts_the_commander_signs_off_an_observer_reads(
    client: TestClient, ref: str, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    scribe, commander, observer = as_person(SCRIBE), as_person(COMMANDER), as_person(OBSERVER)
    base = f"/api/v1/incidents/{ref}"

    refused = client.patch(f"{base}/assessment", json={"significant": True}, headers=observer)
    assert refused.status_code == 403
    assessed = client.patch(
        f"{base}/assessment",
        json={"significant": True, "impact_summary": "Fridge 1 warmed up; jobs lost"},
        headers=scribe,
    )
    assert assessed.status_code == 200, assessed.text
    body = assessed.json()
    assert sorted(body["started"]) == [
        f"eu-nis2.{r}" for r in ("early-warning", "final-report", "notification")
    ]
    assert {v["obligation"]: v["applies"] for v in body["verdicts"]}["eu-nis2"] is True

    seen = client.get(f"{base}/obligations", headers=observer)
    assert seen.status_code == 200
    assert [c["state"] for c in seen.json()["clocks"]] == ["running"] * 3

    drafted = client.post(f"{base}/reports/{EARLY}", json={"refresh": False}, headers=scribe)
    assert drafted.status_code == 201, drafted.text
    draft = drafted.json()
    assert draft["missing"] == ["suspected_malicious"]
    values = {f["key"]: f["value"] for f in draft["fields"]}
    assert values["reference"] == ref
    assert values["entity"] == "Northbridge Quantum Campus"
    assert values["entity_class"] == "important"
    assert values["summary"] == "Fridge 1 warmed up; jobs lost"
    assert values["cross_border"] == "not yet assessed"
    assert client.post(f"{base}/reports/{EARLY}", json={}, headers=scribe).status_code == 409

    # Review and submission are the commander's or liaison's, not the scribe's: the policy says why.
    refused = client.post(f"{base}/reports/{EARLY}/review", headers=scribe)
    assert refused.status_code == 403
    assert "commander or the liaison officer" in refused.json()["message"]
    incomplete = client.post(f"{base}/reports/{EARLY}/review", headers=commander)
    assert incomplete.status_code == 422
    assert incomplete.json()["field"] == "fields.suspected_malicious"

    edited = client.patch(
        f"{base}/reports/{EARLY}", json={"fields": {"suspected_malicious": "no"}}, headers=scribe
    )
    assert edited.status_code == 200, edited.text
    assert edited.json()["missing"] == []
    early_submit = client.post(f"{base}/reports/{EARLY}/submit", json={}, headers=commander)
    assert early_submit.status_code == 409  # not reviewed yet
    reviewed = client.post(f"{base}/reports/{EARLY}/review", headers=commander)
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "reviewed"
    assert client.post(f"{base}/reports/{EARLY}/submit", json={}, headers=scribe).status_code == 403

    # An observer may read the report but not the people and facts in it.
    shown = client.get(f"{base}/reports/{EARLY}", headers=observer)
    assert shown.status_code == 200
    assert {f["value"] for f in shown.json()["fields"]} == {"[redacted: personal data]"}
    assert "access:redacted" in ledger_types(factory)

    sent_text = "Early warning as typed into the CSIRT portal.\n"
    submitted = client.post(
        f"{base}/reports/{EARLY}/submit",
        json={"content": sent_text, "receipt": "CSIRT-2026-0042"},
        headers=commander,
    )
    assert submitted.status_code == 200, submitted.text
    report = submitted.json()
    assert report["status"] == "submitted"
    assert report["clock_state"] == "submitted"
    assert report["submitted_sha256"] == hashlib.sha256(sent_text.encode()).hexdigest()
    assert report["receipt"] == "CSIRT-2026-0042"
    after = client.patch(
        f"{base}/reports/{EARLY}", json={"fields": {"summary": "x"}}, headers=scribe
    )
    assert after.status_code == 409

    running = client.get("/api/v1/obligation-clocks", headers=observer).json()
    assert [c["key"] for c in running] == ["eu-nis2.notification", "eu-nis2.final-report"]
    everything = client.get("/api/v1/obligation-clocks", params={"all": "true"}).json()
    assert len(everything) == 3
    types = ledger_types(factory)
    for entry_type in (
        "obligation:assessed",
        "obligation:triggered",
        "report:drafted",
        "report:edited",
        "report:reviewed",
        "report:submitted",
    ):
        assert entry_type in types


def test_nobody_reviews_what_they_drafted_or_edited(
    client: TestClient, ref: str, as_person: Headers
) -> None:
    commander = as_person(COMMANDER)
    base = f"/api/v1/incidents/{ref}"
    client.patch(f"{base}/assessment", json={"significant": True}, headers=commander)
    client.post(f"{base}/reports/{EARLY}", json={}, headers=commander)
    client.patch(
        f"{base}/reports/{EARLY}", json={"fields": {"suspected_malicious": "no"}}, headers=commander
    )
    own = client.post(f"{base}/reports/{EARLY}/review", headers=commander)
    assert own.status_code == 403
    assert "someone else must review it" in own.json()["message"]
    # The administrator edits too, so neither may review; a review undone by an edit.
    assert (
        client.patch(f"{base}/reports/{EARLY}", json={"fields": {"summary": "Warm-up"}}).status_code
        == 200
    )
    assert client.post(f"{base}/reports/{EARLY}/review").status_code == 403


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"aware_at": "2026-01-05T09:00:00"}, "aware_at"),
        ({"aware_at": "yesterday"}, "aware_at"),
        ({"aware_at": "2030-01-01T00:00:00Z"}, "aware_at"),
        ({"aware_at": "0001-01-01T00:00:00Z"}, "aware_at"),
        (
            {"aware_at": "2026-01-05T09:00:00Z", "classified_at": "2026-01-05T08:00:00Z"},
            "classified_at",
        ),
        ({"ransom_paid_at": "9999-12-31T23:59:59Z"}, "ransom_paid_at"),
        ({"significant": "yes"}, "significant"),
        ({"significant": 1}, "significant"),
        ({"colour": "red"}, "colour"),
        ({"impact_summary": "x" * 20_001}, "impact_summary"),
    ],
)
def test_bad_answers_are_refused_naming_the_field_and_change_nothing(
    client: TestClient, ref: str, factory: sessionmaker[Session], body: dict[str, Any], field: str
) -> None:
    before = counts(factory)
    refused = client.patch(f"/api/v1/incidents/{ref}/assessment", json=body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == field
    assert counts(factory) == before
    assert client.get(f"/api/v1/incidents/{ref}/obligations").json()["assessment"] is None


@pytest.mark.parametrize("key", ["eu-nis3.early-warning", "eu-nis2.warning", "eu-nis2", "x" * 300])
def test_an_unknown_report_key_is_a_404_naming_the_report(
    client: TestClient, ref: str, factory: sessionmaker[Session], key: str
) -> None:
    client.patch(f"/api/v1/incidents/{ref}/assessment", json={"significant": True})
    before = counts(factory)
    for method, suffix, body in (
        ("POST", "", {}),
        ("GET", "", None),
        ("PATCH", "", {"fields": {"summary": "x"}}),
        ("POST", "/review", None),
        ("POST", "/submit", {}),
    ):
        response = client.request(
            method, f"/api/v1/incidents/{ref}/reports/{key}{suffix}", json=body
        )
        assert response.status_code == 404, (method, suffix, response.text)
        assert response.json()["field"] == "report"
    assert counts(factory) == before


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"no_such_field": "x"}, "fields.no_such_field"),
        ({"summary": "x" * 20_001}, "fields.summary"),
        ({}, "fields"),
    ],
)
def test_a_bad_edit_names_the_field_and_changes_nothing(
    client: TestClient,
    ref: str,
    factory: sessionmaker[Session],
    fields: dict[str, str],
    named: str,
) -> None:
    base = f"/api/v1/incidents/{ref}"
    client.patch(f"{base}/assessment", json={"significant": True})
    drafted = client.post(f"{base}/reports/{EARLY}", json={}).json()
    before = counts(factory)
    refused = client.patch(f"{base}/reports/{EARLY}", json={"fields": fields})
    assert refused.status_code == 422, refused.text
    assert refused.json()["field"] == named
    assert counts(factory) == before
    assert client.get(f"{base}/reports/{EARLY}").json()["fields"] == drafted["fields"]


def test_oversized_submissions_are_refused(
    client: TestClient, ref: str, as_person: Headers
) -> None:
    base = f"/api/v1/incidents/{ref}"
    client.patch(f"{base}/assessment", json={"significant": True})
    client.post(f"{base}/reports/{EARLY}", json={}, headers=as_person(SCRIBE))
    client.patch(
        f"{base}/reports/{EARLY}",
        json={"fields": {"suspected_malicious": "no"}},
        headers=as_person(SCRIBE),
    )
    assert client.post(f"{base}/reports/{EARLY}/review").status_code == 200
    long_receipt = client.post(f"{base}/reports/{EARLY}/submit", json={"receipt": "r" * 201})
    assert long_receipt.json()["field"] == "receipt"
    long_text = client.post(f"{base}/reports/{EARLY}/submit", json={"content": "c" * 500_001})
    assert long_text.status_code == 422
    assert long_text.json()["field"] == "content"
    assert client.get(f"{base}/reports/{EARLY}").json()["status"] == "reviewed"


def test_the_incident_page_shows_each_clock_in_words(
    client: TestClient, ref: str, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="amara-osei", name="web", actor="test"
        )
    browser = TestClient(client.app)
    assert browser.get(f"/login?token={secret}", follow_redirects=False).status_code == 303
    empty = browser.get(f"/incidents/{ref}").text
    assert "Regulatory clocks" in empty
    assert "None running." in empty
    client.patch(f"/api/v1/incidents/{ref}/assessment", json={"significant": True})
    page = browser.get(f"/incidents/{ref}").text
    assert "EU NIS2 significant incident: Early warning" in page
    assert "RUNNING" in page
    assert "in 1 d 0 h" in page
    assert "(provisional)" in page


@pytest.fixture
def app_with(
    engine: Engine,
    clock: ManualClock,
    tmp_path: Path,
    facility: None,
    factory: sessionmaker[Session],
) -> Iterator[Callable[[Path], TestClient]]:
    """A client for an app whose COHERENCE_OBLIGATIONS_FILE is the given path."""
    opened: list[TestClient] = []

    def build(path: Path) -> TestClient:
        with session_scope(factory) as session:
            _row, secret = access_service.create_token(
                session, clock=clock, person_key="amara-osei", name="t", actor="test"
            )
        settings = Settings(data_dir=tmp_path / "data", obligations_file=path)
        test_client = TestClient(
            create_app(settings, engine=engine, clock=clock, run_workers=False)
        )
        test_client.headers["Authorization"] = f"Bearer {secret}"
        opened.append(test_client)
        return test_client

    yield build
    for test_client in opened:
        test_client.close()


def test_the_obligations_file_setting_overrides_the_shipped_one(
    app_with: Callable[[Path], TestClient], tmp_path: Path
) -> None:
    shipped = (
        Path(__file__).resolve().parents[2] / "src/coherence/obligations/data/obligations.yaml"
    )
    data = yaml.safe_load(shipped.read_text())
    data["obligations"] = [o for o in data["obligations"] if o["key"] == "gdpr-art33"]
    path = tmp_path / "obligations.yaml"
    path.write_text(yaml.safe_dump(data))
    api = app_with(path)
    listed = api.get("/api/v1/obligations").json()
    assert listed["source"] == str(path)
    assert [o["key"] for o in listed["obligations"]] == ["gdpr-art33"]
    incident = api.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    answered = api.patch(
        f"/api/v1/incidents/{incident}/assessment",
        json={"significant": True, "personal_data": True},
    ).json()
    assert answered["started"] == ["gdpr-art33.notification"]

    data["obligations"][0]["trigger"]["requires"] = ["personal_data", "telepathy"]
    path.write_text(yaml.safe_dump(data))
    refused = api.get("/api/v1/obligations")
    assert refused.status_code == 422
    assert refused.json()["field"] == str(path)
    assert refused.json()["problems"][0]["path"] == "obligations[0].trigger.requires[1]"


def test_the_ledger_never_holds_report_text(
    client: TestClient, ref: str, factory: sessionmaker[Session]
) -> None:
    base = f"/api/v1/incidents/{ref}"
    client.patch(f"{base}/assessment", json={"significant": True})
    client.post(f"{base}/reports/{EARLY}", json={})
    secret = "DPO is Jane Roe, +15555550199"
    client.patch(f"{base}/reports/{EARLY}", json={"fields": {"contact": secret}})
    with session_scope(factory) as session:
        payloads = [json.loads(p) for p in session.scalars(select(LedgerEntry.payload))]
    assert not any(secret in json.dumps(p) for p in payloads)
