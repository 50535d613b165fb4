"""The authorisation matrix: every endpoint, tried by every kind of person, in every phase.

The expected answer for each cell comes from the policy itself (through the same facts the
server gathers); the test checks the server gives that answer, that a refusal is a 403 and
that nothing is reachable without a decision.
"""

from __future__ import annotations

import importlib
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.access import guard
from coherence.access import service as access_service
from coherence.access.api import Allow, AllowInOwnTransaction, Public
from coherence.access.policy import Action
from coherence.catalog import service as catalog_service
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Status
from coherence.partners.taxii import AllowTaxii
from coherence.web.guards import AllowPage
from tests.conftest import ManualClock

ROUTER_MODULES = (
    "coherence.access.api",
    "coherence.catalog.api",
    "coherence.comms.api",
    "coherence.containment.api",
    "coherence.detection.api",
    "coherence.evidence.api",
    "coherence.incidents.api",
    "coherence.ledger.api",
    "coherence.obligations.api",
    "coherence.partners.api",
    "coherence.partners.taxii",
    "coherence.playbooks.api",
    "coherence.recovery.api",
    "coherence.risk.api",
    "coherence.risk.views",
    "coherence.web.routes",
    "coherence.web.auth",
    "coherence.web.acks",
    "coherence.web.status",
    "coherence.web.live",
    "coherence.web.facility",
    "coherence.web.reports",
    "coherence.web.partners_page",
    "coherence.web.statements_page",
    "coherence.web.playbooks_page",
    "coherence.web.roles",
    "coherence.reviews.api",
    "coherence.reviews.pages",
    "coherence.incidents.metrics_exposition",
    "coherence.incidents.metrics_views",
    "coherence.exercises.api",
    "coherence.exercises.views",
    "coherence.containment.pages",
    "coherence.recovery.pages",
    "coherence.training.api",
    "coherence.training.pages",
    "coherence.watch.api",
    "coherence.watch.pages",
    "coherence.learning.api",
    "coherence.learning.pages",
)
# Everyone the matrix tries, by what makes them different to the policy.
PERSONAS = {
    "administrator": "amara-osei",
    "commander": "kwame-asante",
    "scribe": "oskar-nilsen",
    "responder": "priya-raman",
    "observer": "campus-visitor-desk",
    "auditor": "ines-laurent",
    "integration": "telemetry-gateway",
    "other-operator": "fatima-idrissi",
    "vendor": "polar-cryo-support",
}
PHASES = [Status.DETECTED, Status.CONTAINED, Status.RESOLVED, Status.CLOSED]
WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
INCIDENT_PARAMS = {"ref", "task_id", "statement_id", "item_id", "change_id"}
FIXED_PARAMS = {
    "key": "fridge-1",
    "rotation": "sc-lab-ops",
    "override_id": "999999",
    "grant_id": "999999",
    "version": "1",
    "collection_id": "00000000-0000-0000-0000-000000000000",
    "object_id": "indicator--00000000-0000-0000-0000-000000000000",
    "status_id": "999999",
    "token": "x",
    "number": "1",
    "exercise": "999999",
    "near_miss": "NM-99999",
    "lesson": "LL-99999",
}
PUBLIC_ROUTES = {
    ("GET", "/api/v1/ledger/key"),
    ("POST", "/api/v1/deliveries/{key}/receipt"),
    ("GET", "/login"),
    ("POST", "/login"),
    ("POST", "/logout"),
    ("GET", "/ack/{token}"),
    ("POST", "/ack/{token}"),
    ("GET", "/status"),
    ("GET", "/status.json"),
    ("GET", "/status.atom"),
}


@dataclass(frozen=True)
class Endpoint:
    """A route and the decision it asks for (None for a public route)."""

    method: str
    path: str
    action: Action | None
    page: bool


def _routes(router: Any, prefix: str = "") -> Iterator[tuple[str, APIRoute]]:
    for route in router.routes:
        if isinstance(route, APIRoute):
            yield prefix, route
        elif hasattr(route, "original_router"):
            yield from _routes(route.original_router, prefix + route.include_context.prefix)


