"""Endpoints taking YAML documents: mutated shipped documents never get a 500 or a write."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from coherence.documents import load_yaml_file, load_yaml_mapping
from coherence.playbooks import service as playbooks_service
from tests.conftest import ROOT
from tests.fuzz.conftest import Api
from tests.fuzz.strategies import TRICKY_TEXT, bounded, finite_scalars, mutated
from tests.helpers import counts

EXAMPLES = ROOT / "examples"
_name, _text = playbooks_service.library_sources()[0]
DOCUMENTS: dict[str, dict[str, Any]] = {
    "/api/v1/facility": load_yaml_file(EXAMPLES / "facility.yaml"),
    "/api/v1/playbooks": load_yaml_mapping(_text, source=_name),
    "/api/v1/playbooks/validate": load_yaml_mapping(_text, source=_name),
    "/api/v1/agreements": load_yaml_file(EXAMPLES / "agreements.yaml"),
    "/api/v1/recovery/supply": load_yaml_file(EXAMPLES / "supply.yaml"),
    "/api/v1/exercises/validate": load_yaml_file(EXAMPLES / "exercises" / "cooling-outage.yaml"),
    "/api/v1/risk/register/load": load_yaml_file(EXAMPLES / "risks.yaml"),
    "/api/v1/training/curriculum": load_yaml_file(EXAMPLES / "curriculum.yaml"),
    "/api/v1/training/records/load": load_yaml_file(EXAMPLES / "training.yaml"),
}
CONTENT_TYPES = ["application/yaml", "application/json", "text/plain"]
leaves = finite_scalars | st.sampled_from(TRICKY_TEXT)


@bounded(12)
@given(data=st.data(), content_type=st.sampled_from(CONTENT_TYPES))
@pytest.mark.parametrize("path", sorted(DOCUMENTS))
def test_a_mutated_document_is_loaded_or_refused_without_a_write(
    api: Api, path: str, data: st.DataObject, content_type: str
) -> None:
    document = data.draw(mutated(DOCUMENTS[path], leaves=leaves))
    body = yaml.safe_dump(document, allow_unicode=True, sort_keys=False)
    before = counts(api.factory)
    answer = api.client.post(path, content=body, headers={"Content-Type": content_type})
    assert answer.status_code < 500, answer.text
    if answer.status_code >= 400:
        refused = answer.json()
        assert refused["message"]
        assert refused.get("field") or answer.status_code in (401, 403, 404, 409)
        assert counts(api.factory) == before


@pytest.mark.parametrize("path", sorted(DOCUMENTS))
def test_each_shipped_document_loads_through_its_endpoint(api: Api, path: str) -> None:
    body = yaml.safe_dump(DOCUMENTS[path], allow_unicode=True, sort_keys=False)
    answer = api.client.post(path, content=body, headers={"Content-Type": "application/yaml"})
    assert answer.status_code in (200, 201), answer.text
