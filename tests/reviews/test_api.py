"""The review API: findings, a change carried to a new playbook version, access after closure."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient

from tests.conftest import ManualClock

PLAYBOOK = "dilution-refrigerator-warm-up"
Headers = Callable[[str], dict[str, str]]


def opened(client: TestClient) -> str:
    response = client.post("/api/v1/incidents", json={"asset": "fridge-1", "playbook": PLAYBOOK})
    assert response.status_code == 201, response.text
    return str(response.json()["reference"])


def close(client: TestClient, ref: str) -> None:
    for status in ("acknowledged", "contained", "resolved"):
        moved = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": status})
        assert moved.status_code == 200, moved.text
    for task in client.get(f"/api/v1/incidents/{ref}/tasks").json():
        if task["status"] == "open":
            client.patch(f"/api/v1/tasks/{task['id']}", json={"status": "skipped", "note": "n/a"})
    moved = client.post(f"/api/v1/incidents/{ref}/transition", json={"status": "closed"})
    assert moved.status_code == 200, moved.text


def revised(client: TestClient) -> dict[str, Any]:
    document = copy.deepcopy(client.get(f"/api/v1/playbooks/{PLAYBOOK}").json()["document"])
    document["steps"][0]["title"] = "Page the cryogenics on-call and confirm the alarm on site"
    document["review_interval_days"] = 180
    return document


FINDING = {
    "title": "Pager reached the wrong rota",
    "what_happened": "The first page went to last week's on-call.",
    "owner": "tomasz-kowal",
    "due_on": "2026-02-01",
}


def test_a_finding_is_carried_through_to_a_new_playbook_version(
    client: TestClient, as_person: Headers
) -> None:
    ref = opened(client)
    priya = as_person("priya-raman")
    added = client.post(f"/api/v1/incidents/{ref}/review/findings", json=FINDING, headers=priya)
    assert added.status_code == 201, added.text
    assert added.json()["reference"] == f"{ref}/F1"
    base = f"/api/v1/incidents/{ref}/review/findings/1/change"
    proposed = client.post(
        base, json={"rationale": "Name the right rota", "document": revised(client)}, headers=priya
    )
    assert proposed.status_code == 201, proposed.text
    diff = proposed.json()["diff"]
    assert f"--- {PLAYBOOK} v1" in diff
    assert "+review_interval_days: 180" in diff
    assert "+  title: Page the cryogenics on-call and confirm the alarm on site" in diff
    assert client.post(base + "/approve", json={}).status_code == 409  # still a draft
    assert client.post(base + "/approve", json={}, headers=priya).status_code == 403
    assert client.post(base + "/submit", headers=priya).json()["status"] == "in_review"
    approved = client.post(base + "/approve", json={"note": "Good catch"})
    assert approved.status_code == 200, approved.text
    assert approved.json()["published_version"] == 2
    version = client.get(f"/api/v1/playbooks/{PLAYBOOK}/versions/2").json()
    assert version["finding"] == f"{ref}/F1"
    assert version["document"]["review_interval_days"] == 180
    finding = client.get(f"/api/v1/incidents/{ref}/review/findings/1").json()
    assert finding["playbook_versions"] == [f"{PLAYBOOK}@2"]
    assert client.get("/api/v1/playbook-changes").json() == []
    listed = client.get("/api/v1/playbook-changes", params={"status": "approved"}).json()
    assert [c["finding"] for c in listed] == [f"{ref}/F1"]


def test_the_proposer_cannot_approve_their_own_change(client: TestClient) -> None:
    ref = opened(client)
    client.post(f"/api/v1/incidents/{ref}/review/findings", json=FINDING)
    base = f"/api/v1/incidents/{ref}/review/findings/1/change"
    client.post(base, json={"rationale": "r", "document": revised(client)})
    client.post(base + "/submit")
    refused = client.post(base + "/approve", json={})
    assert refused.status_code == 403
    assert refused.json()["field"] == "actor"
    assert client.get(f"/api/v1/playbooks/{PLAYBOOK}").json()["version"] == 1


def test_a_stale_change_is_refused_and_a_rejected_one_can_be_redone(
    client: TestClient, as_person: Headers
) -> None:
    ref = opened(client)
    priya = as_person("priya-raman")
    client.post(f"/api/v1/incidents/{ref}/review/findings", json=FINDING, headers=priya)
    base = f"/api/v1/incidents/{ref}/review/findings/1/change"
    document = revised(client)
    client.post(base, json={"rationale": "r", "document": document}, headers=priya)
    client.post(base + "/submit", headers=priya)
    other = revised(client)
    other["summary"] = "Published meanwhile by hand."
    assert client.post("/api/v1/playbooks", json=other).status_code == 200
    stale = client.post(base + "/approve", json={})
    assert stale.status_code == 409
    assert stale.json()["field"] == "base_version"
    assert client.post(base + "/reject", json={}).status_code == 422
    rejected = client.post(base + "/reject", json={"note": "written against v1"})
    assert rejected.json()["status"] == "rejected"
    again = client.post(base, json={"rationale": "r2", "document": document}, headers=priya)
    assert again.status_code == 201
    assert again.json()["base_version"] == 2
    assert len(client.get(f"/api/v1/incidents/{ref}/review/findings/1").json()["changes"]) == 2


def test_closed_incidents_take_review_writes_from_reviewers_only(
    client: TestClient, as_person: Headers
) -> None:
    ref = opened(client)
    close(client, ref)
    url = f"/api/v1/incidents/{ref}/review/findings"
    assert client.post(url, json=FINDING, headers=as_person("priya-raman")).status_code == 403
    assert client.post(url, json=FINDING).status_code == 201  # amara holds after_action_review
    shown = client.get(f"/api/v1/incidents/{ref}/review").json()
    assert shown["incident_status"] == "closed"
    assert [f["title"] for f in shown["findings"]] == [FINDING["title"]]


def test_finding_status_moves_and_wont_do_needs_a_reason(client: TestClient) -> None:
    ref = opened(client)
    client.post(f"/api/v1/incidents/{ref}/review/findings", json=FINDING)
    url = f"/api/v1/incidents/{ref}/review/findings/1"
    assert client.patch(url, json={"status": "in_progress"}).json()["status"] == "in_progress"
    refused = client.patch(url, json={"status": "wont_do"})
    assert refused.status_code == 422
    assert refused.json()["field"] == "reason"
    done = client.patch(url, json={"status": "wont_do", "reason": "rota tool replaced"})
    assert done.json()["reason"] == "rota tool replaced"
    assert client.patch(url, json={"status": "done"}).status_code == 409
    assert client.patch(url, json={"status": "open"}).json()["reason"] is None


def test_hostile_input_is_a_4xx_naming_the_field_and_changes_nothing(client: TestClient) -> None:
    ref = opened(client)
    url = f"/api/v1/incidents/{ref}/review/findings"
    cases: list[tuple[dict[str, Any], str]] = [
        ({**FINDING, "due_on": "2026-13-45"}, "due_on"),
        ({**FINDING, "owner": "nobody-at-all"}, "owner"),
        ({**FINDING, "title": ""}, "title"),
        ({**FINDING, "title": "x" * 5000}, "title"),
        ({**FINDING, "extra": 1}, "extra"),
    ]
    for body, field in cases:
        response = client.post(url, json=body)
        assert response.status_code == 422, (field, response.text)
        assert field in response.text
    assert client.get(f"/api/v1/incidents/{ref}/review").status_code == 404
    client.post(url, json=FINDING)
    change = f"{url}/1/change"
    broken = revised(client)
    broken["steps"][0]["owner_role"] = "wizard"
    bad = client.post(change, json={"rationale": "r", "document": broken})
    assert bad.status_code == 422
    assert "steps[0].owner_role" in bad.text
    same = client.get(f"/api/v1/playbooks/{PLAYBOOK}").json()["document"]
    assert client.post(change, json={"rationale": "r", "document": same}).status_code == 422
    assert client.get(f"{url}/1").json()["changes"] == []
    assert client.get(f"{url}/99").status_code == 404
    assert client.get(f"{url}/0").status_code == 422
    assert client.get(f"/api/v1/incidents/{ref}/review/findings/abc").status_code == 422


def test_playbooks_past_their_review_interval_are_flagged(
    client: TestClient, clock: ManualClock
) -> None:
    assert client.get("/api/v1/playbook-reviews", params={"overdue": True}).json() == []
    clock.advance(timedelta(days=366))
    overdue = client.get("/api/v1/playbook-reviews", params={"overdue": True}).json()
    assert PLAYBOOK in {s["playbook"] for s in overdue}
    assert all(s["interval_days"] == 365 for s in overdue)
    recorded = client.post("/api/v1/playbook-reviews", json={"playbook": PLAYBOOK, "note": "ok"})
    assert recorded.status_code == 201, recorded.text
    after = client.get("/api/v1/playbook-reviews", params={"overdue": True}).json()
    assert PLAYBOOK not in {s["playbook"] for s in after}
    mine = next(
        s for s in client.get("/api/v1/playbook-reviews").json() if s["playbook"] == PLAYBOOK
    )
    assert mine["last_review"] == "reviewed, no change"
    unknown = client.post("/api/v1/playbook-reviews", json={"playbook": "no-such-playbook"})
    assert unknown.status_code == 404
    assert client.post("/api/v1/playbook-reviews", json={"playbook": "Bad Key"}).status_code == 422
