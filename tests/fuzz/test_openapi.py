"""Every operation in /openapi.json, fuzzed in-process: never a 500, and answers fit the schema."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import given
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from tests.fuzz.conftest import Api
from tests.fuzz.strategies import bounded

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
EXAMPLES_PER_OPERATION = 4


def test_every_operation_answers_within_its_schema(api: Api) -> None:
    # Driven by hand rather than by schemathesis' pytest plugin: its fixture loader reads a
    # pytest internal (Item._nodeid) that pytest 9 no longer has.
    schema = schemathesis.openapi.from_asgi("/openapi.json", api.client.app)
    headers = {"Authorization": f"Bearer {api.token}"}
    failures: list[str] = []
    tested = 0
    for result in schema.get_all_operations():
        operation = result.ok()
        tested += 1

        @bounded(EXAMPLES_PER_OPERATION)
        @given(case=operation.as_strategy())
        def check(case: Any) -> None:
            case.validate_response(case.call(headers=headers), checks=CHECKS)

        try:
            check()
        except (Exception, BaseExceptionGroup) as exc:  # schemathesis reports a group
            failures.append(f"{operation.label}: {exc}")
    assert tested > 100
    assert not failures, "\n\n".join(failures)


def test_a_template_version_beyond_64_bits_is_refused(api: Api) -> None:
    url = f"/api/v1/statement-templates/any/versions/{2**64}/approve"
    assert api.client.post(url, json={}).status_code == 422