def _markers(dependant: Any) -> list[Any]:
    found = []
    for dependency in dependant.dependencies:
        if isinstance(
            dependency.call, Allow | AllowPage | AllowInOwnTransaction | AllowTaxii | Public
        ):
            found.append(dependency.call)
        found.extend(_markers(dependency))
    return found


def endpoints() -> list[Endpoint]:
    """Every route of every router, with the access marker it carries."""
    result = []
    for name in ROUTER_MODULES:
        for prefix, route in _routes(importlib.import_module(name).router):
            markers = _markers(route.dependant)
            assert len(markers) == 1, f"{route.path} carries {markers}: exactly one decision"
            marker = markers[0]
            action = None if isinstance(marker, Public) else marker.action
            for method in route.methods:
                result.append(
                    Endpoint(method, prefix + route.path, action, isinstance(marker, AllowPage))
                )
    return result


ENDPOINTS = endpoints()


def test_no_endpoint_is_reachable_without_a_decision() -> None:
    public = {(e.method, e.path) for e in ENDPOINTS if e.action is None}
    assert public == PUBLIC_ROUTES
    assert len(ENDPOINTS) > 70


@dataclass
class World:
    """Incidents in each phase with a task, a statement and an evidence item each."""

    client: TestClient
    factory: sessionmaker[Session]
    clock: ManualClock
    incidents: dict[Status, dict[str, str]]

    def make(self, phase: Status) -> None:
        """Open an incident, staff it and drive it to ``phase``."""
        api = self.client
        ref = api.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
        for role, person in (("incident_commander", "kwame-asante"), ("scribe", "oskar-nilsen")):
            assigned = api.post(
                f"/api/v1/incidents/{ref}/roles", json={"role": role, "person": person}
            )
            assert assigned.status_code == 200, assigned.text
        statement = api.post(f"/api/v1/incidents/{ref}/statements", json={"template": "brief"})
        assert statement.status_code == 201, statement.text
        item = api.post(
            "/api/v1/evidence",
            params={"name": "log.txt", "tlp": "AMBER", "incident": ref},
            content=b"pressure log",
            headers={"Content-Type": "application/octet-stream"},
        )
        assert item.status_code == 201, item.text
        task = api.get(f"/api/v1/incidents/{ref}/tasks").json()[0]["id"]
        change = api.get(f"/api/v1/incidents/{ref}/changes").json()[0]["id"]
        path = [Status.ACKNOWLEDGED, Status.CONTAINED, Status.RECOVERING, Status.RESOLVED]
        path += [Status.CLOSED]
        for step in path[: path.index(phase) + 1] if phase in path else []:
            if step is Status.CLOSED:
                for open_task in api.get(f"/api/v1/incidents/{ref}/tasks").json():
                    if open_task["status"] == "open":
                        api.patch(
                            f"/api/v1/tasks/{open_task['id']}",
                            json={"status": "skipped", "note": "not needed in the matrix"},
                        )
            moved = api.post(f"/api/v1/incidents/{ref}/transition", json={"status": step.value})
            assert moved.status_code == 200, moved.text
        self.incidents[phase] = {
            "ref": ref,
            "task_id": str(task),
            "statement_id": str(statement.json()["id"]),
            "item_id": str(item.json()["id"]),
            "change_id": str(change),
        }

    def repair(self, phase: Status) -> None:
        """Replace the phase's incident if a request moved it on (acknowledging does)."""
        with session_scope(self.factory) as session:
            current = incidents_service.get_or_raise(session, self.incidents[phase]["ref"])
            moved = current.status != phase.value
        if moved:
            self.make(phase)

    def expected(self, person_key: str, action: Action, phase: Status | None) -> bool:
        """What the policy decides for this person, action and phase's incident."""
        with session_scope(self.factory) as session:
            person = catalog_service.get_person_or_raise(session, person_key)
            incident = (
                incidents_service.get_or_raise(session, self.incidents[phase]["ref"])
                if phase is not None
                else None
            )
            return guard.decide_for(
                session, person=person, action=action, now=self.clock.now(), incident=incident
            ).allowed


