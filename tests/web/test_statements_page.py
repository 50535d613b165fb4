"""Pre-cleared messaging on the dashboard: approvals, the status-page preview, issuing."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.comms import statements_service
from coherence.db import session_scope

from .test_live import signed_in

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
PUBLIC = "public-initial"
Headers = Callable[[str], dict[str, str]]

pytestmark = pytest.mark.usefixtures("templates")


@pytest.fixture
def templates(factory: sessionmaker[Session], clock: ManualClock) -> None:
    """The shipped statement templates, written by amara-osei (so she cannot clear them)."""
    with session_scope(factory) as session:
        statements_service.load_shipped_templates(session, clock=clock, actor="amara-osei")


def signed_in_as(client: TestClient, headers: dict[str, str]) -> TestClient:
    """Sign the client's browser in with another person's token."""
    client.headers.update(headers)
    return signed_in(client)


def section(page: str, key: str) -> str:
    return page.split(f'id="template-{key}"', 1)[1].split("</section>", 1)[0]


def test_the_templates_page_lists_versions_with_what_each_still_needs(client: TestClient) -> None:
    page = signed_in(client).get("/statements")
    assert page.status_code == 200
    shown = section(page.text, PUBLIC)
    assert "external: needs clearance" in shown
    assert "✎ draft</strong>: needs public information officer, legal" in shown.replace("_", " ")
    assert "Approve v1" not in shown  # amara-osei wrote it: she may not clear it


def test_an_uncleared_public_statement_is_refused_and_nothing_is_issued(
    client: TestClient,
) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    browser = signed_in(client)
    page = browser.post(f"/incidents/{ref}/statements", data={"template": PUBLIC})
    assert page.status_code == 409
    assert "has not been cleared" in page.text
    assert "(field: <code>template</code>)" in page.text
    assert "None issued." in browser.get(f"/incidents/{ref}").text


def test_clear_preview_and_issue_from_the_dashboard(client: TestClient, as_person: Headers) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    pio = signed_in_as(client, as_person("lucia-ferreira"))
    cleared = pio.post(f"/statements/templates/{PUBLIC}/versions/1/approve")
    assert cleared.status_code == 200
    assert "public information officer: lucia-ferreira" in section(cleared.text, PUBLIC)
    again = pio.post(f"/statements/templates/{PUBLIC}/versions/1/approve")
    assert again.status_code == 409
    assert "already approved" in again.text
    pio.cookies.clear()
    lawyer = signed_in_as(client, as_person("sofia-brandt"))
    assert "✓ approved" in section(
        lawyer.post(f"/statements/templates/{PUBLIC}/versions/1/approve").text, PUBLIC
    )
    lawyer.cookies.clear()
    browser = signed_in_as(client, as_person("amara-osei"))
    preview = browser.get(f"/incidents/{ref}/statements/preview?template={PUBLIC}")
    assert preview.status_code == 200
    assert "Preview — not published." in preview.text
    assert "We are dealing with a technical problem" in preview.text
    issued = browser.post(f"/incidents/{ref}/statements", data={"template": PUBLIC})
    assert issued.status_code == 200
    assert issued.url.path == f"/incidents/{ref}"
    assert f"<code>{PUBLIC}</code> v1" in issued.text.split('id="statements"', 1)[1]
    assert "We are dealing with a technical problem" in browser.get("/status").text


def test_hostile_template_names_are_refused_naming_the_field(client: TestClient) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    browser = signed_in(client)
    for bad in ("../etc", "a" * 70, "<script>"):
        page = browser.post(f"/incidents/{ref}/statements", data={"template": bad})
        assert page.status_code == 422
        assert "template" in page.text
        preview = browser.get(f"/incidents/{ref}/statements/preview", params={"template": bad})
        assert preview.status_code == 422
    unknown = browser.get(f"/incidents/{ref}/statements/preview?template=no-such-template")
    assert unknown.status_code == 404
    assert "no statement template" in unknown.text
