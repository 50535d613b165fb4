"""The restoration plan on the dashboard: the API's actions as forms, for whom the policy allows."""

from __future__ import annotations

import html
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from tests.containment.test_api import open_staffed
from tests.containment.test_pages import Browser, browser_fixture  # noqa: F401 - a fixture
from tests.helpers import counts
from tests.recovery.test_api import opened, report_state


def plan_of(client: TestClient, ref: str) -> dict[str, Any]:
    shown: dict[str, Any] = client.get(f"/api/v1/incidents/{ref}/recovery").json()
    return shown


def states(client: TestClient, ref: str) -> dict[str, str]:
    return {s["asset"]: s["state"] for s in plan_of(client, ref)["steps"]}


def test_plan_start_finish_and_pass_a_gate_from_the_page(
    client: TestClient, browser: Browser, clock: ManualClock
) -> None:
    ref = open_staffed(client)
    kwame, priya = browser("kwame-asante"), browser("priya-raman")
    # A responder may work the steps but not make the plan; the commander may.
    assert f'action="/incidents/{ref}/recovery"' not in priya.get(f"/incidents/{ref}").text
    assert f'action="/incidents/{ref}/recovery"' in kwame.get(f"/incidents/{ref}").text
    made = kwame.post(
        f"/incidents/{ref}/recovery",
        data={"also": "", "parts": "fridge-1 = mixing-chamber-thermometer"},
        follow_redirects=False,
    )
    assert made.status_code == 303
    assert made.headers["location"] == f"/incidents/{ref}#recovery"
    plan = plan_of(client, ref)
    fridge = next(s for s in plan["steps"] if s["asset"] == "fridge-1")
    assert fridge["part"]["part"] == "mixing-chamber-thermometer"
    page = priya.get(f"/incidents/{ref}").text
    assert f'action="/incidents/{ref}/recovery/steps/fridge-1/start"' in page
    assert f'action="/incidents/{ref}/recovery/steps/qpu-1/start"' not in page  # waiting
    assert html.escape(fridge["part"]["detail"]) in page  # where the part comes from
    assert priya.post(f"/incidents/{ref}/recovery/steps/fridge-1/start").status_code == 200
    finished = priya.post(f"/incidents/{ref}/recovery/steps/fridge-1/complete")
    assert finished.status_code == 200
    assert states(client, ref)["fridge-1"] == "verifying"
    assert 'name="metric"' in finished.text
    clock.advance(timedelta(minutes=5))
    read = priya.post(
        f"/incidents/{ref}/recovery/steps/fridge-1/readings",
        data={"metric": "mxc_temperature_k", "value": "0.011", "unit": "K"},
    )
    assert read.status_code == 200
    assert states(client, ref) == {"fridge-1": "done", "qpu-1": "ready"}
    types = [e["type"] for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()]
    assert "recovery:step_started" in types
    assert "recovery:step_done" in types


def test_a_failed_manual_gate_rolls_the_step_back(client: TestClient, browser: Browser) -> None:
    ref = open_staffed(client)
    client.post(f"/api/v1/incidents/{ref}/recovery", json={"also": ["fridge-2"]})
    priya = browser("priya-raman")
    # qpu-2 waits for fridge-2; qpu-1 for fridge-1; work fridge-2 through its telemetry gate.
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-2/start")
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-2/complete")
    client.post(
        f"/api/v1/incidents/{ref}/recovery/steps/fridge-2/readings",
        json={"readings": [{"metric": "mxc_temperature_k", "value": 0.012, "unit": "K"}]},
    )
    assert priya.post(f"/incidents/{ref}/recovery/steps/qpu-2/start").status_code == 200
    page = priya.get(f"/incidents/{ref}").text
    assert 'value="calibration-restored"' in page
    failed = priya.post(
        f"/incidents/{ref}/recovery/steps/qpu-2/gate",
        data={"gate": "calibration-restored", "passed": "false", "note": "couplers off"},
        follow_redirects=False,
    )
    assert failed.status_code == 303
    plan = plan_of(client, ref)
    assert (plan["version"], plan["reason"]) == (2, "rolled back")
    assert states(client, ref)["qpu-2"] == "ready"  # to be done again
    assert states(client, ref)["fridge-2"] == "done"  # the last good point stays
    rolled = [
        e
        for e in client.get(f"/api/v1/incidents/{ref}/timeline").json()
        if e["type"] == "recovery:rolled_back"
    ]
    assert rolled[0]["payload"]["asset"] == "qpu-2"
    assert rolled[0]["actor"] == "priya-raman"


