"""Near misses over HTTP: a report in one call, anonymity, a review to a new playbook version."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.ledger.models import LedgerEntry
from coherence.watch.models import AccessEvent
from tests.helpers import counts

PLAYBOOK = "dilution-refrigerator-warm-up"
Headers = Callable[[str], dict[str, str]]
FINDING = {
    "title": "Valve left half open",
    "what_happened": "The helium recovery valve was found half open after the transfer.",
    "owner": "tomasz-kowal",
}


def report(client: TestClient, headers: dict[str, str] | None = None, **extra: Any) -> Any:
    body = {"what_happened": "Dewar nearly tipped at the fill station.", "category": "cryogenic"}
    response = client.post("/api/v1/near-misses", json=body | extra, headers=headers or {})
    assert response.status_code == 201, response.text
    return response.json()


def revised(client: TestClient) -> dict[str, Any]:
    document = copy.deepcopy(client.get(f"/api/v1/playbooks/{PLAYBOOK}").json()["document"])
    document["steps"][0]["title"] = "Check the recovery valve is shut before any transfer"
    return document


def test_a_named_report_records_its_reporter(client: TestClient, as_person: Headers) -> None:
    made = report(client, as_person("priya-raman"), asset="fridge-1")
    assert made["reference"] == "NM-00001"
    assert (made["reported_by"], made["anonymous"], made["site"]) == (
        "priya-raman",
        False,
        "sc-lab",
    )
    assert made["status"] == "reported"
    listed = client.get("/api/v1/near-misses", params={"category": "cryogenic"}).json()
    assert [n["reference"] for n in listed] == ["NM-00001"]


def test_an_anonymous_report_keeps_the_reporter_nowhere(
    client: TestClient, as_person: Headers, factory: sessionmaker[Session]
) -> None:
    made = report(client, as_person("priya-raman"), anonymous=True, tlp="GREEN")
    assert made["reported_by"] is None
    assert made["anonymous"] is True
    with session_scope(factory) as session:
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "near_miss:reported")
        ).one()
        assert entry.actor == "anonymous"
        assert "priya" not in entry.payload
        assert session.scalar(select(func.count()).select_from(AccessEvent)) == 0
    shown = client.get(f"/api/v1/near-misses/{made['reference']}").json()
    assert shown["reported_by"] is None


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"category": "cryogenic"}, "what_happened"),
        ({"what_happened": "x", "category": "weather"}, "category"),
        ({"what_happened": "x", "category": "cryogenic", "asset": "no-such-asset"}, "asset"),
        ({"what_happened": "x", "category": "cryogenic", "tlp": "RED"}, "tlp"),
        (
            {"what_happened": "x", "category": "cryogenic", "site": "ion-lab", "asset": "fridge-1"},
            "asset",
        ),
        ({"what_happened": "x" * 5001, "category": "cryogenic"}, "what_happened"),
        ({"what_happened": "x", "category": "cryogenic", "reporter": "me"}, "reporter"),
        ({"what_happened": "x", "category": "Cryo'; drop table near_misses;--"}, "category"),
    ],
)
def test_a_bad_report_names_the_field_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], body: dict[str, Any], field: str
) -> None:
    before = counts(factory)
    response = client.post("/api/v1/near-misses", json=body)
    assert response.status_code in (404, 422), response.text
    assert field in response.text
    assert counts(factory) == before
    assert client.get("/api/v1/near-misses").json() == []


def test_a_near_miss_review_changes_a_playbook(client: TestClient, as_person: Headers) -> None:
    ref = report(client, anonymous=True)["reference"]
    priya = as_person("priya-raman")
    added = client.post(f"/api/v1/near-misses/{ref}/findings", json=FINDING, headers=priya)
    assert added.status_code == 201, added.text
    assert added.json()["reference"] == f"{ref}/F1"
    assert client.get(f"/api/v1/near-misses/{ref}").json()["status"] == "reviewing"
    base = f"/api/v1/near-misses/{ref}/findings/1/change"
    proposed = client.post(
        base, json={"rationale": "Shut the valve first", "document": revised(client)}, headers=priya
    )
    assert proposed.status_code == 201, proposed.text
    assert proposed.json()["finding"] == f"{ref}/F1"
    assert client.post(base + "/submit", headers=priya).json()["status"] == "in_review"
    own = client.post(base + "/approve", json={}, headers=as_person("amara-osei"))
    assert own.status_code == 200, own.text
    assert own.json()["published_version"] == 2
    version = client.get(f"/api/v1/playbooks/{PLAYBOOK}/versions/2").json()
    assert version["finding"] == f"{ref}/F1"
    assert [c["finding"] for c in client.get(
        "/api/v1/playbook-changes", params={"status": "approved"}
    ).json()] == [f"{ref}/F1"]  # fmt: skip
    closed = client.post(f"/api/v1/near-misses/{ref}/close", json={"note": "Playbook v2"})
    assert closed.json()["status"] == "closed"
    late = client.post(f"/api/v1/near-misses/{ref}/findings", json=FINDING, headers=priya)
    assert late.status_code == 409
    reopened = client.post(f"/api/v1/near-misses/{ref}/reopen", json={"note": "One more"})
    assert reopened.json()["status"] == "reviewing"


def test_the_proposer_cannot_approve_and_observers_cannot_review(
    client: TestClient, as_person: Headers
) -> None:
    ref = report(client)["reference"]
    assert client.post(f"/api/v1/near-misses/{ref}/findings", json=FINDING).status_code == 201
    base = f"/api/v1/near-misses/{ref}/findings/1/change"
    client.post(base, json={"rationale": "r", "document": revised(client)})
    client.post(base + "/submit")
    refused = client.post(base + "/approve", json={})
    assert refused.status_code == 403
    assert "proposer" in refused.text
    observer = as_person("campus-visitor-desk")
    assert client.post(
        f"/api/v1/near-misses/{ref}/findings", json=FINDING, headers=observer
    ).status_code == 403  # fmt: skip
    # Anyone in an operator organisation may report one, observers too.
    report(client, observer)


def test_unknown_near_miss_and_finding_are_404s(client: TestClient) -> None:
    assert client.get("/api/v1/near-misses/NM-09999").status_code == 404
    bad = client.get("/api/v1/near-misses/not-a-ref")
    assert bad.status_code == 422
    assert "near_miss" in bad.text
    ref = report(client)["reference"]
    missing = client.patch(f"/api/v1/near-misses/{ref}/findings/3", json={"status": "done"})
    assert missing.status_code == 404


@pytest.mark.parametrize("number", [0, -1, 2**64])
def test_a_finding_number_out_of_range_is_refused_and_changes_nothing(
    client: TestClient, factory: sessionmaker[Session], number: int
) -> None:
    ref = report(client)["reference"]
    assert client.post(f"/api/v1/near-misses/{ref}/findings", json=FINDING).status_code == 201
    before = counts(factory)
    base = f"/api/v1/near-misses/{ref}/findings/{number}"
    for response in (
        client.patch(base, json={"title": "renamed"}),
        client.post(base + "/change", json={"rationale": "r", "document": revised(client)}),
        client.post(base + "/change/submit"),
    ):
        assert response.status_code == 422, response.text
        assert "number" in response.text
    assert counts(factory) == before
