"""Share packages: what each partner gets, what is refused, and that tampering is named."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence import console
from coherence.access import service as access_service
from coherence.access.domain import DataCategory
from coherence.access.redaction import placeholder
from coherence.catalog import service as catalog_service
from coherence.cli import app as cli_app
from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.errors import NotFound, PermissionDenied
from coherence.incidents import service as incidents_service
from coherence.ledger import checkpoints, keys, merkle, note
from coherence.ledger.domain import EntryType
from coherence.ledger.models import LedgerEntry
from coherence.partners import packages
from coherence.partners import service as partners_service
from coherence.partners.service import ShareBlocked
from coherence.settings import Settings
from tests.conftest import ROOT, SAMPLE_FACILITY, ManualClock
from tests.helpers import counts

AGREEMENTS = ROOT / "examples" / "agreements.yaml"
COMPRESSOR = {"asset": "compressor-1", "playbook": "pulse-tube-compressor-fault"}
FRIDGE = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
LASER = {"asset": "laser-397", "playbook": "laser-lock-loss"}
PROPRIETARY_NOTE = "Pulse sequence PS-7 drives the compressor duty cycle"
CALIBRATION_NOTE = "Readout fidelity 0.97 after re-tune"
# Calibration data about an ECCN 3A904 fridge, to a US vendor, with no licence on file.
ABROAD = {
    "agreements": [
        {
            "key": "nb-coldhead-fridges",
            "title": "Fridge compressor diagnostics",
            "parties": ["northbridge", "coldhead-compressors"],
            "scope": {"asset_kinds": ["dilution_refrigerator"]},
            "ceiling": "AMBER",
            "data_categories": ["operational", "calibration"],
            "legal_basis": "Diagnostics annex CC-D-2026",
            "jurisdiction": "NL",
            "valid_from": "2026-01-01",
            "valid_until": "2026-12-31",
        }
    ]
}


class World:
    """The sample facility and agreements, an API client, and the log's keys."""

    def __init__(
        self, client: TestClient, factory: sessionmaker[Session], clock: ManualClock, signer: str
    ) -> None:
        self.client, self.factory, self.clock, self.signer = client, factory, clock, signer
        self.verifier = note.verifier_for(signer)

    def open(self, body: dict[str, str], *notes: tuple[str, str]) -> str:
        """Open an incident and add notes as (category, text)."""
        ref: str = self.client.post("/api/v1/incidents", json=body).json()["reference"]
        for category, text in notes:
            added = self.client.post(
                f"/api/v1/incidents/{ref}/notes", json={"text": text, "category": category}
            )
            assert added.status_code == 201, added.text
        return ref

    def sign(self) -> None:
        """Sign a checkpoint over everything so far, as the worker would."""
        self.clock.advance(timedelta(seconds=2))
        with session_scope(self.factory) as session:
            checkpoints.sign_latest(session, clock=self.clock, signer_key=self.signer)

    def export(self, ref: str, organisation: str) -> packages.Exported:
        """Export a package (after signing a checkpoint) and commit its share:sent entry."""
        self.sign()
        with session_scope(self.factory) as session:
            return packages.export(
                session,
                clock=self.clock,
                incident=incidents_service.get_or_raise(session, ref),
                organisation=organisation,
                signer_key=self.signer,
                actor="sofia-brandt",
            )

    def headers(self, person: str) -> dict[str, str]:
        """API headers with a fresh token for ``person``."""
        with session_scope(self.factory) as session:
            _row, secret = access_service.create_token(
                session, clock=self.clock, person_key=person, name="test", actor="test"
            )
        return {"Authorization": f"Bearer {secret}"}


@pytest.fixture
def world(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock, settings: Settings
) -> World:
    with session_scope(factory) as session:
        partners_service.load_agreements(
            session,
            clock=clock,
            data=load_yaml_file(AGREEMENTS),
            actor="test",
            source="agreements.yaml",
        )
    return World(client, factory, clock, keys.load_signer(settings.resolved_ledger_key_file))


def body_of(data: bytes) -> dict[str, Any]:
    package: dict[str, Any] = orjson.loads(data)["package"]
    return package


def note_entry(body: dict[str, Any], text: str) -> dict[str, Any]:
    """The package entry of the note written with ``text``, where it is shown unredacted."""
    return next(
        e
        for e in body["entries"]
        if e["view"]["type"] == EntryType.INCIDENT_NOTE_ADDED.value
        and e["view"]["payload"].get("text") == text
    )


