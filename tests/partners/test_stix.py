"""Cyber incidents as STIX 2.1 bundles: the OASIS validator accepts them, TLP 2.0 marks them."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from stix2validator import ValidationOptions, validate_instance, validate_string
from typer.testing import CliRunner

from coherence.access import service as access_service
from coherence.access.domain import DataCategory, Tlp
from coherence.cli import app as cli_app
from coherence.db import session_scope
from coherence.detection import service as detection_service
from coherence.documents import load_yaml_file
from coherence.incidents import records as incident_records
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import reference
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.models import LedgerEntry
from coherence.partners import service as partners_service
from coherence.partners import stix
from tests.conftest import START, ManualClock

SAMPLE = Path(__file__).resolve().parents[2] / "examples" / "agreements.yaml"
OPTIONS = ValidationOptions(version="2.1", enforce_refs=True)
# The only finding the validator may report: SDO ids are UUIDv5 of stable keys, by design, so a
# re-export gives the same ids; the validator would like them random (UUIDv4).
UUIDV4_ADVICE = "is not a valid UUIDv4 ID"
# Extra agreements for the tests: coldhead-compressors (US) takes cyber incidents with personal
# data but has no GDPR transfer basis, so the export guard blocks any share carrying personal data.
EXTRA = [
    {
        "key": "nb-coldhead-cyber",
        "title": "OT security cooperation with the compressor vendor",
        "parties": ["northbridge", "coldhead-compressors"],
        "scope": {"categories": ["control_system_cyber"]},
        "ceiling": "AMBER",
        "data_categories": ["operational", "personal"],
        "legal_basis": "Security annex CC-S-2026",
        "jurisdiction": "NL",
        "valid_from": "2026-01-01",
        "valid_until": "2026-12-31",
    },
]


def assert_valid(document: dict[str, Any], label: Tlp) -> None:
    """The OASIS validator finds no error, and every object carries the official TLP 2.0 marking
    of ``label``, whose definition the bundle includes exactly as OASIS publishes it."""
    results = validate_string(json.dumps(document), OPTIONS)
    assert results.is_valid, [str(e) for e in results.errors]
    assert all(UUIDV4_ADVICE in str(w) for w in results.warnings), results.warnings
    markings = [o for o in document["objects"] if o["type"] == "marking-definition"]
    assert markings == [stix.tlp_marking(label)]
    assert markings[0]["id"] == OFFICIAL_TLP[label]
    for item in document["objects"]:
        if item["type"] != "marking-definition":
            assert item["object_marking_refs"] == [OFFICIAL_TLP[label]], item["id"]
            assert validate_instance(item, OPTIONS).is_valid, item["id"]


# Written out here, not read from the code under test: OASIS cti-stix-common-objects, TLP 2.0.
OFFICIAL_TLP = {
    Tlp.CLEAR: "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    Tlp.GREEN: "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    Tlp.AMBER: "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    Tlp.AMBER_STRICT: "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    Tlp.RED: "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}


def source(label: Tlp = Tlp.AMBER) -> stix.Source:
    at = START
    return stix.Source(
        producer="harbourline-qkd",
        producer_name="Harbourline QKD",
        incident=stix.IncidentView(
            reference="INC-00001",
            title="Unknown host on the key-management network",
            summary="Writes from an unknown host.",
            category="control_system_cyber",
            severity="sev2",
            status="detected",
            kind="real",
            tlp=label,
            asset="qkd-node-harbour",
            asset_name="QKD node",
            asset_kind="qkd_node",
            site="harbour-dc",
            detected_at=at,
            updated_at=at + timedelta(minutes=5),
        ),
        records=(
            stix.Record(
                3,
                stix.RecordKind.SIGNAL,
                "qkd-node-harbour: login from 198.51.100.23 (mac 00:1B:44:11:3A:B7)",
                at,
            ),
            stix.Record(
                5,
                stix.RecordKind.NOTE,
                "Seen in the firewall log.\nIOC: domain-name c2.example.net\n"
                "IOC: url https://c2.example.net/a?x='1'\nIOC: file " + "ab" * 32 + "\n"
                "IOC: user-account admin\nIOC: ipv4-addr not-an-address\nIOC: bogus x",
                at + timedelta(minutes=1),
            ),
            stix.Record(
                6,
                stix.RecordKind.NOTE,
                "On-call engineer: +15555550101",
                at + timedelta(minutes=2),
                DataCategory.PERSONAL,
            ),
        ),
        files=(
            stix.FileRecord(
                "evidence-1", "capture.pcapng", "cd" * 32, 4096, at + timedelta(minutes=3), label
            ),
            stix.FileRecord(
                "evidence-2", "red.txt", "ef" * 32, 10, at + timedelta(minutes=3), Tlp.RED
            ),
        ),
    )


def of_type(document: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [o for o in document["objects"] if o["type"] == kind]


OPERATIONAL = frozenset({DataCategory.OPERATIONAL})


def test_a_bundle_passes_the_oasis_validator_with_its_tlp_marking() -> None:
    built = stix.build_bundle(source(), categories=OPERATIONAL, recipient="keyline-quantum")
    document = built.document()
    assert_valid(document, Tlp.AMBER)
    assert {o["type"] for o in document["objects"]} >= {
        "marking-definition", "identity", "incident", "note", "observed-data", "indicator",
        "sighting", "relationship", "ipv4-addr", "mac-addr", "domain-name", "url", "file",
        "user-account",
    }  # fmt: skip
    (incident,) = of_type(document, "incident")
    assert incident["external_references"] == [
        {"source_name": "coherence", "external_id": "INC-00001"}
    ]
    assert "qkd-node-harbour" in incident["description"]
    patterns = sorted(o["pattern"] for o in of_type(document, "indicator"))
    assert patterns == sorted(
        [
            "[ipv4-addr:value = '198.51.100.23']",
            "[mac-addr:value = '00:1b:44:11:3a:b7']",
            "[domain-name:value = 'c2.example.net']",
            "[url:value = 'https://c2.example.net/a?x=\\'1\\'']",
            f"[file:hashes.'SHA-256' = '{'ab' * 32}']",
            "[user-account:account_login = 'admin']",
        ]
    )
    assert json.loads(built.content()) == document


@pytest.mark.parametrize("label", list(Tlp))
def test_every_label_gets_its_official_marking(label: Tlp) -> None:
    document = stix.build_bundle(source(label), categories=OPERATIONAL, recipient="x").document()
    assert_valid(document, label)
    assert stix.label_of([OFFICIAL_TLP[label]]) is label


def test_a_wrong_marking_is_caught() -> None:
    document = stix.build_bundle(source(), categories=OPERATIONAL, recipient="x").document()
    of_type(document, "incident")[0]["object_marking_refs"] = [OFFICIAL_TLP[Tlp.GREEN]]
    with pytest.raises(AssertionError):
        assert_valid(document, Tlp.AMBER)
    document = stix.build_bundle(source(), categories=OPERATIONAL, recipient="x").document()
    of_type(document, "marking-definition")[0]["name"] = "TLP:GREEN"
    with pytest.raises(AssertionError):
        assert_valid(document, Tlp.AMBER)


def test_a_re_export_is_the_same_bundle() -> None:
    first = stix.build_bundle(source(), categories=OPERATIONAL, recipient="keyline-quantum")
    again = stix.build_bundle(source(), categories=OPERATIONAL, recipient="keyline-quantum")
    assert first.content() == again.content()
    other = stix.build_bundle(source(), categories=OPERATIONAL, recipient="ncsc")
    assert [o.id for o in other.objects] == [o.id for o in first.objects]
    assert other.id != first.id


def test_only_entitled_categories_and_labels_travel() -> None:
    plain = stix.build_bundle(source(), categories=OPERATIONAL, recipient="x")
    assert plain.categories == OPERATIONAL
    assert plain.seqs == {3, 5}
    names = {o.body.get("name") for o in plain.objects if o.body["type"] == "file"} - {None}
    assert names == {"capture.pcapng"}, "a file labelled above the incident stays out"
    assert not any("+1555" in json.dumps(o.body) for o in plain.objects)
    personal = stix.build_bundle(
        source(), categories=OPERATIONAL | {DataCategory.PERSONAL}, recipient="x"
    )
    assert personal.categories == OPERATIONAL | {DataCategory.PERSONAL}
    assert any("+1555" in json.dumps(o.body) for o in personal.objects)


def test_a_new_label_is_a_new_version_of_every_object() -> None:
    before = stix.build_bundle(source(), categories=OPERATIONAL, recipient="x")
    relabelled = replace(
        source(Tlp.GREEN),
        incident=replace(source(Tlp.GREEN).incident, labelled_at=START + timedelta(hours=1)),
    )
    after = stix.build_bundle(relabelled, categories=OPERATIONAL, recipient="x")
    assert_valid(after.document(), Tlp.GREEN)
    versions = {o.id: o.version for o in before.objects if "modified" in o.body}
    for item in after.objects:
        if item.id in versions and item.body["type"] != "identity":
            assert item.version > versions[item.id], item.id


def test_observables_are_checked_and_normalised() -> None:
    assert stix.note_observables("IOC: IPv4-Addr 10.0.0.1\nioc: mac-addr AA-BB-CC-DD-EE-FF") == [
        stix.Observable("ipv4-addr", "10.0.0.1"),
        stix.Observable("mac-addr", "aa:bb:cc:dd:ee:ff"),
    ]
    assert stix.note_observables("IOC: ipv4-addr 999.1.1.1\nIOC: ipv6-addr 10.0.0.1") == []
    assert stix.signal_observables("v1.2.3.4.5 from 10.1.2.3.") == [
        stix.Observable("ipv4-addr", "10.1.2.3")
    ]
    # The STIX 2.1 deterministic id of an IPv4 address, as the stix2 library computes it.
    assert (
        stix.Observable("ipv4-addr", "198.51.100.23").sco_id
        == "ipv4-addr--cec0294c-86c8-52cc-8448-ba43593736df"
    )


# --- over the API and the CLI ------------------------------------------------------------------


@dataclass
class Cyber:
    """Cyber incidents of the sample facility, shared (or not) under its agreements."""

    harbour: str  # on qkd-node-harbour: shared with keyline-quantum under hl-keyline
    campus: str  # on sc-ot-network at sc-lab: shared with nqc-sc-group (nb-sc-group)
    compressor: str  # on compressor-1, TLP:GREEN: coldhead-compressors under its GREEN agreement
    compressor_amber: str  # on compressor-2, TLP:AMBER: above that agreement's ceiling
    warm_up: str  # not a cyber incident


def open_cyber_incidents(factory: sessionmaker[Session], clock: ManualClock) -> Cyber:
    """Load the sample and extra agreements and open the incidents the tests share."""
    with session_scope(factory) as session:
        data = load_yaml_file(SAMPLE)
        data["agreements"] = [*data["agreements"], *EXTRA]
        partners_service.load_agreements(
            session, clock=clock, data=data, actor="test", source="test"
        )
        detected = detection_service.apply_event(
            session,
            clock=clock,
            event=detection_service.SignalEvent(
                key="kms-firewall:unknown-host",
                asset="qkd-node-harbour",
                source="firewall",
                raised=True,
                at=clock.now(),
                impact="major",
                urgency="high",
                detail="unknown host 198.51.100.23 logged in to the KMS",
                category="control_system_cyber",
            ),
        )
        assert detected.incident_id is not None
        harbour = detected.incident_id
        incident_records.add_note(
            session,
            clock=clock,
            ref=harbour,
            text="Firewall shows beaconing.\nIOC: domain-name c2.example.net",
            actor="fatima-idrissi",
        )

        def open_one(asset: str, **fields: Any) -> int:
            request = IncidentCreate(asset=asset, **fields)
            return incidents_service.open_incident(
                session, clock=clock, request=request, actor="amara-osei"
            ).id

        cyber = {"playbook": "control-network-intrusion"}
        campus = open_one("sc-ot-network", **cyber)
        incident_records.add_note(
            session, clock=clock, ref=campus, text="IOC: ipv4-addr 203.0.113.9", actor="x"
        )
        incident_records.add_note(
            session,
            clock=clock,
            ref=campus,
            text="Shift lead on +15555550101",
            actor="x",
            category=DataCategory.PERSONAL,
        )
        compressor = open_one("compressor-1", tlp=Tlp.GREEN, **cyber)
        incident_records.add_note(
            session, clock=clock, ref=compressor, text="IOC: ipv4-addr 203.0.113.9", actor="x"
        )
        compressor_amber = open_one("compressor-2", **cyber)
        warm_up = open_one("fridge-1", playbook="dilution-refrigerator-warm-up")
    clock.advance(timedelta(minutes=1))
    return Cyber(*(reference(i) for i in (harbour, campus, compressor, compressor_amber, warm_up)))


Token = Callable[[str], str]


@pytest.fixture
def token(factory: sessionmaker[Session], clock: ManualClock) -> Token:
    def issue(person: str) -> str:
        with session_scope(factory) as session:
            return access_service.create_token(
                session, clock=clock, person_key=person, name="test", actor="test"
            )[1]

    return issue


@pytest.fixture
def cyber(client: TestClient, factory: sessionmaker[Session], clock: ManualClock) -> Cyber:
    return open_cyber_incidents(factory, clock)


def shares(factory: sessionmaker[Session]) -> list[LedgerEntry]:
    with session_scope(factory) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == "share:sent")
            .order_by(LedgerEntry.seq)
        ).all()
        session.expunge_all()
        return list(rows)


def test_the_operator_exports_for_a_partner_and_the_share_is_ledgered(
    client: TestClient, cyber: Cyber, token: Token, factory: sessionmaker[Session]
) -> None:
    headers = {"Authorization": f"Bearer {token('fatima-idrissi')}"}
    url = f"/api/v1/incidents/{cyber.harbour}/stix"
    own = client.get(url, headers=headers)
    assert own.status_code == 200, own.text
    assert own.headers["content-type"] == "application/stix+json;version=2.1"
    assert_valid(own.json(), Tlp.AMBER)
    assert not shares(factory), "the operator's own export is no share"
    response = client.get(url, params={"for": "keyline-quantum"}, headers=headers)
    assert response.status_code == 200, response.text
    document = response.json()
    assert_valid(document, Tlp.AMBER)
    patterns = {o["pattern"] for o in of_type(document, "indicator")}
    assert patterns == {
        "[ipv4-addr:value = '198.51.100.23']",
        "[domain-name:value = 'c2.example.net']",
    }
    (entry,) = shares(factory)
    payload = json.loads(entry.payload)
    assert payload["kind"] == "stix"
    assert payload["organisation"] == "keyline-quantum"
    assert payload["agreements"] == ["hl-keyline"]
    assert payload["sha256"] == hashlib.sha256(response.content).hexdigest()
    again = client.get(url, params={"for": "keyline-quantum"}, headers=headers)
    assert again.content == response.content, "a re-export is the same bundle"


def test_partners_get_their_own_view_and_no_other(
    client: TestClient, cyber: Cyber, token: Token, factory: sessionmaker[Session]
) -> None:
    keyline = {"Authorization": f"Bearer {token('keyline-noc')}"}
    mine = client.get(f"/api/v1/incidents/{cyber.harbour}/stix", headers=keyline)
    assert mine.status_code == 200, mine.text
    assert_valid(mine.json(), Tlp.AMBER)
    assert json.loads(shares(factory)[-1].payload)["organisation"] == "keyline-quantum"
    for_other = client.get(
        f"/api/v1/incidents/{cyber.harbour}/stix", params={"for": "ncsc"}, headers=keyline
    )
    assert for_other.status_code == 403
    not_shared = client.get(f"/api/v1/incidents/{cyber.campus}/stix", headers=keyline)
    assert not_shared.status_code == 403
    sc_group = {"Authorization": f"Bearer {token('ravi-menon')}"}
    campus = client.get(f"/api/v1/incidents/{cyber.campus}/stix", headers=sc_group)
    assert campus.status_code == 200, campus.text
    assert "203.0.113.9" in campus.text
    assert "+15555550101" not in campus.text, "nb-sc-group shares no personal data"


def test_refusals_name_their_reason(client: TestClient, cyber: Cyber) -> None:
    def export(ref: str, organisation: str) -> Any:
        return client.get(f"/api/v1/incidents/{ref}/stix", params={"for": organisation})

    assert export(cyber.warm_up, "northbridge").status_code == 422
    blocked = export(cyber.campus, "coldhead-compressors")
    assert blocked.status_code == 451, blocked.text
    assert "personal data would leave the EEA" in blocked.json()["message"]
    ceiling = export(cyber.compressor_amber, "coldhead-compressors")
    assert ceiling.status_code == 200, "nb-coldhead-cyber takes AMBER"
    assert export(cyber.campus, "lumen-photonics").status_code == 404
    own = export(cyber.campus, "northbridge")
    assert own.status_code == 200
    assert "+15555550101" in own.text, "the operator's own view holds everything"


def test_the_cli_writes_the_bundle(
    cyber: Cyber,
    engine: Engine,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    factory: sessionmaker[Session],
) -> None:
    url = engine.url.render_as_string(hide_password=False)
    if engine.url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("show search_path").scalar()
        url = f"{url}?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("COHERENCE_DATABASE_URL", url)
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path / "data"))
    target = tmp_path / "bundle.json"
    result = CliRunner().invoke(
        cli_app,
        ["stix", "export", cyber.harbour, "--for", "keyline-quantum", "-o", str(target)],
    )
    assert result.exit_code == 0, result.output
    assert "hl-keyline" in result.output
    assert_valid(json.loads(target.read_bytes()), Tlp.AMBER)
    payload = json.loads(shares(factory)[-1].payload)
    assert payload["sha256"] == hashlib.sha256(target.read_bytes()).hexdigest()
    refused = CliRunner().invoke(
        cli_app, ["stix", "export", cyber.campus, "--for", "coldhead-compressors"]
    )
    assert refused.exit_code == 1
    assert "export guard" in refused.output
