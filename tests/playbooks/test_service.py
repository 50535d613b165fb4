"""Publishing playbooks: validation against the scheme, versions, and the shipped library."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.playbooks import service
from coherence.playbooks.schemas import PlaybookDocument

REQUIRED_SUBJECTS = [
    "dilution-refrigerator",
    "pulse-tube",
    "qubit",
    "laser",
    "vacuum",
    "quench",
    "qkd",
    "accelerator",
    "intrusion",
    "supply",
    "power",
]


@pytest.fixture
def warmup() -> dict[str, Any]:
    for name, text in service.library_sources():
        if "dilution-refrigerator" in name:
            data: dict[str, Any] = yaml.safe_load(text)
            return data
    raise AssertionError("the warm-up playbook ships with Coherence")


def test_the_library_covers_the_required_playbooks() -> None:
    names = [name for name, _text in service.library_sources()]
    assert len(names) >= 10
    for subject in REQUIRED_SUBJECTS:
        assert any(subject in name for name in names), subject
    for name, text in service.library_sources():
        document = service.validate(yaml.safe_load(text), source=name)
        assert name.endswith(f"{document.key}.yaml")


def test_quench_puts_personnel_safety_first() -> None:
    text = next(t for n, t in service.library_sources() if "quench" in n)
    document = PlaybookDocument.model_validate(yaml.safe_load(text))
    first = min(document.steps, key=lambda step: step.due_minutes)
    assert first.owner_role == "safety_officer"
    assert first.hazard


def test_editing_creates_a_new_version_and_incidents_keep_theirs(
    factory: sessionmaker[Session], clock: ManualClock, warmup: dict[str, Any], facility: None
) -> None:
    with session_scope(factory) as session:
        incident = incidents_service.open_incident(
            session,
            clock=clock,
            actor="test",
            request=IncidentCreate(asset="fridge-1", playbook=warmup["key"]),
        )
        incident_id = incident.id
    edited = copy.deepcopy(warmup)
    edited["steps"][0]["due_minutes"] = 1
    with session_scope(factory) as session:
        row, created = service.publish(
            session, clock=clock, data=edited, actor="test", source="edit"
        )
        assert created
        assert row.version == 2
        again, created_again = service.publish(
            session, clock=clock, data=edited, actor="test", source="edit"
        )
        assert not created_again
        assert again.version == 2
        assert [v.version for v in service.history(session, warmup["key"])] == [1, 2]
        assert incidents_service.get_or_raise(session, incident_id).playbook_version == 1


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d.update(category="weather"), "category"),
        (lambda d: d.update(impact="apocalyptic"), "impact"),
        (lambda d: d["steps"][0].update(owner_role="janitor"), "steps[0].owner_role"),
        (lambda d: d["steps"].append(dict(d["steps"][0])), "steps"),
        (lambda d: d["triggers"][0].update(kind="vibes"), "triggers[0]"),
        (lambda d: d["triggers"][0].update(hold_seconds=-5), "triggers[0].hold_seconds"),
        (lambda d: d["notify"].append({"within_minutes": 5}), "notify["),
        (
            lambda d: d["notify"].append(
                {"role": "operations", "within_minutes": 5, "min_severity": "sev9"}
            ),
            "notify[",
        ),
        (lambda d: d.update(steps=[]), "steps"),
        (lambda d: d.pop("title"), "title"),
        (lambda d: d.update(applies_to=["toaster"]), "applies_to[0]"),
    ],
)
def test_invalid_playbooks_name_the_path(warmup: dict[str, Any], mutate: Any, path: str) -> None:
    mutate(warmup)
    with pytest.raises(ValidationFailed) as caught:
        service.validate(warmup, source="t")
    paths = [p["path"] for p in caught.value.details["problems"]]
    assert any(p.startswith(path) for p in paths), paths


def test_init_again_never_undoes_a_local_edit(
    factory: sessionmaker[Session], clock: ManualClock, warmup: dict[str, Any]
) -> None:
    with session_scope(factory) as session:
        service.publish_library(session, clock=clock, actor="init")
        edited = copy.deepcopy(warmup)
        edited["summary"] = "Our fridge needs the vendor on site first."
        service.publish(session, clock=clock, data=edited, actor="ops", source="local")
        results = service.publish_library(session, clock=clock, actor="init")
        assert not any(created for _row, created in results)
        current = service.get_latest_or_raise(session, warmup["key"])
        assert current.version == 2
        assert current.document["summary"] == edited["summary"]
