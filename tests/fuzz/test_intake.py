"""Telemetry and alert intake: hostile bodies get a refusal or a 4xx, never a crash or a 500."""

from __future__ import annotations

import copy
from typing import Any

import orjson
from hypothesis import given
from hypothesis import strategies as st

from coherence.detection.formats import (
    parse_alertmanager,
    parse_columnar,
    parse_generic_signal,
    parse_json_array,
)
from coherence.detection.mqtt import sample_from_message
from coherence.detection.samples import Rejection, Sample
from coherence.errors import ValidationFailed
from tests.fuzz.conftest import Api
from tests.fuzz.strategies import (
    TRICKY_TEXT,
    bounded,
    finite_scalars,
    json_like,
    mutated,
    outcome,
)

T0 = 1_767_607_200.0  # 2026-01-05T10:00:00Z
ALERTMANAGER: dict[str, Any] = {
    "version": "4",
    "status": "firing",
    "receiver": "coherence",
    "alerts": [
        {
            "status": "firing",
            "labels": {"alertname": "FridgeWarming", "asset": "fridge-1", "severity": "critical"},
            "annotations": {"summary": "MXC above 50 mK"},
            "startsAt": "2026-01-05T10:00:00.123456789Z",
            "endsAt": "0001-01-01T00:00:00Z",
            "fingerprint": "a3b1f9d2c0e4b5a6",
        }
    ],
}
SIGNAL: dict[str, Any] = {
    "source": "epics",
    "dedup_key": "FRIDGE1:MXC:TEMP",
    "asset": "fridge-1",
    "severity": "MAJOR",
    "status": "firing",
    "summary": "MXC temperature HIHI",
    "starts_at": "2026-01-05T10:00:00Z",
    "labels": {"pv": "FRIDGE1:MXC:TEMP"},
}
COLUMNAR: dict[str, Any] = {
    "site": "lab",
    "asset": "fridge-1",
    "metric": "mxc_temperature_k",
    "unit": "mK",
    "timestamps": [T0, T0 + 1, "2026-01-05T10:00:02+00:00"],
    "values": [12.0, 12.5, 13],
    "quality": "good",
}
BATCH = [
    {
        "site": "lab",
        "asset": "fridge-1",
        "metric": "mxc_temperature_k",
        "value": 0.012,
        "unit": "K",
        "timestamp": T0,
        "quality": "good",
        "severity": "NO_ALARM",
    }
]
FIELDS = (
    *SIGNAL,
    *COLUMNAR,
    *ALERTMANAGER["alerts"][0],
    "value",
    "timestamp",
    "quality",
    "severity",
    "startsAt",
)
hostile = st.sampled_from(TRICKY_TEXT) | finite_scalars


def _either(parse: Any, body: bytes) -> Any:
    result = outcome(lambda: parse(body))
    if isinstance(result, ValidationFailed):
        assert result.field
        assert result.message
        return None
    return result


@bounded(80)
@given(document=mutated(ALERTMANAGER, leaves=hostile, names=FIELDS))
def test_a_mutated_alertmanager_webhook_is_alerts_or_a_validation_error(document: Any) -> None:
    parsed = _either(parse_alertmanager, orjson.dumps(document))
    if parsed is not None:
        alerts, rejections = parsed
        assert len(alerts) + len(rejections) == len(document["alerts"])


@bounded(80)
@given(document=mutated(SIGNAL, leaves=hostile, names=FIELDS))
def test_a_mutated_generic_signal_is_an_alert_or_a_validation_error(document: Any) -> None:
    _either(lambda body: parse_generic_signal(body, received_at=T0), orjson.dumps(document))


@bounded(80)
@given(document=mutated(COLUMNAR, leaves=hostile, names=FIELDS))
def test_a_mutated_columnar_series_is_samples_or_a_validation_error(document: Any) -> None:
    parsed = _either(parse_columnar, orjson.dumps(document))
    if parsed is not None:
        samples, rejections = parsed
        assert len(samples) + len(rejections) == len(document["values"])


@bounded(80)
@given(document=mutated(BATCH, leaves=hostile, names=FIELDS))
def test_a_sample_batch_round_trips(document: Any) -> None:
    parsed = _either(parse_json_array, orjson.dumps(document))
    if parsed is None:
        return
    samples, _rejections = parsed
    again, refused = parse_json_array(orjson.dumps([_as_item(s) for s in samples]))
    assert (again, refused) == (samples, [])


def _as_item(sample: Sample) -> dict[str, Any]:
    return {
        "site": sample.site,
        "asset": sample.asset,
        "metric": sample.metric,
        "value": sample.value,
        "unit": sample.unit,
        "timestamp": sample.timestamp,
        "quality": sample.quality.value,
    }


@bounded(80)
@given(
    topic=st.text(max_size=40) | st.sampled_from(["coherence/lab/fridge-1/mxc_temperature_k"]),
    payload=st.binary(max_size=60) | json_like(finite_scalars).map(orjson.dumps),
)
def test_an_mqtt_message_is_a_sample_or_a_rejection(topic: str, payload: bytes) -> None:
    found = sample_from_message(topic, payload, T0)
    assert isinstance(found, Sample | Rejection)


ENDPOINTS = {
    "/api/v1/telemetry": BATCH,
    "/api/v1/alerts/alertmanager": ALERTMANAGER,
    "/api/v1/signals": SIGNAL,
}
CONTENT_TYPES = ["application/json", "application/x-ndjson", "text/plain", "", "application/xml"]


@bounded(40)
@given(
    data=st.data(),
    path=st.sampled_from(sorted(ENDPOINTS)),
    content_type=st.sampled_from(CONTENT_TYPES),
)
def test_intake_endpoints_never_answer_500(
    api: Api, data: st.DataObject, path: str, content_type: str
) -> None:
    raw = data.draw(
        st.binary(max_size=200)
        | mutated(copy.deepcopy(ENDPOINTS[path]), leaves=hostile, names=FIELDS).map(orjson.dumps)
    )
    answer = api.client.post(path, content=raw, headers={"Content-Type": content_type})
    assert answer.status_code in (200, 413, 422), answer.text
    body = answer.json()
    # A body that cannot be read names its field; a batch of only bad items lists each one.
    if answer.status_code == 422:
        assert body.get("field") or body["rejected"]
