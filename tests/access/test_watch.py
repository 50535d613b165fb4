"""Watchful access: a token scraping incident records is caught, normal reading is not, and
each record's reads (TLP:RED and redacted ones included) are visible to auditors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import service as access_service
from coherence.access.domain import DataCategory, Tlp
from coherence.db import session_scope
from coherence.incidents import records as incident_records
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.models import Incident
from coherence.incidents.schemas import IncidentCreate
from coherence.watch import domain as watch
from coherence.watch.domain import Activity, History, Rule, Thresholds
from coherence.watch.service import WatchJob
from tests.conftest import ManualClock

NOW = datetime(2026, 1, 5, 10, tzinfo=UTC)
RULES = Thresholds()


def quiet(hours: dict[int, int], days: int = 14) -> History:
    return History(hours, {}, NOW - timedelta(days=days))


def test_a_new_principal_reading_past_the_floor_is_unusual_and_below_it_is_not() -> None:
    fresh = History({}, {}, None)
    busy = Activity("p", 60, 0, frozenset({10}))
    assert [f.rule for f in watch.assess(busy, fresh, RULES, now=NOW)] == [Rule.VOLUME]
    assert watch.assess(Activity("p", 50, 0, frozenset({10})), fresh, RULES, now=NOW) == []


def test_a_principal_that_always_reads_a_lot_is_judged_against_its_own_busy_hours() -> None:
    base = watch.hour_bucket(NOW) - 24 * 7
    usual = quiet({base + 24 * d: 100 for d in range(7)})
    assert watch.assess(Activity("auditor", 120, 0, frozenset({10})), usual, RULES, now=NOW) == []
    found = watch.assess(Activity("auditor", 301, 0, frozenset({10})), usual, RULES, now=NOW)
    assert [f.rule for f in found] == [Rule.VOLUME]
    assert found[0].baseline == 100


def test_many_amber_and_red_records_in_minutes_are_unusual() -> None:
    found = watch.assess(Activity("p", 20, 20, frozenset({10})), quiet({}), RULES, now=NOW)
    assert [f.rule for f in found] == [Rule.SENSITIVE_BURST]
    assert "20 TLP:AMBER or RED records in 10 minutes" in found[0].detail


def test_reading_at_an_hour_never_seen_is_unusual_once_the_history_is_settled() -> None:
    days = {watch.hour_bucket(NOW) - 24 * d: 5 for d in range(1, 10)}
    night = Activity("p", 12, 0, frozenset({3}))
    found = watch.assess(night, quiet(days), RULES, now=NOW)
    assert [f.rule for f in found] == [Rule.UNUSUAL_HOUR]
    assert "03:00 UTC" in found[0].detail
    assert watch.assess(Activity("p", 12, 0, frozenset({11})), quiet(days), RULES, now=NOW) == []
    assert watch.assess(night, quiet(days, days=3), RULES, now=NOW) == []
    assert watch.assess(Activity("p", 9, 0, frozenset({3})), quiet(days), RULES, now=NOW) == []


def _open_incidents(factory: sessionmaker[Session], clock: ManualClock, count: int) -> list[str]:
    refs = []
    with session_scope(factory) as session:
        for _ in range(count):
            incident = incidents_service.open_incident(
                session,
                clock=clock,
                actor="amara-osei",
                request=IncidentCreate(
                    asset="fridge-1", category="cryogenic", impact="minor", urgency="low"
                ),
            )
            refs.append(reference(incident.id))
    return refs


def test_a_token_scraping_records_is_caught_and_normal_reading_is_not(
    client: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    as_person: Callable[[str], dict[str, str]],
) -> None:
    refs = _open_incidents(factory, clock, 60)
    # Tomasz is an operator off shift: he holds no role on the incident the watch opens.
    scraper = as_person("tomasz-kowal")
    for ref in refs:
        assert client.get(f"/api/v1/incidents/{ref}", headers=scraper).status_code == 200
        clock.advance(timedelta(seconds=2))
    # Normal use meanwhile: the commander keeps a few incidents open and reloads them.
    for _ in range(10):
        for ref in refs[:5]:
            assert client.get(f"/api/v1/incidents/{ref}/timeline").status_code == 200
    job = WatchJob()
    assert job.run_if_due(factory, clock=clock) == 2
    with session_scope(factory) as session:
        opened = session.scalars(
            select(Incident).where(Incident.playbook_key == "data-exfiltration")
        ).all()
        assert len(opened) == 1
        exfil = opened[0]
        assert "tomasz-kowal (northbridge)" in exfil.summary
        assert "read 60 incident records in the last hour" in exfil.summary
        assert exfil.asset.key == "sc-ot-network"
        assert exfil.tlp == Tlp.RED.value
        assert {"amara-osei", "ines-laurent"} <= set(exfil.tlp_recipients or [])
        assert "tomasz-kowal" not in (exfil.tlp_recipients or [])
    findings = client.get("/api/v1/access/findings").json()
    assert {(f["person"], f["rule"]) for f in findings} == {
        ("tomasz-kowal", "volume"),
        ("tomasz-kowal", "sensitive_burst"),
    }
    assert {f["incident"] for f in findings} == {reference(exfil.id)}
    # The same reading is not raised again within the cool-down.
    clock.advance(timedelta(minutes=5))
    assert job.run_if_due(factory, clock=clock) == 0
    assert client.get("/api/v1/access/findings", headers=scraper).status_code == 403, (
        "the principal under suspicion may not read the findings"
    )


def test_each_record_shows_who_read_it_under_red_and_what_was_redacted(
    client: TestClient,
    factory: sessionmaker[Session],
    clock: ManualClock,
    as_person: Callable[[str], dict[str, str]],
) -> None:
    ref = _open_incidents(factory, clock, 1)[0]
    with session_scope(factory) as session:
        incident_records.add_note(
            session,
            clock=clock,
            ref=ref,
            text="Visitor badge 4411 was in the hall",
            actor="amara-osei",
            category=DataCategory.PERSONAL,
        )
    observer = as_person("campus-visitor-desk")
    assert client.get(f"/api/v1/incidents/{ref}/timeline", headers=observer).status_code == 200
    with session_scope(factory) as session:
        incident_records.label(
            session, clock=clock, ref=ref, tlp=Tlp.RED, recipients=["amara-osei"], actor="test"
        )
    assert client.get(f"/api/v1/incidents/{ref}").status_code == 200
    auditor = as_person("ines-laurent")
    history = client.get(f"/api/v1/incidents/{ref}/access", headers=auditor).json()
    assert [(r["person"], r["tlp"]) for r in history["reads"]] == [
        ("amara-osei", "RED"),
        ("campus-visitor-desk", "AMBER"),
    ]
    assert history["redactions"][0]["reader"] == "campus-visitor-desk"
    assert history["redactions"][0]["categories"] == ["personal"]
    red = client.get(f"/api/v1/incidents/{ref}/access", params={"tlp": "RED"}, headers=auditor)
    assert [r["person"] for r in red.json()["reads"]] == ["amara-osei"]
    assert client.get(f"/api/v1/incidents/{ref}/access", headers=observer).status_code == 403
    bad = client.get(f"/api/v1/incidents/{ref}/access", params={"tlp": "PURPLE"}, headers=auditor)
    assert bad.status_code == 422
    assert client.get("/api/v1/incidents/INC-99999/access", headers=auditor).status_code == 404


def test_the_access_history_page_is_for_auditors_and_administrators(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    ref = _open_incidents(factory, clock, 1)[0]
    assert client.get(f"/api/v1/incidents/{ref}").status_code == 200
    pages = {}
    for person in ("ines-laurent", "priya-raman"):
        with session_scope(factory) as session:
            _row, secret = access_service.create_token(
                session, clock=clock, person_key=person, name="page", actor="test"
            )
        browser = TestClient(client.app)
        browser.post("/login", data={"token": secret}, follow_redirects=False)
        pages[person] = browser.get(f"/incidents/{ref}/access")
    assert pages["ines-laurent"].status_code == 200
    assert "amara-osei" in pages["ines-laurent"].text
    assert f"/api/v1/incidents/{ref}" in pages["ines-laurent"].text
    assert pages["priya-raman"].status_code == 403