def test_partners_with_different_agreements_get_different_views(world: World) -> None:
    ref = world.open(
        COMPRESSOR,
        ("proprietary", PROPRIETARY_NOTE),
        ("calibration", CALIBRATION_NOTE),
        ("operational", "Compressor restarted"),
    )
    polar = world.export(ref, "polar-cryogenics")
    group = world.export(ref, "nqc-sc-group")

    vendor, tenant = body_of(polar.data), body_of(group.data)
    assert vendor["agreements"][0]["key"] == "nb-polar-cryo"
    assert tenant["agreements"][0]["key"] == "nb-sc-group"
    assert vendor["categories"] == ["calibration", "operational"]
    assert tenant["categories"] == ["calibration", "operational", "proprietary"]
    assert vendor["tlp"] == tenant["tlp"] == "AMBER"
    assert vendor["incident"]["reference"] == ref
    assert vendor["tasks"]
    assert vendor["roles"] == tenant["roles"]
    assert "incident_commander" in vendor["roles"]

    # The vendor may not read the proprietary note: only its redacted view travels.
    hidden = next(
        e
        for e in vendor["entries"]
        if e["view"]["payload"].get("text") == placeholder(DataCategory.PROPRIETARY)
    )
    assert hidden["withheld"] is True
    assert "bytes" not in hidden
    assert PROPRIETARY_NOTE not in polar.data.decode()
    shown = note_entry(vendor, CALIBRATION_NOTE)
    assert shown["withheld"] is False
    assert merkle.leaf_hash(base64.b64decode(shown["bytes"])) == base64.b64decode(shown["leaf"])
    # The tenant reads it all, whole.
    assert note_entry(tenant, PROPRIETARY_NOTE)["withheld"] is False
    assert PROPRIETARY_NOTE in group.data.decode()

    for exported, withheld in ((polar, True), (group, False)):
        verdict = packages.verify(exported.data, world.verifier)
        assert verdict.ok, verdict.problem
        assert (verdict.withheld > 0) is withheld
        assert verdict.organisation == exported.organisation

    with session_scope(world.factory) as session:
        sent = session.scalars(
            select(LedgerEntry).where(LedgerEntry.entry_type == EntryType.SHARE_SENT.value)
        ).all()
        payloads = [orjson.loads(e.payload) for e in sent]
    assert [(p["organisation"], p["kind"], p["sha256"]) for p in payloads] == [
        ("polar-cryogenics", "package", hashlib.sha256(polar.data).hexdigest()),
        ("nqc-sc-group", "package", hashlib.sha256(group.data).hexdigest()),
    ]
    assert payloads[0]["agreements"] == ["nb-polar-cryo"]
    assert payloads[0]["entries"]

    # Coldhead's warranty agreement stops at GREEN; the incident is AMBER.
    with pytest.raises(PermissionDenied, match="above your agreement's ceiling TLP:GREEN"):
        world.export(ref, "coldhead-compressors")


def test_expired_and_out_of_scope_agreements_share_nothing(world: World) -> None:
    ref = world.open(LASER, ("operational", "Lock lost at 14:02"))
    before = counts(world.factory)
    with pytest.raises(NotFound, match="nb-lumen-2025 expired on 2025-12-31"):
        world.export(ref, "lumen-photonics")
    with pytest.raises(NotFound, match="outside the scope of nb-polar-cryo"):
        world.export(ref, "polar-cryogenics")
    with pytest.raises(NotFound, match="party to no agreement"):
        world.export(ref, "nisa")
    with pytest.raises(NotFound, match="own organisations"):
        world.export(ref, "nqc-ion-group")
    assert counts(world.factory) == before

    refused = world.client.get(
        f"/api/v1/incidents/{ref}/package", headers=world.headers("lumen-support")
    )
    assert refused.status_code == 403
    assert "no agreement shares it" in refused.json()["message"]


