"""Inputs the fuzzers found crashing the server, pinned so they never come back."""

from __future__ import annotations

import asyncio

import pytest
from starlette.requests import Request

from coherence.exercises import domain as exercises_domain
from coherence.incidents import domain as incidents_domain
from coherence.web.live import events
from tests.fuzz.conftest import Api

BEYOND_64_BITS = 2**64


@pytest.mark.parametrize(
    "parse", [incidents_domain.parse_reference, exercises_domain.parse_reference]
)
@pytest.mark.parametrize("text", ["²", "1²", "INC-²", "EX-٣²"])
def test_a_reference_of_digits_int_cannot_read_is_no_reference(parse: object, text: str) -> None:
    # str.isdigit() accepts '²'; int() refuses it, which was a 500 on every {ref} route.
    assert parse(text) is None  # type: ignore[operator]


def test_a_reference_in_other_decimal_digits_still_reads() -> None:
    assert incidents_domain.parse_reference("INC-٤٢") == 42
    assert exercises_domain.parse_reference("\uff14\uff12") == 42  # full-width 42


@pytest.mark.parametrize(
    "path",
    ["/api/v1/incidents/²/summary", "/api/v1/incidents/1²/recovery", "/api/v1/exercises/²"],
)
def test_a_superscript_reference_is_not_found(api: Api, path: str) -> None:
    answer = api.client.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.json()["field"]


@pytest.mark.parametrize(
    ("method", "path", "field"),
    [
        ("DELETE", f"/api/v1/oncall/overrides/{BEYOND_64_BITS}", "override_id"),
        ("DELETE", f"/api/v1/break-glass/{BEYOND_64_BITS}", "grant_id"),
        ("GET", f"/api/v1/playbooks/magnet-quench/versions/{BEYOND_64_BITS}", "version"),
        ("GET", f"/api/v1/ledger?after={BEYOND_64_BITS}", "after"),
        ("GET", f"/api/v1/ledger/proofs/inclusion?seq={BEYOND_64_BITS}", "seq"),
        ("GET", f"/api/v1/ledger/proofs/consistency?from=1&to={BEYOND_64_BITS}", "to"),
        ("GET", f"/api/v1/ledger/bundle?first={BEYOND_64_BITS}", "first"),
    ],
)
def test_a_number_beyond_64_bits_is_refused_naming_it(
    api: Api, method: str, path: str, field: str
) -> None:
    # It used to reach the database driver and overflow: a 500.
    answer = api.client.request(method, path)
    assert answer.status_code == 422, answer.text
    assert answer.json()["field"] == field


def test_a_superscript_last_event_id_starts_the_stream_from_now(api: Api) -> None:
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/events",
        "headers": [(b"accept", b"text/event-stream"), (b"last-event-id", "²".encode("latin-1"))],
        "query_string": b"",
        "app": api.client.app,
    }
    response = asyncio.run(events(Request(scope), caller=None, since=None))  # type: ignore[arg-type]
    assert response.status_code == 200


def test_the_checkpoint_route_documents_its_errors_as_json(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    answers = spec["paths"]["/api/v1/ledger/checkpoint"]["get"]["responses"]
    assert set(answers["404"]["content"]) == {"application/json"}
    if api.client.get("/api/v1/ledger/checkpoint").status_code == 404:
        assert api.client.get("/api/v1/ledger/checkpoint").json()["code"] == "not_found"


def test_a_batch_of_only_bad_samples_is_answered_as_documented(api: Api) -> None:
    spec = api.client.get("/openapi.json").json()
    answer = spec["paths"]["/api/v1/telemetry"]["post"]["responses"]["422"]
    refs = {s["$ref"] for s in answer["content"]["application/json"]["schema"]["anyOf"]}
    assert refs == {"#/components/schemas/IntakeResult", "#/components/schemas/ErrorBody"}
    refused = api.client.post("/api/v1/telemetry", json=[[]])
    assert refused.status_code == 422
    assert refused.json()["rejected"][0]["index"] == 0
