"""Playbook and facility YAML: any text either loads or fails with ValidationFailed naming where."""

from __future__ import annotations

from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from coherence.catalog.rules import facility_problems
from coherence.catalog.schemas import FacilityDocument
from coherence.documents import load_yaml_file, load_yaml_mapping, problems_error, validate_document
from coherence.errors import ValidationFailed
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.schemas import PlaybookDocument
from tests.conftest import SAMPLE_FACILITY
from tests.fuzz.strategies import TRICKY_TEXT, bounded, mutated, outcome

LIBRARY = playbooks_service.library_sources()
PLAYBOOKS = [load_yaml_mapping(text, source=name) for name, text in LIBRARY]
FACILITY = load_yaml_file(SAMPLE_FACILITY)
PLAYBOOK_FIELDS = (*PlaybookDocument.model_fields, "kind", "metric", "operator", "value")
FACILITY_FIELDS = (*FacilityDocument.model_fields, "key", "organisation", "site", "depends_on")


def _yaml(document: Any) -> str:
    return yaml.safe_dump(document, allow_unicode=True, sort_keys=False)


def _playbook(text: str | bytes) -> PlaybookDocument | None:
    """The full path `playbook validate` and the API take; None if refused as it should be."""
    result = outcome(
        lambda: playbooks_service.validate(load_yaml_mapping(text, source="body"), source="body")
    )
    if isinstance(result, ValidationFailed):
        assert result.field == "body"
        assert result.message.startswith("body ")
        return None
    return result


def _load_facility(text: str | bytes) -> FacilityDocument:
    data = load_yaml_mapping(text, source="facility.yaml")
    doc = validate_document(FacilityDocument, data, source="facility.yaml")
    problems = facility_problems(doc, {})
    if problems:
        raise problems_error("facility.yaml", problems)
    return doc


def _facility(text: str | bytes) -> FacilityDocument | None:
    """Load, validate and cross-check a facility document as `facility load` does, minus writes."""
    result = outcome(lambda: _load_facility(text))
    if isinstance(result, ValidationFailed):
        assert result.field == "facility.yaml"
        for problem in result.details.get("problems", []):
            assert problem["path"]
            assert problem["message"]
        return None
    return result


@bounded(60)
@given(text=st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_text_is_a_playbook_or_a_validation_error(text: str | bytes) -> None:
    _playbook(text)


@bounded(60)
@given(
    source=st.sampled_from(range(len(LIBRARY))),
    at=st.integers(0, 10_000),
    cut=st.integers(0, 40),
    insert=st.text(max_size=20) | st.sampled_from([": ", "- ", "&a ", "*a", "!!python/none", "\t"]),
)
def test_a_damaged_library_playbook_is_a_playbook_or_a_validation_error(
    source: int, at: int, cut: int, insert: str
) -> None:
    text = LIBRARY[source][1]
    at %= len(text)
    _playbook(text[:at] + insert + text[at + cut :])


@bounded(60)
@given(data=st.data(), source=st.sampled_from(range(len(PLAYBOOKS))))
def test_a_mutated_playbook_is_a_playbook_or_a_validation_error(
    data: st.DataObject, source: int
) -> None:
    document = data.draw(mutated(PLAYBOOKS[source], names=PLAYBOOK_FIELDS))
    accepted = _playbook(_yaml(document))
    if accepted is not None:
        again = _playbook(_yaml(playbooks_service.document_data(accepted)))
        assert again is not None
        assert playbooks_service.content_hash(again) == playbooks_service.content_hash(accepted)


@pytest.mark.parametrize(("name", "text"), LIBRARY)
def test_every_library_playbook_round_trips(name: str, text: str) -> None:
    document = playbooks_service.validate(load_yaml_mapping(text, source=name), source=name)
    again = _playbook(_yaml(playbooks_service.document_data(document)))
    assert again == document


@bounded(60)
@given(text=st.text(max_size=300) | st.binary(max_size=300))
def test_arbitrary_text_is_a_facility_or_a_validation_error(text: str | bytes) -> None:
    _facility(text)


@bounded(80)
@given(data=st.data())
def test_a_mutated_sample_facility_is_a_facility_or_a_validation_error(
    data: st.DataObject,
) -> None:
    document = data.draw(mutated(FACILITY, names=FACILITY_FIELDS))
    accepted = _facility(_yaml(document))
    if accepted is not None:
        again = _facility(_yaml(accepted.model_dump(mode="json", exclude_none=True)))
        assert again == accepted


@bounded(60)
@given(
    section=st.sampled_from(sorted(FACILITY)),
    value=st.sampled_from(TRICKY_TEXT) | st.integers() | st.floats(),
)
def test_a_facility_section_of_the_wrong_type_names_the_section(section: str, value: Any) -> None:
    with pytest.raises(ValidationFailed) as refused:
        _facility_strict(_yaml({**FACILITY, section: value}))
    assert section in str(refused.value.details["problems"])


def _facility_strict(text: str) -> None:
    data = load_yaml_mapping(text, source="facility.yaml")
    validate_document(FacilityDocument, data, source="facility.yaml")


def test_the_sample_facility_round_trips() -> None:
    accepted = _facility(_yaml(FACILITY))
    assert accepted is not None
    assert _facility(_yaml(accepted.model_dump(mode="json", exclude_none=True))) == accepted
