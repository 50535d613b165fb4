"""The TAXII 2.1 server, pulled by the OASIS taxii2-client from a live server on loopback."""

from __future__ import annotations

import hashlib
import json
import threading
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
import requests
import uvicorn
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker
from stix2validator import validate_string
from taxii2client.exceptions import AccessError
from taxii2client.v21 import ApiRoot, Collection, Server, as_pages

from coherence.access import service as access_service
from coherence.access.domain import Tlp
from coherence.app import create_app
from coherence.db import session_scope
from coherence.incidents import records as incident_records
from coherence.ledger.models import LedgerEntry
from coherence.partners import stix
from coherence.partners.taxii import TAXII_MEDIA_TYPE, collection_id
from coherence.settings import Settings
from tests.conftest import ManualClock
from tests.partners.test_stix import (
    OFFICIAL_TLP,
    OPTIONS,
    Cyber,
    assert_valid,
    open_cyber_incidents,
)

pytestmark = pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
ACCEPT = {"Accept": TAXII_MEDIA_TYPE}


class BearerAuth(requests.auth.AuthBase):
    """Send an API token as a bearer token, as partners' own tools may."""

    def __init__(self, token: str) -> None:
        self.token = token

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        request.headers["Authorization"] = f"Bearer {self.token}"
        return request


@dataclass
class Live:
    """A server on a free loopback port, the incidents it shares and people's API tokens."""

    url: str
    cyber: Cyber
    tokens: dict[str, str]
    factory: sessionmaker[Session]
    clock: ManualClock

    def server(self, person: str) -> Server:
        """A taxii2-client server, signed in with HTTP Basic as ``person``."""
        return Server(self.url, user=person, password=self.tokens[person])

    def collection(self, person: str, agreement: str) -> Collection:
        """The collection of ``agreement``, as ``person`` reaches it from the discovery."""
        root: ApiRoot = self.server(person).default
        found = [c for c in root.collections if c.alias == agreement]
        assert len(found) == 1, [c.alias for c in root.collections]
        return found[0]

    def get(
        self, person: str, path: str, accept: str = TAXII_MEDIA_TYPE, **params: str
    ) -> requests.Response:
        """A plain request, for what the client library hides (status codes, headers)."""
        auth = (person, self.tokens[person])
        headers = {"Accept": accept}
        return requests.get(self.url + path, auth=auth, headers=headers, params=params, timeout=10)


PEOPLE = (
    "keyline-noc",
    "ravi-menon",
    "coldhead-support",
    "lumen-support",
    "amara-osei",
    "telemetry-gateway",
)


@pytest.fixture
def live(
    engine: Engine,
    factory: sessionmaker[Session],
    clock: ManualClock,
    settings: Settings,
    facility: None,
) -> Iterator[Live]:
    cyber = open_cyber_incidents(factory, clock)
    tokens = {}
    with session_scope(factory) as session:
        for person in PEOPLE:
            tokens[person] = access_service.create_token(
                session, clock=clock, person_key=person, name="taxii", actor="test"
            )[1]
    app = create_app(settings, engine=engine, clock=clock, run_workers=False)
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert thread.is_alive(), "the server stopped while starting"
        assert time.monotonic() < deadline, "the server did not start"
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield Live(f"http://127.0.0.1:{port}/taxii2/", cyber, tokens, factory, clock)
    finally:
        server.should_exit = True
        thread.join(timeout=20)


def pull(collection: Collection, **filters: Any) -> list[dict[str, Any]]:
    """Every object of a collection, page by page, as taxii2-client's as_pages walks them."""
    objects: list[dict[str, Any]] = []
    for envelope in as_pages(collection.get_objects, per_request=4, **filters):
        objects.extend(envelope.get("objects", []))
    return objects


def incidents_in(objects: list[dict[str, Any]]) -> set[str]:
    return {o["external_references"][0]["external_id"] for o in objects if o["type"] == "incident"}


def as_bundle(objects: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "bundle", "id": f"bundle--{uuid.uuid4()}", "objects": objects}


def assert_collection(objects: list[dict[str, Any]], labels: dict[str, Tlp]) -> None:
    """Objects of several incidents: valid STIX, each incident marked with its own label, every
    marking an official TLP 2.0 definition the collection holds."""
    results = validate_string(json.dumps(as_bundle(objects)), OPTIONS)
    assert results.is_valid, [str(e) for e in results.errors]
    definitions = {o["id"]: o for o in objects if o["type"] == "marking-definition"}
    for label in set(labels.values()):
        assert definitions[OFFICIAL_TLP[label]] == stix.tlp_marking(label)
    assert set(definitions) == {OFFICIAL_TLP[label] for label in labels.values()}
    for item in objects:
        if item["type"] == "marking-definition":
            continue
        (marking,) = item["object_marking_refs"]
        assert marking in definitions, item["id"]
        if item["type"] == "incident":
            reference = item["external_references"][0]["external_id"]
            assert marking == OFFICIAL_TLP[labels[reference]], reference


