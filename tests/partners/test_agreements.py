"""Agreements decide what a partner sees; the export guard decides what may leave."""

from __future__ import annotations

import copy
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access.domain import DataCategory, Tlp
from coherence.catalog import service as catalog_service
from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.partners import domain, service
from tests.conftest import ManualClock
from tests.helpers import counts

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agreements.yaml"
WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
Headers = Callable[[str], dict[str, str]]


def terms(**changes: Any) -> domain.Terms:
    base = domain.Terms(
        key="a",
        parties=frozenset({"op", "vendor"}),
        sites=frozenset(),
        asset_kinds=frozenset({"dilution_refrigerator"}),
        categories=frozenset(),
        ceiling=Tlp.AMBER,
        data_categories=frozenset({DataCategory.OPERATIONAL}),
        valid_from=date(2026, 1, 1),
        valid_until=date(2026, 12, 31),
    )
    return domain.Terms(**{**base.__dict__, **changes})


FRIDGE = domain.IncidentScope(frozenset({"op"}), "lab", "dilution_refrigerator", "cryogenic")


def test_an_agreement_covers_in_force_in_scope_incidents_of_another_party() -> None:
    day = date(2026, 6, 1)
    assert domain.covers(terms(), "vendor", FRIDGE, day)
    assert not domain.covers(terms(), "stranger", FRIDGE, day)
    assert not domain.covers(terms(), "op", FRIDGE, day), "its own incident is not a share"
    assert not domain.covers(terms(), "vendor", FRIDGE, date(2027, 1, 1)), "expired"
    assert not domain.covers(terms(), "vendor", FRIDGE, date(2025, 12, 31)), "not yet"
    laser = domain.IncidentScope(frozenset({"op"}), "lab", "laser_system", "laser_photonic")
    assert not domain.covers(terms(), "vendor", laser, day), "out of scope"
    elsewhere = terms(sites=frozenset({"other-lab"}))
    assert not domain.covers(elsewhere, "vendor", FRIDGE, day)


def test_several_agreements_give_the_highest_ceiling_and_every_category() -> None:
    green = terms(key="g", ceiling=Tlp.GREEN)
    amber = terms(key="b", data_categories=frozenset({DataCategory.CALIBRATION}))
    found, keys = domain.grant([green, amber], "vendor", FRIDGE, date(2026, 6, 1))
    assert found is not None
    assert found.ceiling is Tlp.AMBER
    assert found.categories == {DataCategory.OPERATIONAL, DataCategory.CALIBRATION}
    assert keys == ["b", "g"]
    assert domain.grant([green], "nobody", FRIDGE, date(2026, 6, 1)) == (None, [])


def share(**changes: Any) -> domain.ShareFacts:
    base = domain.ShareFacts(
        recipient="vendor",
        recipient_country="US",
        operator_country="NL",
        categories=frozenset({DataCategory.OPERATIONAL}),
        asset="fridge-1",
        eccn=None,
        transfer_bases=frozenset(),
        licences=frozenset(),
    )
    return domain.ShareFacts(**{**base.__dict__, **changes})


def test_the_export_guard_stops_personal_data_leaving_the_eea_without_a_basis() -> None:
    personal = frozenset({DataCategory.PERSONAL})
    (finding,) = domain.export_findings(share(categories=personal))
    assert "leave the EEA for US" in finding
    assert "scc" in finding
    assert not domain.export_findings(share(categories=personal, transfer_bases=frozenset({"scc"})))
    assert not domain.export_findings(share(categories=personal, recipient_country="FI"))
    assert domain.export_findings(share(categories=personal, recipient_country=None))


def test_the_export_guard_stops_technical_data_on_a_controlled_item_without_a_licence() -> None:
    calibration = frozenset({DataCategory.CALIBRATION})
    (finding,) = domain.export_findings(share(categories=calibration, eccn="3A904"))
    assert "ECCN 3A904" in finding
    assert "no licence" in finding
    licensed = share(categories=calibration, eccn="3A904", licences=frozenset({("3A904", "US")}))
    assert not domain.export_findings(licensed)
    home = share(categories=calibration, eccn="3A904", recipient_country="NL")
    assert not domain.export_findings(home), "not an export"
    assert not domain.export_findings(share(eccn="3A904")), "operational data is not technical"


def test_the_sample_agreements_load_and_reloading_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock, facility: None
) -> None:
    data = load_yaml_file(SAMPLE)
    with session_scope(factory) as session:
        first = service.load_agreements(session, clock=clock, data=data, actor="t", source="s")
    assert len(first.created) == 6
    before = counts(factory)
    with session_scope(factory) as session:
        again = service.load_agreements(session, clock=clock, data=data, actor="t", source="s")
    assert again.created == again.updated == []
    assert counts(factory) == before


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (lambda a: a["parties"].append("no-such-org"), "agreements[0].parties"),
        (lambda a: a.update(valid_until="2025-01-01"), "agreements[0]"),
        (lambda a: a.update(ceiling="PURPLE"), "agreements[0].ceiling"),
        (lambda a: a["liaisons"].update({"no-such-org": "sofia-brandt"}), "agreements[0]"),
        (lambda a: a["liaisons"].update({"northbridge": "no-one"}), "agreements[0].liaisons"),
        (lambda a: a.update(parties=["northbridge"]), "agreements[0].parties"),
        (
            lambda a: a["licences"].append(
                {"eccn": "not-an-eccn", "country": "FI", "reference": "x"}
            ),
            "agreements[0].licences[1].eccn",
        ),
    ],
)
def test_a_bad_agreements_file_names_the_problem_and_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock, facility: None, change: Any, path: str
) -> None:
    data = copy.deepcopy(load_yaml_file(SAMPLE))
    change(data["agreements"][0])
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(ValidationFailed) as refused:
        service.load_agreements(session, clock=clock, data=data, actor="t", source="bad.yaml")
    paths = [p["path"] for p in refused.value.details["problems"]]
    assert any(p.startswith(path) for p in paths), paths
    assert counts(factory) == before


