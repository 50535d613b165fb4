"""The playbook library on the dashboard: versions, steps and the diff between versions."""

from __future__ import annotations

import copy

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.playbooks import service as playbooks_service

from .test_live import signed_in

KEY = "dilution-refrigerator-warm-up"


def publish_second_version(factory: sessionmaker[Session], clock: ManualClock) -> None:
    """Shorten the first step's time box and add a hazard, as a review might."""
    with session_scope(factory) as session:
        current = playbooks_service.get_latest_or_raise(session, KEY)
        changed = copy.deepcopy(current.document)
        changed["steps"][0]["due_minutes"] = 2
        changed["steps"][0]["hazard"] = "Cold surfaces: wear cryogenic gloves."
        playbooks_service.publish(
            session, clock=clock, data=changed, actor="amara-osei", source="test"
        )


def test_the_library_lists_every_playbook(client: TestClient) -> None:
    page = signed_in(client).get("/playbooks")
    assert page.status_code == 200
    assert f'href="/playbooks/{KEY}"' in page.text


def test_a_new_version_shows_what_changed_from_the_one_before(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    publish_second_version(factory, clock)
    browser = signed_in(client)
    page = browser.get(f"/playbooks/{KEY}")
    assert page.status_code == 200
    assert "What changed from v1 to v2" in page.text
    assert '<span class="diff-del">-  due_minutes: 5.0</span>' in page.text
    assert '<span class="diff-add">+  due_minutes: 2.0</span>' in page.text
    assert "+  hazard: &#39;Cold surfaces: wear cryogenic gloves.&#39;" in page.text
    first = browser.get(f"/playbooks/{KEY}?version=1")
    assert "This is the first version." in first.text
    same = browser.get(f"/playbooks/{KEY}?version=2&compare=2")
    assert "No change in content from v2." in same.text


def test_unknown_playbooks_and_versions_are_clear_404s(client: TestClient) -> None:
    browser = signed_in(client)
    assert browser.get("/playbooks/no-such-playbook").status_code == 404
    missing = browser.get(f"/playbooks/{KEY}?version=9")
    assert missing.status_code == 404
    assert "has no version 9" in missing.text
    for bad in ("version=0", "version=x", "compare=-1"):
        assert browser.get(f"/playbooks/{KEY}?{bad}").status_code == 422
    assert browser.get("/playbooks/Bad..Key").status_code in (404, 422)