def test_a_blocked_share_names_why_and_goes_after_an_override(world: World) -> None:
    with session_scope(world.factory) as session:
        partners_service.load_agreements(
            session, clock=world.clock, data=ABROAD, actor="test", source="test"
        )
    ref = world.open(FRIDGE)
    # Nothing technical in it yet: only operational data would go, and that is no export.
    assert packages.verify(world.export(ref, "coldhead-compressors").data, world.verifier).ok
    # Polar (Finland) has the 3A904 licence on file; Coldhead (US) has none.
    world.client.post(
        f"/api/v1/incidents/{ref}/notes", json={"text": CALIBRATION_NOTE, "category": "calibration"}
    )
    assert world.export(ref, "polar-cryogenics").categories == ["calibration", "operational"]
    before = counts(world.factory)
    with pytest.raises(ShareBlocked) as blocked:
        world.export(ref, "coldhead-compressors")
    assert blocked.value.status_code == 451
    [finding] = blocked.value.details["findings"]
    assert "ECCN 3A904" in finding
    assert "US" in finding
    assert counts(world.factory) == before

    over_http = world.client.get(
        f"/api/v1/incidents/{ref}/package", headers=world.headers("coldhead-support")
    )
    assert over_http.status_code == 451
    assert over_http.json()["details"]["findings"] == [finding]

    data = load_yaml_file(SAMPLE_FACILITY)
    for person in data["people"]:
        if person["key"] == "sofia-brandt":
            person["clearances"] = ["legal", "export_control"]
    with session_scope(world.factory) as session:
        catalog_service.load_facility(
            session, clock=world.clock, data=data, actor="test", source="facility.yaml"
        )
        override = partners_service.override_share(
            session,
            clock=world.clock,
            incident=incidents_service.get_or_raise(session, ref),
            organisation="coldhead-compressors",
            categories=frozenset({DataCategory.OPERATIONAL, DataCategory.CALIBRATION}),
            reason="BIS licence D123456 covers diagnostics data to Coldhead",
            approver="sofia-brandt",
        )
        override_id = override.id
    exported = world.export(ref, "coldhead-compressors")
    guard = body_of(exported.data)["export_guard"]
    assert guard == {"findings": [finding], "override": override_id}
    assert packages.verify(exported.data, world.verifier).ok


Tamper = Callable[[dict[str, Any]], None]


def _bytes_text(entry: dict[str, Any]) -> str:
    return base64.b64decode(entry["bytes"]).decode()


def _edit_byte(doc: dict[str, Any]) -> None:
    entry = note_entry(doc["package"], "Compressor restarted")
    entry["bytes"] = base64.b64encode(
        _bytes_text(entry).replace("restarted", "restarteD").encode()
    ).decode()


def _edit_view(doc: dict[str, Any]) -> None:
    note_entry(doc["package"], "Compressor restarted")["view"]["payload"]["text"] = "All fine"


def _swap_proofs(doc: dict[str, Any]) -> None:
    first, second = doc["package"]["entries"][:2]
    first["proof"], second["proof"] = second["proof"], first["proof"]


def _forge_checkpoint(doc: dict[str, Any]) -> None:
    text = doc["package"]["checkpoint"].split("\n\n")[0] + "\n"
    origin = note.parse_checkpoint(text).origin
    forger, _ = note.generate_signer(origin)
    fake = note.Checkpoint(origin, 10_000, bytes(32)).to_text()
    doc["package"]["checkpoint"] = note.sign_note(fake, forger)


def _edit_withheld(doc: dict[str, Any]) -> None:
    hidden = next(e for e in doc["package"]["entries"] if e["withheld"])
    hidden["view"]["actor"] = "somebody-else"


def _reorder(doc: dict[str, Any]) -> None:
    entries = doc["package"]["entries"]
    entries[0], entries[1] = entries[1], entries[0]


def _drop_proof(doc: dict[str, Any]) -> None:
    del doc["package"]["entries"][0]["proof"]


def _claim_bytes(doc: dict[str, Any]) -> None:
    hidden = next(e for e in doc["package"]["entries"] if e["withheld"])
    hidden["withheld"] = False


TAMPERING: dict[str, tuple[Tamper, str]] = {
    "edited entry byte": (_edit_byte, "bytes do not hash to its leaf"),
    "edited view of an entry with bytes": (_edit_view, "view does not match its bytes"),
    "swapped proofs": (_swap_proofs, "inclusion proof does not reach the checkpoint's root"),
    "forged checkpoint": (_forge_checkpoint, "checkpoint is not signed by this key"),
    "edited withheld view": (_edit_withheld, "changed after it was signed"),
    "reordered entries": (_reorder, "entries reordered or repeated"),
    "missing proof": (_drop_proof, "package.entries[0].proof is missing"),
    "withheld entry claiming bytes": (_claim_bytes, ".bytes is missing"),
}