@pytest.mark.usefixtures("agreements")
def test_partners_with_different_agreements_see_the_same_incident_differently(
    client: TestClient, as_person: Headers
) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    personal = {"text": "Night guard Jan de Vries, +31 6 5555 0142", "category": "personal"}
    assert client.post(f"/api/v1/incidents/{ref}/notes", json=personal).status_code == 201
    vendor = as_person("polar-cryo-support")
    seen = client.get(f"/api/v1/incidents/{ref}/timeline", headers=vendor)
    assert seen.status_code == 200
    notes = [e["payload"]["text"] for e in seen.json() if e["type"] == "incident:note_added"]
    assert notes == ["[redacted: personal data]"]
    assert (
        client.post(
            f"/api/v1/incidents/{ref}/notes", json={"text": "hi"}, headers=vendor
        ).status_code
        == 403
    )
    fire = as_person("fire-control-room")
    fire_notes = client.get(f"/api/v1/incidents/{ref}/timeline", headers=fire).json()
    assert personal["text"] in [e["payload"].get("text") for e in fire_notes]
    # Compressor warranty covers compressors only; the lumen agreement expired in 2025.
    for outsider in ("coldhead-support", "lumen-support"):
        assert (
            client.get(f"/api/v1/incidents/{ref}", headers=as_person(outsider)).status_code == 403
        )
    views = {v["organisation"]: v for v in client.get(f"/api/v1/incidents/{ref}/partners").json()}
    assert set(views) == {"polar-cryogenics", "northbridge-fire"}
    assert views["polar-cryogenics"]["sees_incident"] is True
    listed = client.get("/api/v1/incidents", headers=vendor).json()
    assert [i["reference"] for i in listed["items"]] == [ref]


@pytest.mark.usefixtures("agreements")
def test_a_label_above_the_ceiling_hides_the_incident_from_the_partner(
    client: TestClient, as_person: Headers
) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    assert (
        client.post(f"/api/v1/incidents/{ref}/label", json={"tlp": "AMBER+STRICT"}).status_code
        == 200
    )
    refused = client.get(f"/api/v1/incidents/{ref}", headers=as_person("polar-cryo-support"))
    assert refused.status_code == 403
    assert "AMBER+STRICT" in refused.json()["message"]
    views = client.get(f"/api/v1/incidents/{ref}/partners").json()
    assert all(v["sees_incident"] is False for v in views)


@pytest.mark.usefixtures("agreements")
def test_a_blocked_share_is_overridden_by_a_named_approver_with_a_reason(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock, as_person: Headers
) -> None:
    opened = client.post(
        "/api/v1/incidents", json={"asset": "qkd-node-harbour", "playbook": "qkd-error-rate-spike"}
    )
    assert opened.status_code == 201, opened.text
    ref = opened.json()["reference"]
    with session_scope(factory) as session:
        incident = incidents_service.get_or_raise(session, ref)
        incident.asset.eccn = "5A002"
        approver = catalog_service.get_person_or_raise(session, "fatima-idrissi")
        approver.clearances = [*approver.clearances, "export_control"]
    views = {v["organisation"]: v for v in client.get(f"/api/v1/incidents/{ref}/partners").json()}
    (finding,) = views["keyline-quantum"]["export_findings"]
    assert "ECCN 5A002" in finding
    assert "to CH is an export" in finding
    assert views["keyline-quantum"]["overridden"] is False
    body = {"organisation": "keyline-quantum", "reason": "Swiss licence CH-5A002-0815 on file"}
    uncleared = client.post(f"/api/v1/incidents/{ref}/share-overrides", json=body)
    assert uncleared.status_code == 422
    assert uncleared.json()["field"] == "approver"
    approver_headers = as_person("fatima-idrissi")
    vague = client.post(
        f"/api/v1/incidents/{ref}/share-overrides",
        json={**body, "reason": "ok"},
        headers=approver_headers,
    )
    assert vague.status_code == 422
    assert vague.json()["field"] == "reason"
    done = client.post(
        f"/api/v1/incidents/{ref}/share-overrides", json=body, headers=approver_headers
    )
    assert done.status_code == 201, done.text
    assert done.json()["blocked"] == [finding]
    views = {v["organisation"]: v for v in client.get(f"/api/v1/incidents/{ref}/partners").json()}
    assert views["keyline-quantum"]["overridden"] is True
    timeline = client.get(f"/api/v1/incidents/{ref}/timeline").json()
    overrides = [e for e in timeline if e["type"] == "share:overridden"]
    assert overrides[0]["payload"]["reason"] == body["reason"]
    with session_scope(factory) as session:
        incident = incidents_service.get_or_raise(session, ref)
        blocked = service.check_share(
            session,
            incident=incident,
            organisation="keyline-quantum",
            categories=frozenset({DataCategory.CALIBRATION, DataCategory.EXPORT_CONTROLLED}),
            now=clock.now(),
        )
    assert not blocked.allowed, "a finding the override did not see needs a new override"
