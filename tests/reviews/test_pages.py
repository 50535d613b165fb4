"""The dashboard: the review page carries a finding to a new version; metrics and due dates."""

from __future__ import annotations

from datetime import timedelta

import yaml
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import passwords
from coherence.db import session_scope
from tests.conftest import ManualClock
from tests.reviews.test_api import FINDING, PLAYBOOK, opened, revised

PASSWORD = "correct horse battery staple"


def signed_in(client: TestClient, factory: sessionmaker[Session], clock: ManualClock) -> str:
    """Open an incident over the API, then sign the client in to the dashboard as amara."""
    ref = opened(client)
    with session_scope(factory) as session:
        passwords.set_password(
            session, clock=clock, person_key="amara-osei", password=PASSWORD, actor="test"
        )
    del client.headers["Authorization"]
    response = client.post(
        "/login", data={"person": "amara-osei", "password": PASSWORD}, follow_redirects=False
    )
    assert response.status_code == 303
    return ref


def test_review_page_shows_findings_diffs_and_errors(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    document = revised(client)
    ref = signed_in(client, factory, clock)
    assert "No review yet" in client.get(f"/incidents/{ref}/review").text
    added = client.post(f"/incidents/{ref}/review/findings", data=FINDING, follow_redirects=False)
    assert added.status_code == 303
    bad = client.post(f"/incidents/{ref}/review/findings", data={**FINDING, "owner": "ghost"})
    assert bad.status_code == 422
    assert "owner" in bad.text
    proposed = client.post(
        f"/incidents/{ref}/review/findings/1/change",
        data={"rationale": "Name the right rota", "document": yaml.safe_dump(document)},
        follow_redirects=False,
    )
    assert proposed.status_code == 303
    page = client.get(f"/incidents/{ref}/review").text
    assert f"{ref}/F1" in page
    assert "+review_interval_days: 180" in page
    assert "Submit for review" in page
    broken = client.post(
        f"/incidents/{ref}/review/findings/1/change",
        data={"rationale": "r", "document": "key: [unclosed"},
    )
    assert broken.status_code == 422
    assert "not valid YAML" in broken.text


def test_metrics_and_playbook_review_pages(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    clock.advance(timedelta(days=400))
    signed_in(client, factory, clock)
    page = client.get("/playbook-reviews")
    assert page.status_code == 200
    assert "Not reviewed within their interval" in page.text
    recorded = client.post(
        "/playbook-reviews", data={"playbook": PLAYBOOK, "note": "ok"}, follow_redirects=False
    )
    assert recorded.status_code == 303
    metrics = client.get("/response-metrics", params={"by": "site", "period": "week"})
    assert metrics.status_code == 200
    assert 'class="metric-chart"' in metrics.text
    assert "<script" not in metrics.text.split("</head>")[1].split("live.js")[0]