def test_offline_verification_names_the_first_problem(world: World) -> None:
    ref = world.open(
        COMPRESSOR, ("proprietary", PROPRIETARY_NOTE), ("operational", "Compressor restarted")
    )
    data = world.export(ref, "polar-cryogenics").data
    assert packages.verify(data, world.verifier).ok
    for name, (tamper, problem) in TAMPERING.items():
        document = orjson.loads(data)
        tamper(document)
        verdict = packages.verify(orjson.dumps(document), world.verifier)
        assert not verdict.ok, name
        assert problem in verdict.problem, (name, verdict.problem)

    # Re-signed by someone else's key: every proof holds, the signature does not.
    other, _ = note.generate_signer("impostor")
    resealed = packages.seal(body_of(data), other)
    verdict = packages.verify(resealed, world.verifier)
    assert not verdict.ok
    assert "package signature does not verify" in verdict.problem
    # The right log, checked with another log's key.
    _, stranger = note.generate_signer("another-log")
    assert "checkpoint is not signed" in packages.verify(data, stranger).problem
    for junk in (b"", b"[]", b"{}", b'{"package": 1, "signature": ""}', b"\xff"):
        assert not packages.verify(junk, world.verifier).ok


def test_a_partner_downloads_its_own_package_over_the_api(world: World) -> None:
    ref = world.open(COMPRESSOR, ("proprietary", PROPRIETARY_NOTE))
    polar, ravi = world.headers("polar-cryo-support"), world.headers("ravi-menon")
    url = f"/api/v1/incidents/{ref}/package"
    unsigned = world.client.get(url, headers=polar)
    assert unsigned.status_code == 409
    assert "checkpoint" in unsigned.json()["message"]

    world.sign()
    got = world.client.get(url, headers=polar)
    assert got.status_code == 200, got.text
    assert got.headers["content-type"] == "application/json"
    assert f"{ref}-polar-cryogenics.package.json" in got.headers["content-disposition"]
    key = world.client.get("/api/v1/ledger/key").text.strip()
    verdict = packages.verify(got.content, key)
    assert verdict.ok
    assert verdict.organisation == "polar-cryogenics"
    assert verdict.withheld == 1

    # Its own share:sent entry is not signed yet: the next export waits for the checkpoint.
    assert world.client.get(url, headers=ravi).status_code == 409
    world.sign()
    tenant = world.client.get(url, headers=ravi)
    assert tenant.status_code == 200
    assert body_of(tenant.content)["categories"] == ["calibration", "operational", "proprietary"]
    assert packages.verify(tenant.content, key).withheld == 0

    with session_scope(world.factory) as session:
        sent = [
            orjson.loads(e.payload)
            for e in session.scalars(
                select(LedgerEntry).where(LedgerEntry.entry_type == EntryType.SHARE_SENT.value)
            )
        ]
    assert [s["sha256"] for s in sent] == [
        hashlib.sha256(got.content).hexdigest(),
        hashlib.sha256(tenant.content).hexdigest(),
    ]
    own = world.client.get(url)
    assert own.status_code == 404
    assert "own organisations" in own.json()["message"]


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_export_and_verify_from_the_terminal(
    world: World,
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("COHERENCE_DATABASE_URL", engine.url.render_as_string(hide_password=False))
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(console, "clock", lambda: world.clock)
    runner = CliRunner()
    ref = world.open(COMPRESSOR, ("calibration", CALIBRATION_NOTE))
    world.clock.advance(timedelta(seconds=2))
    out = tmp_path / "polar.json"

    exported = runner.invoke(
        cli_app, ["package", "export", ref, "--for", "polar-cryogenics", "-o", str(out)]
    )
    assert exported.exit_code == 0, exported.output
    assert "sha256" in exported.output
    key_file = tmp_path / "ledger.pub"
    key_file.write_text(world.verifier + "\n")
    checked = runner.invoke(cli_app, ["package", "verify", str(out), "--key", str(key_file)])
    assert checked.exit_code == 0, checked.output
    assert checked.output.startswith("OK:")
    as_json = runner.invoke(
        cli_app, ["package", "verify", str(out), "--key", world.verifier, "--json"]
    )
    assert json.loads(as_json.output)["ok"] is True

    document = orjson.loads(out.read_bytes())
    _swap_proofs(document)
    out.write_bytes(orjson.dumps(document))
    failed = runner.invoke(cli_app, ["package", "verify", str(out), "--key", world.verifier])
    assert failed.exit_code == 1
    assert "FAILED" in failed.output
    assert "inclusion proof" in failed.output

    world.clock.advance(timedelta(seconds=2))
    refused = runner.invoke(
        cli_app, ["package", "export", ref, "--for", "coldhead-compressors", "-o", str(out)]
    )
    assert refused.exit_code == 1
    assert "ceiling TLP:GREEN" in refused.output
