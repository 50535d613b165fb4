"""Printable briefings: ICS 201 and ICS 209 pages built from the incident's records."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient

from .test_live import signed_in

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}


def opened(client: TestClient) -> dict[str, Any]:
    incident: dict[str, Any] = client.post("/api/v1/incidents", json=WARM_UP).json()
    ref = incident["reference"]
    decision = {"decision": "Warm to 4 K", "rationale": "MXC above 50 mK for 10 min"}
    assert client.post(f"/api/v1/incidents/{ref}/decisions", json=decision).status_code < 300
    return incident


def test_the_briefing_prints_situation_hazards_actions_and_organisation(
    client: TestClient,
) -> None:
    ref = opened(client)["reference"]
    page = signed_in(client).get(f"/incidents/{ref}/ics201")
    assert page.status_code == 200
    text = page.text
    for heading in (
        "3. Situation summary",
        "4. Health and safety briefing",
        "6. Current and planned actions",
        "7. Current organisation",
    ):
        assert heading in text
    assert "⚠" in text  # the warm-up playbook names hazards
    assert "Warm to 4 K" in text
    assert "Incident commander" in text or "incident commander" in text.lower()
    assert "@media print" in client.get("/static/style.css").text


def test_the_status_summary_prints_times_command_and_work(client: TestClient) -> None:
    ref = opened(client)["reference"]
    browser = signed_in(client)
    page = browser.get(f"/incidents/{ref}/ics209")
    assert page.status_code == 200
    assert "Incident status summary" in page.text
    assert "open (" in page.text
    assert "Warm to 4 K" in page.text
    incident_page = browser.get(f"/incidents/{ref}")
    assert f'href="/incidents/{ref}/ics201"' in incident_page.text
    assert f'href="/incidents/{ref}/ics209"' in incident_page.text


def test_an_unknown_incident_is_a_clear_404_page(client: TestClient) -> None:
    browser = signed_in(client)
    for form in ("ics201", "ics209"):
        page = browser.get(f"/incidents/INC-99999/{form}")
        assert page.status_code == 404
        assert "INC-99999" in page.text or "99999" in page.text
