"""Recovery against the database: plans, parts, gates, rollback, pause; SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.detection.service import SignalEvent, apply_event
from coherence.documents import load_yaml_file
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.models import LedgerEntry
from coherence.partners import service as partners_service
from coherence.recovery import pausing, service, supply_service, verification, views
from coherence.recovery.models import RecoveryPlan
from tests.conftest import ManualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


@pytest.fixture
def supplied(factory: sessionmaker[Session], clock: ManualClock, facility: None) -> None:
    with session_scope(factory) as session:
        partners_service.load_agreements(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "agreements.yaml"),
            actor="test",
            source="agreements.yaml",
        )
        supply_service.load_supply(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "supply.yaml"),
            actor="test",
            source="supply.yaml",
        )


def open_incident(
    factory: sessionmaker[Session], clock: ManualClock, asset: str, playbook: str
) -> int:
    with session_scope(factory) as session:
        row = incidents_service.open_incident(
            session,
            clock=clock,
            actor="test",
            request=IncidentCreate(asset=asset, playbook=playbook, impact="major", urgency="high"),
        )
        return row.id


def entry_types(session: Session) -> list[str]:
    return list(session.scalars(select(LedgerEntry.entry_type).order_by(LedgerEntry.seq)))


def test_cooling_water_loss_plan_is_stored_in_waves(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "sc-chiller-1", "pulse-tube-compressor-fault")
    with session_scope(factory) as session:
        plan = service.make_plan(
            session, clock=clock, ref=ref, actor="amara-osei", also=["sc-chiller-2"]
        )
        steps = {s.asset: s for s in plan.steps}
        assert [s.asset for s in plan.steps][:2] == ["sc-chiller-1", "sc-chiller-2"]
        assert steps["fridge-1"].wave == steps["fridge-2"].wave == 2
        assert steps["sc-chiller-1"].state == "ready"
        assert steps["fridge-1"].state == "waiting"
        assert plan.eta_hours == 47.0
        assert "recovery:planned" in entry_types(session)


@pytest.mark.parametrize("stocked", [True, False])
def test_compressor_trip_with_and_without_a_spare(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None, stocked: bool
) -> None:
    if not stocked:
        data = load_yaml_file(EXAMPLES / "supply.yaml")
        data["spares"] = [s for s in data["spares"] if s["part"] != "adsorber-cartridge"]
        with session_scope(factory) as session:
            supply_service.load_supply(
                session, clock=clock, data=data, actor="test", source="no-spare"
            )
    ref = open_incident(factory, clock, "compressor-1", "pulse-tube-compressor-fault")
    with session_scope(factory) as session:
        plan = service.make_plan(
            session,
            clock=clock,
            ref=ref,
            actor="amara-osei",
            parts={"compressor-1": "adsorber-cartridge"},
        )
        step = next(s for s in plan.steps if s.asset == "compressor-1")
        assert step.part is not None
        if stocked:
            assert step.part["source"] == "spare"
            assert step.part["hours"] == 0
            assert step.start_hours == 0
        else:
            # The offer's own 36 h beats the vendor (96 h lead time, then Tuesday's window).
            assert step.part["source"] == "mutual_aid"
            assert "coldhead-compressors under nb-coldhead-compressors" in step.part["detail"]
            assert step.part["hours"] == 36
            assert step.start_hours == 36


def test_the_vendor_window_moves_the_estimate_with_the_clock(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    # Nobody stocks or lends a compressor capsule: coldhead-compressors ships it in 240 h and
    # works on site Tuesdays and Thursdays 08:00-16:00 UTC.
    ref = open_incident(factory, clock, "compressor-1", "pulse-tube-compressor-fault")
    with session_scope(factory) as session:
        plan = service.make_plan(
            session, clock=clock, ref=ref, actor="a", parts={"compressor-1": "compressor-capsule"}
        )
        step = next(s for s in plan.steps if s.asset == "compressor-1")
        # Ordered Monday 10:00, it lands Thursday 15 January 10:00, inside a window.
        assert step.part is not None
        assert step.part["source"] == "vendor"
        assert step.part["hours"] == 240
        assert "240 h lead time, inside a maintenance window" in step.part["detail"]
    clock.advance(timedelta(hours=7))
    later = open_incident(factory, clock, "compressor-2", "pulse-tube-compressor-fault")
    with session_scope(factory) as session:
        plan = service.make_plan(
            session, clock=clock, ref=later, actor="a", parts={"compressor-2": "compressor-capsule"}
        )
        step = next(s for s in plan.steps if s.asset == "compressor-2")
        # Ordered at 17:00 it lands after Thursday's window closes: the engineer comes Tuesday.
        assert step.part is not None
        assert step.part["hours"] == 351
        assert "then the next maintenance window Tue 20 Jan 08:00 UTC" in step.part["detail"]
        assert step.start_hours == 351
        read = views.plan_read(plan)
        assert read.full_service_at is not None
        assert read.full_service_at.date() == date(2026, 1, 22)


def test_a_part_already_ordered_keeps_its_arrival_when_the_plan_is_recomputed(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "compressor-1", "pulse-tube-compressor-fault")
    capsule = {"compressor-1": "compressor-capsule"}
    with session_scope(factory) as session:
        first = views.plan_read(
            service.make_plan(session, clock=clock, ref=ref, actor="a", parts=capsule)
        )
    clock.advance(timedelta(hours=7))
    with session_scope(factory) as session:
        plan = service.make_plan(session, clock=clock, ref=ref, actor="a")
        step = next(s for s in plan.steps if s.asset == "compressor-1")
        assert step.part is not None
        assert step.part["hours"] == 233  # 240 h ordered 7 h ago: not a new 240 h wait
        assert step.part["arrives_at"].startswith("2026-01-15T10:00")
        assert "inside a maintenance window" in step.part["detail"]
        assert views.plan_read(plan).full_service_at == first.full_service_at


def test_a_supply_file_with_a_bad_window_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    windows: list[dict[str, object]] = [
        {"weekday": 7, "start_hour": 8, "hours": 8},
        {"weekday": 1, "start_hour": 24, "hours": 8},
        {"weekday": 1, "start_hour": 8, "hours": 0},
        {"weekday": 1, "start_hour": 8, "hours": 25},
        {"weekday": "tuesday", "start_hour": 8, "hours": 8},
        {"weekday": 1, "start_hour": 8},
        {"weekday": 1, "start_hour": 8, "hours": 8, "timezone": "CET"},
    ]
    for window in windows:
        data = load_yaml_file(EXAMPLES / "supply.yaml")
        data["contracts"][1]["maintenance_windows"] = [window]
        with session_scope(factory) as session, pytest.raises(ValidationFailed) as caught:
            supply_service.load_supply(session, clock=clock, data=data, actor="t", source="bad")
        paths = [p["path"] for p in caught.value.details["problems"]]
        assert all(p.startswith("contracts[1].maintenance_windows[0]") for p in paths), paths
    with session_scope(factory) as session:
        stored = {c.vendor: c.windows for c in supply_service.contracts(session)}
        assert stored["polar-cryogenics"] == [{"weekday": 2, "start_hour": 7, "hours": 10}]


@pytest.mark.parametrize("hours", [-1, "soon", 10_001, float("nan"), float("inf")])
def test_a_bad_mutual_aid_delivery_time_is_refused_and_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None, hours: object
) -> None:
    data = load_yaml_file(EXAMPLES / "agreements.yaml")
    data["agreements"][1]["mutual_aid"][0]["delivery_hours"] = hours
    data["agreements"][1]["title"] = "Changed"
    with session_scope(factory) as session, pytest.raises(ValidationFailed) as caught:
        partners_service.load_agreements(
            session, clock=clock, data=data, actor="t", source="bad.yaml"
        )
    paths = [p["path"] for p in caught.value.details["problems"]]
    assert paths == ["agreements[1].mutual_aid[0].delivery_hours"]
    with session_scope(factory) as session:
        titles = {a.key: a.title for a in partners_service.list_agreements(session)}
        assert titles["nb-coldhead-compressors"] == "Compressor warranty support"


def test_a_failing_telemetry_gate_rolls_back_and_recomputes(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "fridge-1", "dilution-refrigerator-warm-up")
    with session_scope(factory) as session:
        service.make_plan(session, clock=clock, ref=ref, actor="amara-osei")
        verification.start_step(session, clock=clock, ref=ref, asset="fridge-1", actor="amara-osei")
    clock.advance(timedelta(hours=36))
    with session_scope(factory) as session:
        supply_service.record_readings(
            session,
            clock=clock,
            samples=[supply_service.sample("fridge-1", "mxc_temperature_k", 0.8, "K", clock.now())],
        )
        step = verification.complete_step(
            session, clock=clock, ref=ref, asset="fridge-1", actor="amara-osei"
        )
        assert step.state == "ready"  # back in the new plan version, to be done again
    with session_scope(factory) as session:
        plans = session.scalars(select(RecoveryPlan).order_by(RecoveryPlan.version)).all()
        assert [p.version for p in plans] == [1, 2]
        assert plans[0].status == "superseded"
        assert plans[1].reason == "rolled back"
        old = next(s for s in plans[0].steps if s.asset == "fridge-1")
        assert old.state == "rolled_back"
        assert "mxc-cold" in (old.note or "")
        gate = next(g for g in old.gates if g["key"] == "mxc-cold")
        assert gate["status"] == "failed"
        assert "0.8" in gate["detail"]
        types = entry_types(session)
        assert types.index("recovery:gate_checked") < types.index("recovery:rolled_back")
        assert types[-1] == "recovery:planned"


def test_a_passing_gate_finishes_the_step_and_readies_the_next(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "fridge-1", "dilution-refrigerator-warm-up")
    with session_scope(factory) as session:
        service.make_plan(session, clock=clock, ref=ref, actor="amara-osei")
        verification.start_step(session, clock=clock, ref=ref, asset="fridge-1", actor="amara-osei")
        step = verification.complete_step(
            session, clock=clock, ref=ref, asset="fridge-1", actor="amara-osei"
        )
        assert step.state == "verifying"  # no reading yet: telemetry must tell
    clock.advance(timedelta(minutes=5))
    with session_scope(factory) as session:
        supply_service.record_readings(
            session,
            clock=clock,
            samples=[supply_service.sample("fridge-1", "mxc_temperature_k", 12, "mK", clock.now())],
        )
        step = verification.check_gates(session, clock=clock, ref=ref, asset="fridge-1", actor="x")
        assert step.state == "done"
        plan = service.current_plan_or_raise(session, incidents_service.get_or_raise(session, ref))
        assert next(s for s in plan.steps if s.asset == "qpu-1").state == "ready"
        with pytest.raises(ValidationFailed, match="judged from telemetry"):
            verification.record_gate(
                session,
                clock=clock,
                ref=ref,
                asset="qpu-1",
                gate="t1-recovered",
                passed=True,
                note="",
                actor="x",
            )


def test_a_new_anomaly_pauses_the_branch(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "sc-chiller-1", "pulse-tube-compressor-fault")
    with session_scope(factory) as session:
        service.make_plan(session, clock=clock, ref=ref, actor="a", also=["sc-chiller-2"])
    clock.advance(timedelta(minutes=10))
    with session_scope(factory) as session:
        apply_event(
            session,
            clock=clock,
            event=SignalEvent(
                key="compressor-2/pulse-tube-compressor-fault",
                asset="compressor-2",
                source="test",
                raised=True,
                at=clock.now(),
                impact="minor",
                urgency="high",
                detail="compressor-2: error",
                playbook="pulse-tube-compressor-fault",
            ),
        )
    with session_scope(factory) as session:
        plan = pausing.refresh(session, clock=clock, ref=ref)
        states = {s.asset: s.state for s in plan.steps}
        assert states["compressor-2"] == states["fridge-2"] == states["qpu-2"] == "paused"
        assert states["fridge-1"] == "waiting"
        assert plan.eta_hours is None
        assert "recovery:paused" in entry_types(session)


def test_an_unknown_asset_is_refused_naming_it(
    factory: sessionmaker[Session], clock: ManualClock, supplied: None
) -> None:
    ref = open_incident(factory, clock, "fridge-1", "dilution-refrigerator-warm-up")
    with session_scope(factory) as session, pytest.raises(ValidationFailed, match="ghost"):
        service.make_plan(session, clock=clock, ref=ref, actor="a", also=["ghost"])
