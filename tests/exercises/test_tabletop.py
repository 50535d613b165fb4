"""The required check: a full tabletop of the cooling outage on a stepped clock, run by a
scripted team through the API, fast on everything except one step; the report must name
that step and its role as the bottleneck and score it late."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.exercises.domain import DOWN_CHANNEL, EXERCISE_CHANNEL
from tests.conftest import ManualClock

SCENARIO = Path(__file__).resolve().parents[2] / "examples" / "exercises" / "cooling-outage.yaml"
SLOW_STEP, SLOW_ROLE = "check-water-and-power", "operations"
BRIEF = {
    "templates": [
        {
            "key": "directors-brief",
            "audience": "executives",
            "title": "Cooling fault in Building A",
            "body": "A cooling unit in Building A stopped. One research fridge is warming. "
            "Nobody is hurt. Staff are fixing it now. We will update you in one hour.",
        }
    ]
}


class Team:
    """The exercise's players, acting through the same API as in a real incident."""

    def __init__(
        self, client: TestClient, clock: ManualClock, as_person: Callable[[str], dict[str, str]]
    ) -> None:
        self.client, self.clock = client, clock
        self.ops = as_person("priya-raman")
        self.commander = as_person("kwame-asante")
        self.ref = ""

    def act(
        self, method: str, path: str, headers: dict[str, str] | None = None, **body: Any
    ) -> Any:
        """One action, a few seconds of wall time after the last."""
        self.clock.advance(timedelta(seconds=20))
        response = self.client.request(method, f"/api/v1{path}", json=body or None, headers=headers)
        assert response.status_code < 300, response.text
        return response.json()

    def complete(self, step: str, headers: dict[str, str]) -> None:
        tasks = self.act("GET", f"/incidents/{self.ref}/tasks")
        task = next(t for t in tasks if t["step_key"] == step)
        self.act("PATCH", f"/tasks/{task['id']}", headers, status="done", note=f"{step} done")


def direct(client: TestClient, clock: ManualClock, exercise: str, **body: Any) -> Any:
    """The exercise director steps the clock."""
    clock.advance(timedelta(seconds=30))
    response = client.post(f"/api/v1/exercises/{exercise}/advance", json=body or None)
    assert response.status_code == 200, response.text
    return response.json()


def test_the_report_finds_the_planted_bottleneck(
    client: TestClient,
    clock: ManualClock,
    factory: sessionmaker[Session],
    as_person: Callable[[str], dict[str, str]],
) -> None:
    assert client.post("/api/v1/statement-templates", json=BRIEF).status_code == 201
    started = client.post(
        "/api/v1/exercises",
        content=SCENARIO.read_bytes(),
        headers={"Content-Type": "application/yaml"},
    )
    assert started.status_code == 201, started.text
    exercise = started.json()["reference"]
    assert started.json()["elapsed_minutes"] == 0
    team = Team(client, clock, as_person)
    team.ref = started.json()["incidents"][0]
    incident = client.get(f"/api/v1/incidents/{team.ref}").json()
    assert incident["kind"] == "exercise"
    assert incident["playbook"] == "pulse-tube-compressor-fault"

    # T+0: fast on everything but the one planted step.
    team.act("POST", f"/incidents/{team.ref}/ack", team.ops)
    team.act(
        "POST", f"/incidents/{team.ref}/roles", role="incident_commander", person="kwame-asante"
    )
    for step in ("read-alarms", "vendor-case", "spares-check"):
        team.complete(step, team.ops)
    team.complete("protect-cryostat", team.commander)
    team.act(
        "POST",
        f"/incidents/{team.ref}/decisions",
        team.commander,
        decision="Keep fridge-1 cold on its own reserve; do not warm it up",
        rationale="The compressor should be back within the hour and a warm-up costs two weeks",
    )
    for expected in (2, 5, 10, 12, 20, 30, 45):
        assert direct(client, clock, exercise)["elapsed_minutes"] == expected
        if expected == 5:
            team.act(
                "POST",
                f"/incidents/{team.ref}/statements",
                team.commander,
                template="directors-brief",
            )
    # T+45: the planted slow step is finally done; everything after it follows at once.
    team.complete(SLOW_STEP, team.ops)
    team.complete("restart-compressor", team.ops)
    for phase in ("contained", "recovering", "resolved"):
        team.act("POST", f"/incidents/{team.ref}/transition", team.commander, status=phase)
    assert direct(client, clock, exercise)["elapsed_minutes"] == 60
    ended = client.post(f"/api/v1/exercises/{exercise}/end", json={"note": "hot wash done"})
    assert ended.status_code == 200
    assert ended.json()["status"] == "ended"

    report = client.get(f"/api/v1/exercises/{exercise}/report").json()
    score = report["score"]
    assert score["bottleneck"]["key"] == SLOW_STEP
    assert score["bottleneck"]["role"] == SLOW_ROLE
    assert score["bottleneck"]["verdict"] == "late"
    assert score["bottleneck"]["wait"] == 45
    assert [s["key"] for s in score["critical_path"]] == [
        "read-alarms",
        SLOW_STEP,
        "restart-compressor",
    ]
    assert score["by_role"][0]["role"] == SLOW_ROLE
    steps = {s["key"]: s for s in score["steps"]}
    assert steps[SLOW_STEP]["late_by"] == 35
    assert steps["restart-compressor"]["verdict"] == "late"
    assert steps["restart-compressor"]["wait"] == 0
    assert all(steps[k]["verdict"] == "on time" for k in ("read-alarms", "protect-cryostat"))
    milestones = {m["name"]: m for m in score["milestones"]}
    assert milestones["acknowledged"]["verdict"] == "on time"
    assert milestones["ic_assigned"]["took"] == 0
    assert milestones["contained"]["verdict"] == "late"
    assert score["scores"]["decisions"] == 100
    assert score["clarity"][0]["score"] >= 60
    assert any(f.startswith(f"Bottleneck: {SLOW_STEP} ({SLOW_ROLE})") for f in score["findings"])
    assert any(f.startswith(f"Late step: {SLOW_STEP}") for f in score["findings"])
    assert any(f.startswith(f"Slowest role: {SLOW_ROLE}") for f in score["findings"])

    markdown = client.get(f"/api/v1/exercises/{exercise}/report", params={"format": "markdown"})
    assert markdown.headers["content-type"].startswith("text/markdown")
    assert f"Bottleneck**: {SLOW_STEP} ({SLOW_ROLE})" in markdown.text
    html = client.get(f"/api/v1/exercises/{exercise}/report", params={"format": "html"}).text
    assert "<svg" in html
    assert "BOTTLENECK: late" in html
    assert "<script" not in html
    assert "http://" not in html.replace("http://www.w3.org", "")

    # Pages stayed off real channels; the exercise stays out of real metrics.
    with session_scope(factory) as session:
        channels = set(session.scalars(select(OutboxMessage.channel)).all())
    assert channels
    assert channels <= {EXERCISE_CHANNEL, DOWN_CHANNEL}
    assert client.get("/api/v1/metrics").json()["incidents"] == 0
    assert client.get("/api/v1/metrics", params={"kind": "exercise"}).json()["incidents"] == 1
