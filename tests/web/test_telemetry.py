"""Sparklines of the telemetry kept with an incident, and who may see them."""

from __future__ import annotations

import orjson
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.detection.models import TelemetrySnapshot
from coherence.web import telemetry

from .test_live import signed_in


def kept(*samples: dict[str, object]) -> bytes:
    return b"\n".join(orjson.dumps(s) for s in samples)


def sample(metric: str, value: object, at: float, asset: str = "fridge-1") -> dict[str, object]:
    return {"asset": asset, "metric": metric, "value": value, "timestamp": at, "unit": "K"}


def test_each_numeric_metric_becomes_a_line_in_time_order() -> None:
    content = kept(
        sample("mxc_temperature_k", 0.02, 30.0),
        sample("mxc_temperature_k", 0.01, 10.0),
        sample("mxc_temperature_k", 0.015, 20.0),
        sample("state", "running", 10.0),
    )
    (line,) = telemetry.sparklines(content)
    assert (line.metric, line.count, line.first, line.last) == ("mxc_temperature_k", 3, 0.01, 0.02)
    assert (line.low, line.high, line.trend) == (0.01, 0.02, "rising")
    xs = [float(p.split(",")[0]) for p in line.points.split()]
    ys = [float(p.split(",")[1]) for p in line.points.split()]
    assert xs == sorted(xs)
    assert xs[0] == telemetry.PAD
    assert xs[-1] == telemetry.WIDTH - telemetry.PAD
    # SVG y grows downward: the highest reading is drawn at the top.
    assert ys[-1] == telemetry.PAD
    assert ys[0] == telemetry.HEIGHT - telemetry.PAD


def test_a_flat_or_single_reading_is_drawn_level() -> None:
    (flat,) = telemetry.sparklines(kept(sample("p", 5, 1.0), sample("p", 5, 2.0)))
    assert flat.trend == "steady"
    (one,) = telemetry.sparklines(kept(sample("p", 5, 1.0)))
    assert one.points == f"{telemetry.PAD},18.0 {telemetry.WIDTH - telemetry.PAD},18.0"


def test_what_cannot_be_plotted_is_left_out_without_failing() -> None:
    content = b"\n".join(
        [
            b"not json",
            b"[1, 2]",
            orjson.dumps({"asset": "a", "metric": "m"}),
            orjson.dumps(sample("m", True, 1.0)),
            orjson.dumps(sample("m", "NaN", 1.0)),
            orjson.dumps({**sample("m", 1.0, 1.0), "timestamp": "soon"}),
            b'{"asset": "a", "metric": "m", "value": 1e999, "timestamp": 1}',
            b"",
        ]
    )
    assert telemetry.sparklines(content) == []


def test_the_incident_page_draws_the_kept_telemetry(
    client: TestClient, factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident = client.post(
        "/api/v1/incidents", json={"asset": "fridge-1", "playbook": "dilution-refrigerator-warm-up"}
    ).json()
    content = kept(*(sample("mxc_temperature_k", 0.01 * (1 + n), float(n)) for n in range(5)))
    with session_scope(factory) as session:
        session.add(
            TelemetrySnapshot(
                incident_id=incident["id"],
                asset="fridge-1",
                samples=5,
                sha256="ab" * 32,
                content=content,
                captured_at=clock.now(),
            )
        )
    page = signed_in(client).get(f"/incidents/{incident['reference']}")
    panel = page.text.split('id="telemetry"', 1)[1].split("</section>", 1)[0]
    assert "<polyline points=" in panel
    assert "mxc_temperature_k rising over 5 readings" in panel
    assert "0.01 → <strong>0.05</strong> K" in panel