def test_a_paused_branch_is_resumed_from_the_page_once_its_signal_clears(
    client: TestClient, browser: Browser, clock: ManualClock
) -> None:
    ref = opened(client, "sc-chiller-1", "pulse-tube-compressor-fault")
    client.post(
        f"/api/v1/incidents/{ref}/roles",
        json={"role": "incident_commander", "person": "kwame-asante"},
    )
    client.post(f"/api/v1/incidents/{ref}/recovery", json={"also": ["sc-chiller-2"]})
    clock.advance(timedelta(minutes=10))
    report_state(client, clock, "compressor-2", 7)
    assert states(client, ref)["compressor-2"] == "paused"
    kwame, priya = browser("kwame-asante"), browser("priya-raman")
    resume = f'action="/incidents/{ref}/recovery/steps/compressor-2/resume"'
    assert resume in kwame.get(f"/incidents/{ref}").text
    assert resume not in priya.get(f"/incidents/{ref}").text
    assert priya.post(f"/incidents/{ref}/recovery/steps/compressor-2/resume").status_code == 403
    early = kwame.post(f"/incidents/{ref}/recovery/steps/compressor-2/resume")
    assert early.status_code == 409
    assert "still has a firing signal" in early.text
    assert states(client, ref)["compressor-2"] == "paused"
    report_state(client, clock, "compressor-2", 3)  # running again: the signal clears
    assert kwame.post(f"/incidents/{ref}/recovery/steps/compressor-2/resume").status_code == 200
    after = states(client, ref)
    assert after["compressor-2"] == after["fridge-2"] == after["qpu-2"] == "waiting"


def test_bad_input_is_named_and_changes_nothing(
    client: TestClient, browser: Browser, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    kwame = browser("kwame-asante")
    before = counts(factory)
    for data, message in [
        ({"parts": "fridge-1 mixing-chamber-thermometer"}, "Parts (parts) line 1"),
        ({"also": "../../etc"}, "Also down (also.0)"),
        ({"also": "ghost"}, "no asset 'ghost'"),
        ({"parts": "fridge-1=" + "x" * 100}, "(parts.fridge-1)"),
    ]:
        refused = kwame.post(f"/incidents/{ref}/recovery", data=data)
        assert refused.status_code == 422, (data, refused.text)
        assert message in html.unescape(refused.text), data
        assert data.get("parts", data.get("also", "")) in html.unescape(refused.text)  # kept
    assert counts(factory) == before
    assert client.get(f"/api/v1/incidents/{ref}/recovery").status_code == 404
    client.post(f"/api/v1/incidents/{ref}/recovery", json={})
    client.post(f"/api/v1/incidents/{ref}/recovery/steps/fridge-1/start")
    before = counts(factory)
    step = f"/incidents/{ref}/recovery/steps/fridge-1"
    for path, data, status, message in [
        ("/readings", {"metric": "mxc_temperature_k", "value": "0.01", "unit": "furlong"}, 422,
         "samples[0]"),
        ("/readings", {"metric": "mxc_temperature_k", "value": "nan", "unit": "K"}, 422,
         "finite"),
        ("/readings", {"metric": "mxc_temperature_k", "unit": "K"}, 422,
         "The value (value) is required"),
        ("/gate", {"gate": "mxc-cold", "passed": "true"}, 422, "judged from telemetry"),
        ("/gate", {"gate": "ghost", "passed": "true"}, 422, "has no gate 'ghost'"),
        ("/gate", {"gate": "mxc-cold", "passed": "maybe"}, 422, "Passed or failed (passed)"),
        ("/start", {}, 409, "not ready"),
        ("/resume", {}, 409, "not paused"),
    ]:  # fmt: skip
        refused = kwame.post(step + path, data=data)
        assert refused.status_code == status, (path, data, refused.text)
        assert message in html.unescape(refused.text), (path, data)
    assert kwame.post(f"/incidents/{ref}/recovery/steps/ghost/start").status_code == 404
    assert counts(factory) == before
    assert states(client, ref)["fridge-1"] == "in_progress"


def test_an_observer_sees_the_plan_but_no_forms_and_is_refused(
    client: TestClient, browser: Browser, factory: sessionmaker[Session]
) -> None:
    ref = open_staffed(client)
    client.post(f"/api/v1/incidents/{ref}/recovery", json={})
    observer = browser("campus-visitor-desk")
    page = observer.get(f"/incidents/{ref}").text
    assert 'class="recovery-plan"' in page
    assert f'action="/incidents/{ref}/recovery' not in page
    before = counts(factory)
    for path in ("/recovery", "/recovery/refresh", "/recovery/steps/fridge-1/start"):
        refused = observer.post(f"/incidents/{ref}{path}", data={})
        assert refused.status_code == 403, path
    assert counts(factory) == before
    assert states(client, ref)["fridge-1"] == "ready"