def shares(live: Live) -> list[dict[str, Any]]:
    with session_scope(live.factory) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == "share:sent")
            .order_by(LedgerEntry.seq)
        ).all()
        return [json.loads(r.payload) | {"subject": r.subject} for r in rows]


def test_partners_pull_their_incidents_with_taxii2_client(live: Live) -> None:
    server = live.server("keyline-noc")
    assert server.title == "Coherence TAXII server"
    assert server.default is not None
    assert server.default.url == server.api_roots[0].url
    assert server.default.versions == [TAXII_MEDIA_TYPE]
    collection = live.collection("keyline-noc", "hl-keyline")
    assert collection.id == collection_id("hl-keyline")
    assert collection.can_read
    assert not collection.can_write
    assert collection.media_types == [stix.STIX_MEDIA_TYPE]
    objects = pull(collection)
    assert incidents_in(objects) == {live.cyber.harbour}
    assert_valid(as_bundle(objects), Tlp.AMBER)
    assert len({o["id"] for o in objects}) == len(objects)
    whole = collection.get_objects()
    assert whole["more"] is False
    assert whole["objects"] == objects, "pages join up in order"
    indicators = collection.get_objects(type="indicator")["objects"]
    assert {o["pattern"] for o in indicators} == {
        "[ipv4-addr:value = '198.51.100.23']",
        "[domain-name:value = 'c2.example.net']",
    }
    one = collection.get_object(indicators[0]["id"])["objects"]
    assert one == [indicators[0]]
    assert collection.object_versions(indicators[0]["id"])["versions"] == [
        indicators[0]["modified"]
    ]
    manifest = collection.get_manifest()["objects"]
    assert [m["id"] for m in manifest] == [o["id"] for o in objects]
    assert {m["media_type"] for m in manifest} == {stix.STIX_MEDIA_TYPE}


def test_partners_with_different_agreements_see_different_things(live: Live) -> None:
    keyline = {c.alias for c in live.server("keyline-noc").default.collections}
    assert keyline == {"hl-keyline"}
    ravi = Server(live.url, auth=BearerAuth(live.tokens["ravi-menon"]))
    (sc_group,) = ravi.default.collections
    assert sc_group.alias == "nb-sc-group"
    objects = pull(sc_group)
    # Every cyber incident at sc-lab (nb-sc-group's scope), none of Harbourline's.
    cyber = live.cyber
    assert incidents_in(objects) == {cyber.campus, cyber.compressor, cyber.compressor_amber}
    assert_collection(
        objects,
        {cyber.campus: Tlp.AMBER, cyber.compressor: Tlp.GREEN, cyber.compressor_amber: Tlp.AMBER},
    )
    # The address both the AMBER and the GREEN incident name is one object, marked AMBER.
    (address,) = [o for o in objects if o.get("value") == "203.0.113.9"]
    assert address["object_marking_refs"] == [OFFICIAL_TLP[Tlp.AMBER]]
    text = json.dumps(objects)
    assert "198.51.100.23" not in text
    assert "+15555550101" not in text, "nb-sc-group shares no personal data"


def test_another_partners_collection_is_not_found_and_admins_cannot_read_it(
    live: Live,
) -> None:
    other = collection_id("nb-sc-group")
    assert live.get("keyline-noc", f"coherence/collections/{other}/").status_code == 404
    response = live.get("keyline-noc", f"coherence/collections/{other}/objects/")
    assert response.status_code == 404
    assert response.headers["content-type"] == TAXII_MEDIA_TYPE
    assert response.json()["http_status"] == "404"
    admin = {c.alias: c for c in live.server("amara-osei").default.collections}
    assert set(admin) >= {"hl-keyline", "nb-sc-group", "nb-lumen-2025"}
    assert not admin["hl-keyline"].can_read, "northbridge is not party to hl-keyline"
    with pytest.raises(AccessError):
        admin["hl-keyline"].get_objects()
    hidden = live.get("amara-osei", f"coherence/collections/{collection_id('hl-keyline')}/objects/")
    assert hidden.status_code == 403


