"""Partner exchange: share packages, signed notes, STIX values and TAXII queries, fuzzed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.incidents import service as incidents_service
from coherence.ledger import checkpoints, keys, note
from coherence.partners import packages, stix, taxii
from coherence.partners import service as partners_service
from tests.conftest import SAMPLE_AGREEMENTS
from tests.fuzz.conftest import Api
from tests.fuzz.strategies import TRICKY_TEXT, bounded, finite_scalars, mutated, outcome

PACKAGE_FIELDS = ("package", "signature", "entries", "withheld", "bytes", "view", "proof", "seq")


@pytest.fixture(scope="module")
def shared(api: Api) -> tuple[bytes, str]:
    """A signed share package for the compressor vendor, and the log's verifier key."""
    with session_scope(api.factory) as session:
        partners_service.load_agreements(
            session,
            clock=api.clock,
            data=load_yaml_file(SAMPLE_AGREEMENTS),
            actor="test",
            source="agreements.yaml",
        )
    opened = api.client.post(
        "/api/v1/incidents",
        json={"asset": "compressor-1", "playbook": "pulse-tube-compressor-fault"},
    )
    ref = opened.json()["reference"]
    for category, text in [("proprietary", "Pulse sequence PS-7"), ("operational", "Restarted")]:
        api.client.post(f"/api/v1/incidents/{ref}/notes", json={"text": text, "category": category})
    signer = keys.load_signer(api.settings.resolved_ledger_key_file)
    api.clock.advance(timedelta(seconds=2))
    with session_scope(api.factory) as session:
        checkpoints.sign_latest(session, clock=api.clock, signer_key=signer)
    with session_scope(api.factory) as session:
        exported = packages.export(
            session,
            clock=api.clock,
            incident=incidents_service.get_or_raise(session, ref),
            organisation="polar-cryogenics",
            signer_key=signer,
            actor="sofia-brandt",
        )
    verifier = note.verifier_for(signer)
    assert packages.verify(exported.data, verifier).ok
    return exported.data, verifier


@bounded(150)
@given(data=st.data())
def test_a_changed_package_never_verifies_and_never_raises(
    shared: tuple[bytes, str], data: st.DataObject
) -> None:
    original, verifier = shared
    document = orjson.loads(original)
    changed = data.draw(mutated(document, leaves=finite_scalars, names=PACKAGE_FIELDS))
    verdict = packages.verify(orjson.dumps(changed), verifier)
    # Compared as JSON text: to Python 1 == 1.0 == True, to a signature they differ.
    unchanged = _canonical(changed) == _canonical(document)
    assert verdict.ok == unchanged, verdict.problem
    assert verdict.ok or verdict.problem


@bounded(60)
@given(at=st.integers(0, 100_000), junk=st.binary(min_size=1, max_size=8))
def test_a_damaged_package_file_never_verifies(
    shared: tuple[bytes, str], at: int, junk: bytes
) -> None:
    original, verifier = shared
    at %= len(original)
    damaged = original[:at] + junk + original[at + len(junk) :]
    assert packages.verify(damaged, verifier).ok == _same_json(damaged, original)


def _same_json(first: bytes, second: bytes) -> bool:
    try:
        return _canonical(orjson.loads(first)) == _canonical(orjson.loads(second))
    except orjson.JSONDecodeError:
        return False


def _canonical(document: Any) -> bytes:
    return orjson.dumps(document, option=orjson.OPT_SORT_KEYS)


@bounded(100)
@given(text=st.text(max_size=200) | st.sampled_from(TRICKY_TEXT))
def test_a_note_or_checkpoint_is_read_or_refused_with_a_note_error(text: str) -> None:
    _signer, verifier = note.generate_signer("fuzz")
    for read in (lambda: note.open_note(text, [verifier]), lambda: note.parse_checkpoint(text)):
        result = outcome(read, note.NoteError)
        assert not isinstance(result, Exception) or str(result)


@bounded(100)
@given(moment=st.datetimes(min_value=datetime(1000, 1, 1), timezones=st.just(UTC)))
def test_stix_timestamps_round_trip_to_the_millisecond(moment: datetime) -> None:
    expected = moment.replace(microsecond=moment.microsecond // 1000 * 1000)
    assert stix.parse_stamp(stix.stamp(moment)) == expected


@bounded(100)
@given(text=st.text(max_size=40) | st.sampled_from(TRICKY_TEXT))
def test_a_stix_timestamp_is_read_or_refused_with_value_error(text: str) -> None:
    result = outcome(lambda: stix.parse_stamp(text), ValueError)
    assert isinstance(result, datetime) or "timestamp" in str(result)


@bounded(150)
@given(
    kind=st.sampled_from([*stix.KINDS, "File", "nope"]),
    value=st.text(max_size=80)
    | st.sampled_from(["10.0.0.1/99", "::1", "999.1.1.1", "http://[::1", "a@b.cc", "AA-BB-CC"]),
)
def test_an_observable_is_checked_or_passed_over(kind: str, value: str) -> None:
    found = stix.observable(kind, value)
    if found is not None:
        assert stix.observable(found.kind, found.value) == found
        assert found.pattern.startswith(f"[{found.kind}:")
    text = f"IOC: {kind} {value}\n{value}"
    for listed in stix.note_observables(text) + stix.signal_observables(text):
        assert listed.kind in stix.KINDS


@bounded(100)
@given(
    fields=st.fixed_dictionaries(
        {},
        optional={
            name: st.text(max_size=40) | st.sampled_from(TRICKY_TEXT)
            for name in ("added_after", "next", "ids", "types", "versions", "spec_versions")
        },
    ),
    limit=st.none() | st.integers(1, 10_000),
)
def test_a_taxii_query_selects_a_page_or_is_a_taxii_error(
    fields: dict[str, Any], limit: int | None
) -> None:
    result = outcome(
        lambda: taxii.select_page([], taxii.Filters(limit=limit, **fields)), taxii.TaxiiError
    )
    assert not isinstance(result, taxii.TaxiiError) or result.status_code == 400
