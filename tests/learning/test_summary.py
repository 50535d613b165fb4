"""Partner readiness summaries, and access events going under retention."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import retention_service
from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.evidence.store import LocalStore
from coherence.ledger import note
from coherence.ledger.models import LedgerEntry
from coherence.risk import service as risk_service
from coherence.training import loading
from coherence.watch.models import AccessEvent
from tests.conftest import ManualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
Headers = Callable[[str], dict[str, str]]


@pytest.fixture
def prepared(factory: sessionmaker[Session], clock: ManualClock, agreements: None) -> None:
    with session_scope(factory) as session:
        risk_service.load_register(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "risks.yaml"),
            actor="test",
            source="risks.yaml",
        )
        loading.load_curriculum(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "curriculum.yaml"),
            actor="test",
            source="curriculum.yaml",
        )


@pytest.mark.usefixtures("prepared")
def test_the_facility_sees_the_whole_summary(client: TestClient) -> None:
    response = client.get("/api/v1/readiness-summary")
    assert response.status_code == 200, response.text
    summary = response.json()
    assert summary["tlp"] == "AMBER"
    assert sum(summary["risks"]["by_band"].values()) >= 3
    top = summary["risks"]["top"][0]
    assert top["key"] == "fridge-1-warm-up"
    assert "Pulse-tube" in top["scenario"]
    assert {r["role"] for r in summary["roles"]} == {"incident_commander", "safety_officer"}


@pytest.mark.usefixtures("prepared")
def test_a_partner_summary_holds_back_what_its_agreement_does_not_share(
    client: TestClient, as_person: Headers
) -> None:
    whole = client.get("/api/v1/readiness-summary").json()
    shown = client.get("/api/v1/readiness-summary", params={"for": "polar-cryogenics"}).json()
    assert (shown["agreements"], shown["organisation"]) == (["nb-polar-cryo"], "northbridge")
    assert shown["risks"]["detail_withheld"] is True
    assert all(r["scenario"].startswith("[redacted:") for r in shown["risks"]["top"])
    kinds = {"dilution_refrigerator", "pulse_tube_compressor", "helium_supply"}
    assert all(set(r["asset_kinds"]) & kinds for r in shown["risks"]["top"])
    assert sum(shown["risks"]["by_band"].values()) < sum(whole["risks"]["by_band"].values())
    text = orjson.dumps(shown).decode()
    assert "amara-osei" not in text
    assert "ravi-menon" not in text
    package = client.get(
        "/api/v1/readiness-summary/package", headers=as_person("polar-cryo-support")
    )
    assert package.status_code == 200, package.text
    document = orjson.loads(package.content)
    assert document["summary"]["summary"]["recipient"] == "polar-cryogenics"
    verifier = client.get("/api/v1/ledger/key").text.strip()
    assert note.open_note(document["signature"], [verifier]).startswith(
        "coherence-readiness-summary/1\nnorthbridge polar-cryogenics\n"
    )


@pytest.mark.parametrize(("who", "status"), [("no-such-org", 404), ("nqc-ion-group", 404)])
@pytest.mark.usefixtures("prepared")
def test_no_summary_for_an_unknown_or_unbound_organisation(
    client: TestClient, who: str, status: int
) -> None:
    response = client.get("/api/v1/readiness-summary", params={"for": who})
    assert response.status_code == status, response.text
    assert "organisation" in response.text


def test_old_access_events_of_closed_incidents_are_deleted(
    factory: sessionmaker[Session], clock: ManualClock, tmp_path: Path
) -> None:
    start = clock.now()
    with session_scope(factory) as session:
        for days_ago, incident in ((400, None), (30, None), (400, 999_999)):
            session.add(
                AccessEvent(
                    at=start - timedelta(days=days_ago),
                    hour=0,
                    person="priya-raman",
                    organisation="northbridge",
                    incident_id=incident,
                    tlp="AMBER",
                    path="/x",
                )
            )
    job = retention_service.RetentionJob(
        retention_service.retention.load_policy(), LocalStore(tmp_path), access_event_days=365
    )
    job.run_if_due(factory, clock=clock)
    with session_scope(factory) as session:
        left = session.scalars(select(AccessEvent.at).order_by(AccessEvent.at)).all()
        # The incident that is not closed (here: unknown) keeps its reads.
        assert [start - at for at in left] == [timedelta(days=400), timedelta(days=30)]
        entry = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == "access:events_purged")
        ).one()
        assert '"events":1' in entry.payload
    clock.advance(timedelta(hours=2))
    job.run_if_due(factory, clock=clock)
    with session_scope(factory) as session:
        assert session.scalar(select(func.count()).select_from(LedgerEntry)) == 1