def test_expired_and_out_of_scope_agreements_share_nothing(live: Live) -> None:
    assert live.server("lumen-support").default.collections == []
    expired = collection_id("nb-lumen-2025")
    assert live.get("lumen-support", f"coherence/collections/{expired}/").status_code == 404
    compressors = live.collection("coldhead-support", "nb-coldhead-compressors")
    # Only the GREEN compressor incident: the campus one is out of scope, compressor-2 is AMBER.
    assert incidents_in(pull(compressors)) == {live.cyber.compressor}
    assert_valid(as_bundle(pull(compressors)), Tlp.GREEN)
    with session_scope(live.factory) as session:
        incident_records.label(
            session,
            clock=live.clock,
            ref=live.cyber.compressor,
            tlp=Tlp.AMBER,
            recipients=[],
            actor="amara-osei",
        )
    assert pull(compressors) == [], "above the agreement's ceiling now"
    live.clock.advance(timedelta(days=400))
    assert live.server("coldhead-support").default.collections == [], "both have expired"


def test_a_share_the_export_guard_blocks_is_left_out_and_named(live: Live) -> None:
    cyber = live.collection("coldhead-support", "nb-coldhead-cyber")
    assert live.cyber.campus in cyber.description
    assert "export guard" in cyber.description
    found = incidents_in(pull(cyber))
    assert live.cyber.campus not in found, "personal data may not leave the EEA without a basis"
    assert found == {live.cyber.compressor, live.cyber.compressor_amber}


def test_bad_credentials_are_401_with_a_challenge(live: Live) -> None:
    url = live.url + "coherence/collections/"
    for auth in (None, ("keyline-noc", "coh_wrong"), ("ravi-menon", live.tokens["keyline-noc"])):
        response = requests.get(url, auth=auth, headers=ACCEPT, timeout=10)
        assert response.status_code == 401, auth
        assert "Basic" in response.headers["WWW-Authenticate"]
        assert response.json()["http_status"] == "401"
    with pytest.raises(requests.HTTPError) as refused:
        Server(live.url, user="keyline-noc", password="coh_wrong").refresh()
    assert refused.value.response.status_code == 401
    integration = live.get("telemetry-gateway", "coherence/collections/")
    assert integration.status_code == 403, "integration tokens only send telemetry"
    wrong_type = live.get("keyline-noc", "", accept="application/xml")
    assert wrong_type.status_code == 406


def test_collections_are_read_only(live: Live) -> None:
    collection = live.collection("keyline-noc", "hl-keyline")
    with pytest.raises(AccessError):
        collection.add_objects({"objects": []})
    url = f"{collection.url}objects/"
    response = requests.post(
        url, json={"objects": []}, auth=("keyline-noc", live.tokens["keyline-noc"]), timeout=10
    )
    assert response.status_code == 403
    assert live.get("keyline-noc", "coherence/status/1/").status_code == 404


def test_each_pull_with_objects_is_ledgered_with_its_hash(live: Live) -> None:
    collection = live.collection("keyline-noc", "hl-keyline")
    path = f"coherence/collections/{collection.id}/objects/"
    response = live.get("keyline-noc", path)
    assert response.status_code == 200
    (entry,) = shares(live)
    assert entry["kind"] == "taxii"
    assert entry["organisation"] == "keyline-quantum"
    assert entry["agreements"] == ["hl-keyline"]
    assert entry["sha256"] == hashlib.sha256(response.content).hexdigest()
    assert entry["subject"] == f"taxii:{collection.id}"
    last = response.headers["X-TAXII-Date-Added-Last"]
    nothing = live.get("keyline-noc", path, added_after=last)
    assert nothing.status_code == 200
    assert "objects" not in nothing.json()
    assert len(shares(live)) == 1, "an empty pull sends nothing"


def test_pages_filters_and_new_objects(live: Live) -> None:
    collection = live.collection("keyline-noc", "hl-keyline")
    first = collection.get_objects(limit=3)
    assert first["more"] is True
    assert len(first["objects"]) == 3
    rest = collection.get_objects(next=first["next"])["objects"]
    assert first["objects"] + rest == collection.get_objects()["objects"]
    path = f"coherence/collections/{collection.id}/objects/"
    bad = live.get("keyline-noc", path, added_after="yesterday")
    assert bad.status_code == 400
    assert live.get("keyline-noc", path, next="nonsense").status_code == 400
    assert live.get("keyline-noc", path, limit="0").status_code == 400
    last = live.get("keyline-noc", path).headers["X-TAXII-Date-Added-Last"]
    live.clock.advance(timedelta(minutes=5))
    with session_scope(live.factory) as session:
        incident_records.add_note(
            session,
            clock=live.clock,
            ref=live.cyber.harbour,
            text="IOC: ipv4-addr 192.0.2.77",
            actor="fatima-idrissi",
        )
    fresh = collection.get_objects(added_after=last)["objects"]
    assert "[ipv4-addr:value = '192.0.2.77']" in {o.get("pattern") for o in fresh}
    assert all(stix.parse_stamp(o.get("modified", last)) >= stix.parse_stamp(last) for o in fresh)