@pytest.fixture
def world(client: TestClient, factory: sessionmaker[Session], clock: ManualClock) -> World:
    document = {
        "templates": [{"key": "brief", "audience": "executives", "title": "t", "body": "b"}]
    }
    assert client.post("/api/v1/statement-templates", json=document).status_code == 201
    built = World(client, factory, clock, {})
    for phase in PHASES:
        built.make(phase)
    return built


def _as(world: World, person_key: str) -> tuple[dict[str, str], TestClient]:
    """API headers and a signed-in dashboard client for a person."""
    with session_scope(world.factory) as session:
        _row, secret = access_service.create_token(
            session, clock=world.clock, person_key=person_key, name="matrix", actor="test"
        )
    browser = TestClient(world.client.app, raise_server_exceptions=False)
    browser.post("/login", data={"token": secret}, follow_redirects=False)
    return {"Authorization": f"Bearer {secret}"}, browser


def _url(endpoint: Endpoint, values: dict[str, str]) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        return values[name] if name in values else FIXED_PARAMS[name]

    return re.sub(r"\{(\w+)\}", fill, endpoint.path)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("persona", sorted(PERSONAS))
def test_every_endpoint_answers_as_the_policy_decides(world: World, persona: str) -> None:
    person = PERSONAS[persona]
    headers, browser = _as(world, person)
    wrong = []
    tried = 0
    for endpoint in ENDPOINTS:
        if endpoint.action is None:
            continue
        params = set(re.findall(r"\{(\w+)\}", endpoint.path))
        phases: list[Status | None] = list(PHASES) if params & INCIDENT_PARAMS else [None]
        for phase in phases:
            values = world.incidents[phase] if phase is not None else {}
            allowed = world.expected(
                person, endpoint.action, phase if endpoint.action.on_incident else None
            )
            url = _url(endpoint, values)
            if endpoint.page:
                response = browser.request(endpoint.method, url, data={}, follow_redirects=False)
            else:
                # A body no endpoint accepts: an allowed call stops at validation, changing nothing.
                response = world.client.request(
                    endpoint.method, url, json={"matrix": True}, headers=headers
                )
            tried += 1
            got = response.status_code
            if (got == 403) == allowed or got in (401, 500):
                wrong.append(f"{endpoint.method} {url} [{phase}] allowed={allowed} got {got}")
            if phase is not None:
                world.repair(phase)
    assert not wrong, "\n".join(wrong)
    assert tried > 150


MATRIX_FILE = Path(__file__).with_name("matrix.txt")


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_the_matrix_is_the_reviewed_one(world: World) -> None:
    """A change to any endpoint's decision shows up as a diff of matrix.txt for review.

    Regenerate with ``COHERENCE_UPDATE_MATRIX=1 pytest tests/access/test_matrix.py``.
    """
    names = sorted(PERSONAS)
    lines = ["# endpoint [phase]: " + " ".join(names)]
    for endpoint in sorted(ENDPOINTS, key=lambda e: (e.path, e.method)):
        if endpoint.action is None:
            continue
        on_incident = endpoint.action.on_incident and "{" in endpoint.path
        for phase in PHASES if on_incident else [None]:
            cells = [
                "Y" if world.expected(PERSONAS[name], endpoint.action, phase) else "-"
                for name in names
            ]
            where = f" [{phase.value}]" if phase else ""
            lines.append(f"{endpoint.method} {endpoint.path}{where}: {' '.join(cells)}")
    text = "\n".join(lines) + "\n"
    if os.environ.get("COHERENCE_UPDATE_MATRIX"):
        MATRIX_FILE.write_text(text)
    assert MATRIX_FILE.read_text() == text
