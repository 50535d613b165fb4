"""Loading a facility: idempotent, all-or-nothing, every problem listed with its path."""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import yaml
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog import service
from coherence.catalog.domain import IcsRole
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.errors import ValidationFailed
from tests.conftest import SAMPLE_FACILITY
from tests.helpers import counts


@pytest.fixture
def sample() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(SAMPLE_FACILITY.read_text())
    return data


def load(factory: sessionmaker[Session], clock: ManualClock, data: dict[str, Any]) -> Any:
    with session_scope(factory) as session:
        return service.load_facility(session, clock=clock, data=data, actor="test", source="t")


def test_loading_twice_changes_nothing_the_second_time(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    first = load(factory, clock, sample)
    assert first.created["assets"] == len(sample["assets"])
    after_first = counts(factory)
    second = load(factory, clock, sample)
    assert sum(second.created.values()) == 0
    assert sum(second.updated.values()) == 0
    assert counts(factory) == after_first


def test_a_changed_file_updates_only_what_changed(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    load(factory, clock, sample)
    changed = copy.deepcopy(sample)
    changed["assets"][0]["name"] = "Renamed"
    changed["rotations"][0]["members"] = list(reversed(changed["rotations"][0]["members"]))
    report = load(factory, clock, changed)
    assert report.updated["assets"] == 1
    assert report.updated["rotations"] == 1
    assert sum(report.created.values()) == 0


def test_redundancy_groups_are_stored(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    load(factory, clock, sample)
    with session_scope(factory) as session:
        assets = service.list_assets(session)
        groups = [g for a in assets for g in a.dependency_groups]
    redundant = [g for g in groups if g.min_required < len(g.members)]
    assert redundant, "the sample facility has at least one 'needs 1 of 2' group"


def test_every_problem_is_listed_and_nothing_is_written(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    broken = copy.deepcopy(sample)
    broken["assets"][0]["site"] = "atlantis"
    broken["assets"][1]["kind"] = "flux_capacitor"
    broken["people"][0]["organisation"] = "nobody-inc"
    broken["rotations"][0]["members"].append("ghost")
    before = counts(factory)
    with pytest.raises(ValidationFailed) as caught:
        load(factory, clock, broken)
    paths = {p["path"] for p in caught.value.details["problems"]}
    # Schema problems are reported first; fix those and the references are checked.
    assert "assets[1].kind" in paths
    assert counts(factory) == before
    del broken["assets"][1]["kind"]
    broken["assets"][1]["kind"] = sample["assets"][1]["kind"]
    with pytest.raises(ValidationFailed) as caught:
        load(factory, clock, broken)
    paths = {p["path"] for p in caught.value.details["problems"]}
    assert {"assets[0].site", "people[0].organisation"} <= paths
    assert any(p.startswith("rotations[0].members[") for p in paths)
    assert counts(factory) == before


@pytest.mark.parametrize(
    ("mutate", "path"),
    [
        (lambda d: d["assets"].append(dict(d["assets"][0])), "assets"),
        (
            lambda d: d["assets"][0].update(depends_on=[{"assets": [d["assets"][0]["key"]]}]),
            "assets[0].depends_on[0]",
        ),
        (
            lambda d: d["assets"][0].update(depends_on=[{"assets": ["a", "b"], "needs": 3}]),
            "assets[0].depends_on[0].needs",
        ),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d["sites"][0].update(timezone="Mars/Olympus_Mons"), "sites[0].timezone"),
        (lambda d: d["sites"][0].update(timezone="x" * 500), "sites[0].timezone"),
        (lambda d: d["rotations"][0].update(role="scribe"), "rotations[0].members[0]"),
        (lambda d: d["sites"][0].update(key="Not A Key!"), "sites[0].key"),
        (
            lambda d: d["rotations"][0].update(starts_at="2026-01-05T08:00:00"),
            "rotations[0].starts_at",
        ),
    ],
)
def test_specific_problems_name_their_path(
    factory: sessionmaker[Session],
    clock: ManualClock,
    sample: dict[str, Any],
    mutate: Any,
    path: str,
) -> None:
    mutate(sample)
    with pytest.raises(ValidationFailed) as caught:
        load(factory, clock, sample)
    paths = [p["path"] for p in caught.value.details["problems"]]
    assert any(p.startswith(path) for p in paths), paths


def test_dependency_cycles_are_refused(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    first, second = sample["assets"][0], sample["assets"][1]
    first["depends_on"] = [{"assets": [second["key"]]}]
    second["depends_on"] = [{"assets": [first["key"]]}]
    with pytest.raises(ValidationFailed, match="cycle"):
        load(factory, clock, sample)


def test_on_call_follows_the_rotation(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    load(factory, clock, sample)
    with session_scope(factory) as session:
        site = service.get_site_or_raise(session, "sc-lab")
        day = service.on_call(session, site=site, role=IcsRole.OPERATIONS, at=clock.now())
        night = service.on_call(
            session, site=site, role=IcsRole.OPERATIONS, at=clock.now() + timedelta(hours=12)
        )
        assert day is not None
        assert night is not None
        assert day.key != night.key


def test_a_cycle_through_stored_assets_is_refused(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    load(factory, clock, sample)
    stored = next(a for a in sample["assets"] if a.get("depends_on"))
    needed = stored["depends_on"][0]["assets"][0]
    closing_the_loop = {
        "assets": [
            {
                **next(a for a in sample["assets"] if a["key"] == needed),
                "depends_on": [{"assets": [stored["key"]]}],
            }
        ]
    }
    before = counts(factory)
    with pytest.raises(ValidationFailed, match="cycle"):
        load(factory, clock, closing_the_loop)
    assert counts(factory) == before


def test_rotations_are_checked_against_stored_peoples_roles(
    factory: sessionmaker[Session], clock: ManualClock, sample: dict[str, Any]
) -> None:
    load(factory, clock, sample)
    rotation = {
        **sample["rotations"][0],
        "key": "extra",
        "role": "scribe",
        "members": ["amara-osei"],
    }
    with pytest.raises(ValidationFailed, match="not in their roles"):
        load(factory, clock, {"rotations": [rotation]})
