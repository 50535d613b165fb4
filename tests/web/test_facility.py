"""The facility page: asset states, the dependency graph's layout, and the page itself."""

from __future__ import annotations

from datetime import datetime

import pytest
from fastapi.testclient import TestClient

from coherence.incidents.domain import Kind, Status
from coherence.incidents.schemas import IncidentRead
from coherence.recovery.planning import Group, Node
from coherence.web import graph
from coherence.web.facility import asset_states

from .test_live import signed_in


def node(key: str, *groups: Group) -> Node:
    return Node(key, "chiller", "standard", "lab", groups)


GRAPH = {
    "feed": node("feed"),
    "chiller-1": node("chiller-1", Group("power", ("feed",), 1)),
    "chiller-2": node("chiller-2", Group("power", ("feed",), 1)),
    "fridge": node("fridge", Group("cooling", ("chiller-1", "chiller-2"), 1)),
    "qpu": node("qpu", Group("cold", ("fridge",), 1)),
}


def incident(asset: str, severity: str, number: int) -> IncidentRead:
    stamp = datetime(2026, 1, 5, 10, 0)
    return IncidentRead.model_construct(
        reference=f"INC-{number:05d}",
        asset=asset,
        severity=severity,
        kind=Kind.REAL,
        status=Status.DETECTED,
        detected_at=stamp,
    )


def test_columns_follow_how_deep_the_needs_go() -> None:
    assert graph.depths(GRAPH) == {"feed": 0, "chiller-1": 1, "chiller-2": 1, "fridge": 2, "qpu": 3}


def test_a_cycle_in_bad_data_is_cut_not_looped() -> None:
    looped = {"a": node("a", Group("", ("b",), 1)), "b": node("b", Group("", ("a",), 1))}
    assert set(graph.depths(looped)) == {"a", "b"}


def test_redundancy_group_edges_are_marked_and_titled() -> None:
    drawn = graph.layout(GRAPH, {})
    into_fridge = [e for e in drawn.edges if e.user == "fridge"]
    assert {e.needed for e in into_fridge} == {"chiller-1", "chiller-2"}
    assert all(e.redundant for e in into_fridge)
    assert into_fridge[0].title == "fridge needs 1 of chiller-1, chiller-2"
    assert not next(e for e in drawn.edges if e.user == "qpu").redundant
    boxes = {b.key: b for b in drawn.boxes}
    assert boxes["feed"].x < boxes["chiller-1"].x < boxes["fridge"].x < boxes["qpu"].x
    assert drawn.width > boxes["qpu"].x + graph.BOX_WIDTH
    assert drawn.height >= 2 * graph.ROW_HEIGHT


def test_losing_one_of_a_redundant_pair_affects_nothing_downstream() -> None:
    states = asset_states(GRAPH, [incident("chiller-1", "sev3", 1)], [])
    assert states == {"chiller-1": ("incident", "INC-00001 SEV3")}


def test_losing_what_an_asset_needs_marks_everything_downstream_affected() -> None:
    states = asset_states(
        GRAPH, [incident("feed", "sev3", 1), incident("feed", "sev1", 2)], ["qpu"]
    )
    assert states["feed"] == ("incident", "INC-00002 SEV1 +1")
    assert states["chiller-1"][0] == states["fridge"][0] == "affected"
    # An alarm on an asset that is also downstream of the loss stays an alarm.
    assert states["qpu"] == ("alarm", "Alarm firing")


def test_the_page_draws_every_site_with_states_in_words(client: TestClient) -> None:
    opened = client.post(
        "/api/v1/incidents", json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
    )
    reference = opened.json()["reference"]
    sites = client.get("/api/v1/sites").json()
    page = signed_in(client).get("/facility")
    assert page.status_code == 200
    assert page.text.count('<svg class="dep-graph"') == len(sites)
    row = page.text.split('id="asset-fridge-1"', 1)[1].split("</tr>", 1)[0]
    assert f"■ {reference} SEV" in row
    assert f'href="/incidents/{reference}"' in row
    downstream = page.text.split('id="asset-qpu-1"', 1)[1].split("</tr>", 1)[0]
    assert "◆ Affected: lost a dependency" in downstream


def test_a_site_can_be_chosen_and_an_unknown_one_is_refused(client: TestClient) -> None:
    sites = [s["key"] for s in client.get("/api/v1/sites").json()]
    browser = signed_in(client)
    page = browser.get(f"/facility?site={sites[0]}")
    assert page.text.count('<svg class="dep-graph"') == 1
    refused = browser.get("/facility?site=no-such-site")
    assert refused.status_code == 404
    assert "no-such-site" in refused.text


@pytest.mark.parametrize("site", ["x" * 65])
def test_an_overlong_site_is_refused_naming_the_field(client: TestClient, site: str) -> None:
    page = signed_in(client).get(f"/facility?site={site}")
    assert page.status_code == 422
    assert "site" in page.text
