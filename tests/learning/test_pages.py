"""The dashboard's near-miss form, a near miss's page, the lessons and summary pages."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.db import session_scope
from tests.conftest import ManualClock
from tests.helpers import counts


def signed_in(client: TestClient, factory: sessionmaker[Session], clock: ManualClock) -> TestClient:
    with session_scope(factory) as session:
        _row, secret = access_service.create_token(
            session, clock=clock, person_key="priya-raman", name="web", actor="test"
        )
    browser = TestClient(client.app)
    browser.post("/login", data={"token": secret}, follow_redirects=False)
    return browser


def test_a_near_miss_is_reported_from_the_short_form(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    browser = signed_in(client, factory, clock)
    page = browser.get("/near-misses")
    assert page.status_code == 200
    assert "Report a near miss" in page.text
    before = counts(factory)
    bad = browser.post("/near-misses", data={"what_happened": "", "category": "cryogenic"})
    assert bad.status_code == 422
    assert "what_happened" in bad.text
    assert counts(factory) == before
    made = browser.post(
        "/near-misses",
        data={"what_happened": "Ladder left by the magnet", "category": "magnet_safety",
              "site": "", "anonymous": "on"},
        follow_redirects=False,
    )  # fmt: skip
    assert made.status_code == 303
    assert made.headers["location"] == "/near-misses/NM-00001"
    shown = browser.get("/near-misses/NM-00001")
    assert "reported" in shown.text
    assert "anonymously" in shown.text
    assert "priya-raman" not in shown.text.split("Signed in as")[0]
    finding = browser.post(
        "/near-misses/NM-00001/findings",
        data={"title": "No keep-out line", "what_happened": "Nothing marks the 5 gauss line",
              "owner": "tomasz-kowal"},
        follow_redirects=False,
    )  # fmt: skip
    assert finding.status_code == 303
    assert "NM-00001/F1" in browser.get("/near-misses/NM-00001").text
    document = client.get("/api/v1/playbooks/dilution-refrigerator-warm-up").json()["document"]
    document["steps"][0]["title"] = "Mark the 5 gauss line"
    proposed = client.post(
        "/api/v1/near-misses/NM-00001/findings/1/change",
        json={"rationale": "Mark the line", "document": document},
    )
    assert proposed.status_code == 201, proposed.text
    reviews = browser.get("/playbook-reviews")
    assert reviews.status_code == 200
    assert "NM-00001/F1" in reviews.text
    assert browser.get("/near-misses/NM-00077").status_code == 404


def test_the_lessons_and_summary_pages(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    browser = signed_in(client, factory, clock)
    lessons = browser.get("/lessons", params={"q": "valve", "category": "cryogenic"})
    assert lessons.status_code == 200
    assert "No lessons match" in lessons.text
    summary = browser.get("/readiness-summary")
    assert summary.status_code == 200
    assert "Open risks" in summary.text
    assert browser.get("/readiness-summary", params={"for": "nobody"}).status_code == 404
