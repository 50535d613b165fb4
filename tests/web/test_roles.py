"""Roles from the incident page: take a free one, hand one out as commander, refused otherwise."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from .test_live import signed_in

WARM_UP = {"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
Headers = Callable[[str], dict[str, str]]


def roles_of(client: TestClient, ref: str, headers: dict[str, str]) -> dict[str, str]:
    found: dict[str, str] = client.get(f"/api/v1/incidents/{ref}", headers=headers).json()["roles"]
    return found


def test_the_commander_hands_out_a_role_from_the_page(
    client: TestClient, as_person: Headers
) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    admin = as_person("amara-osei")
    browser = signed_in(client)
    page = browser.get(f"/incidents/{ref}")
    assert 'id="role-form"' in page.text
    done = browser.post(
        f"/incidents/{ref}/roles", data={"role": "scribe", "person": "oskar-nilsen"}
    )
    assert done.status_code == 200
    assert done.url.fragment == "roles"
    assert roles_of(browser, ref, admin)["scribe"] == "oskar-nilsen"


def test_a_responder_may_take_a_free_role_but_not_hand_one_out(
    client: TestClient, as_person: Headers
) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    admin = as_person("amara-osei")
    client.headers.update(as_person("kwame-asante"))
    browser = signed_in(client)
    before = roles_of(browser, ref, admin)
    refused = browser.post(
        f"/incidents/{ref}/roles", data={"role": "scribe", "person": "oskar-nilsen"}
    )
    assert refused.status_code == 403
    assert "Not done:" in refused.text
    assert roles_of(browser, ref, admin) == before
    free = next(r for r in ("planning", "logistics", "finance") if r not in before)
    taken = browser.post(f"/incidents/{ref}/roles", data={"role": free})
    assert taken.status_code == 200
    assert roles_of(browser, ref, admin)[free] == "kwame-asante"


def test_bad_roles_and_people_are_refused_naming_the_field(client: TestClient) -> None:
    ref = client.post("/api/v1/incidents", json=WARM_UP).json()["reference"]
    browser = signed_in(client)
    bad_role = browser.post(f"/incidents/{ref}/roles", data={"role": "emperor"})
    assert bad_role.status_code == 422
    assert "(field: <code>role</code>)" in bad_role.text
    nobody = browser.post(f"/incidents/{ref}/roles", data={"role": "scribe", "person": "no-one"})
    assert nobody.status_code == 404
    assert "no-one" in nobody.text
    assert 'value="no-one"' in nobody.text  # what was typed is kept
