"""The register, advisories and learned rates against SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from coherence.db import session_scope
from coherence.documents import load_yaml_file
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.models import LedgerEntry
from coherence.recovery import supply_service
from coherence.risk import analysis, service, views
from coherence.risk.models import RiskEntry
from coherence.risk.rates import YEAR
from coherence.risk.schemas import AdvisoryCreate, RiskSpec, RiskUpdate, SimulationRequest
from tests.conftest import ManualClock

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def entries(session: Session, kind: str) -> int:
    query = select(func.count()).select_from(LedgerEntry).where(LedgerEntry.entry_type == kind)
    return session.scalar(query) or 0


def load_examples(factory: sessionmaker[Session], clock: ManualClock) -> None:
    with session_scope(factory) as session:
        data = load_yaml_file(EXAMPLES / "risks.yaml")
        service.load_register(session, clock=clock, data=data, actor="test", source="risks.yaml")


def spec(**changes: object) -> RiskSpec:
    values: dict[str, object] = {
        "key": "chiller-fault",
        "scenario": "Chiller 1 fails",
        "assets": ["sc-chiller-1"],
        "likelihood": 3,
        "impact": 2,
        "owner": "priya-raman",
        "review_date": "2026-06-01",
    }
    values.update(changes)
    return RiskSpec.model_validate(values)


def open_real(
    factory: sessionmaker[Session], clock: ManualClock, asset: str, kind: str = "real"
) -> None:
    with session_scope(factory) as session:
        incidents_service.open_incident(
            session,
            clock=clock,
            actor="test",
            request=IncidentCreate.model_validate(
                {
                    "asset": asset,
                    "category": "cryogenic",
                    "impact": "major",
                    "urgency": "high",
                    "kind": kind,
                }
            ),
        )


@pytest.mark.usefixtures("facility")
def test_the_example_register_loads_once_and_every_change_is_ledgered(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    load_examples(factory, clock)
    with session_scope(factory) as session:
        assert len(service.list_risks(session)) == 7
        assert entries(session, "risk:added") == 7
        again = service.load_register(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "risks.yaml"),
            actor="test",
            source="risks.yaml",
        )
        assert (again.created, again.updated, len(again.unchanged)) == ([], [], 7)
        assert entries(session, "risk:added") == 7
        assert entries(session, "risk:updated") == 0
        row = service.update_risk(
            session,
            clock=clock,
            key="magnet-quench",
            changes=RiskUpdate(likelihood=3, controls=["Quench pipe to roof"]),
            actor="helen-marsh",
        )
        assert row.likelihood == 3
        assert row.updated_by == "helen-marsh"
        last = session.scalars(select(LedgerEntry).order_by(LedgerEntry.seq.desc())).first()
        assert last is not None
        assert last.entry_type == "risk:updated"
        assert '"likelihood":[2,3]' in last.payload
        service.update_risk(
            session, clock=clock, key="magnet-quench", changes=RiskUpdate(likelihood=3), actor="x"
        )
        assert entries(session, "risk:updated") == 1


@pytest.mark.usefixtures("facility")
def test_bad_references_are_refused_naming_the_field_and_change_nothing(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    bad = {
        "risks": [
            {**spec().model_dump(mode="json"), "assets": ["sc-chiller-1", "ghost"]},
            {**spec(key="b").model_dump(mode="json"), "owner": "nobody"},
            {**spec(key="c").model_dump(mode="json"), "category": "weather"},
        ]
    }
    with session_scope(factory) as session:
        with pytest.raises(ValidationFailed) as refused:
            service.load_register(session, clock=clock, data=bad, actor="t", source="bad.yaml")
        paths = [p["path"] for p in refused.value.details["problems"]]
        assert paths == ["risks[0].assets[1]", "risks[1].owner", "risks[2].category"]
        with pytest.raises(ValidationFailed) as one:
            service.add_risk(session, clock=clock, spec=spec(owner="nobody"), actor="t")
        assert one.value.field == "owner"
        with pytest.raises(ValidationFailed, match="likelihood"):
            service.load_register(
                session,
                clock=clock,
                data={"risks": [{**spec().model_dump(mode="json"), "likelihood": 6}]},
                actor="t",
                source="bad.yaml",
            )
        assert session.scalar(select(func.count()).select_from(RiskEntry)) == 0
        assert entries(session, "risk:added") == 0
        service.add_risk(session, clock=clock, spec=spec(), actor="t")
        with pytest.raises(Conflict):
            service.add_risk(session, clock=clock, spec=spec(), actor="t")
        with pytest.raises(NotFound):
            service.update_risk(
                session, clock=clock, key="ghost", changes=RiskUpdate(impact=2), actor="t"
            )


@pytest.mark.usefixtures("facility")
def test_an_advisory_raises_likelihood_with_its_reason_until_withdrawn(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    load_examples(factory, clock)
    with session_scope(factory) as session:
        request = AdvisoryCreate(
            key="cve-2026-0001",
            reason="Fridge control software accepts unauthenticated valve commands",
            software="FridgeControl 4.2",
            factor=3.0,
            assets=["fridge-1"],
            expires_at=clock.now() + timedelta(days=30),
        )
        service.record_advisory(session, clock=clock, request=request, actor="amara-osei")
        with pytest.raises(Conflict):
            service.record_advisory(session, clock=clock, request=request, actor="amara-osei")
        row = service.get_risk_or_raise(session, "fridge-1-warm-up")
        shown = views.risk_reads(session, [row], now=clock.now())[0]
        assert (shown.likelihood, shown.effective_likelihood) == (4, 5)
        assert shown.raised_by == [
            "cve-2026-0001 (advisory, x3): Fridge control software accepts unauthenticated "
            "valve commands"
        ]
        report, _ = analysis.simulate(
            session, now=clock.now(), request=SimulationRequest(trials=1000)
        )
        assert report.inputs["fridge-1"].advisories
        service.withdraw_advisory(session, clock=clock, key="cve-2026-0001", actor="amara-osei")
        with pytest.raises(Conflict):
            service.withdraw_advisory(session, clock=clock, key="cve-2026-0001", actor="x")
        shown = views.risk_reads(session, [row], now=clock.now())[0]
        assert shown.effective_likelihood == 4
        assert shown.raised_by == []
        assert entries(session, "advisory:recorded") == 1
        assert entries(session, "advisory:withdrawn") == 1
        stale = request.model_copy(update={"key": "x", "expires_at": clock.now()})
        with pytest.raises(ValidationFailed) as refused:
            service.record_advisory(session, clock=clock, request=stale, actor="t")
        assert refused.value.field == "expires_at"
        ghost = request.model_copy(update={"key": "y", "assets": ["ghost"]})
        with pytest.raises(ValidationFailed) as unknown:
            service.record_advisory(session, clock=clock, request=ghost, actor="t")
        assert unknown.value.field == "assets[0]"


@pytest.mark.usefixtures("facility")
def test_rates_learn_from_real_incidents_only(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    clock.advance(YEAR / 2)
    for _ in range(3):
        open_real(factory, clock, "compressor-1")
    open_real(factory, clock, "compressor-2", kind="exercise")
    open_real(factory, clock, "compressor-2", kind="test")
    clock.advance(YEAR / 2)
    with session_scope(factory) as session:
        span, estimates = analysis.learned_rates(session, now=clock.now())
        assert span.end - span.start == YEAR
        found = {(e.kind, e.category): e for e in estimates}
        compressor = found[("pulse_tube_compressor", "cryogenic")]
        # Prior Gamma(1, 2); 2 compressors x 1 year; 3 real incidents: Gamma(4, 4).
        assert (compressor.events, compressor.exposure) == (3, pytest.approx(2.0))
        assert (compressor.shape, compressor.rate) == (4.0, pytest.approx(4.0))
        assert compressor.mean == pytest.approx(1.0)
        # Gamma(4, 4) is chi-square with 8 dof over 8: table points 2.732637 and 15.507313.
        assert compressor.low == pytest.approx(2.732637 / 8, rel=1e-5)
        assert compressor.high == pytest.approx(15.507313 / 8, rel=1e-5)
        trend = analysis.rate_trend(session, now=clock.now(), points=3)
        means = [
            next(
                e.mean
                for e in items
                if e.kind == "pulse_tube_compressor" and e.category == "cryogenic"
            )
            for _at, items in trend
        ]
        assert means == pytest.approx([0.5, 4 / 3, 1.0])
        since = analysis.learned_rates(session, now=clock.now(), since=clock.now() - YEAR / 4)
        assert since[0].start == clock.now() - YEAR / 4
        with pytest.raises(ValidationFailed) as refused:
            analysis.learned_rates(session, now=clock.now(), since=clock.now())
        assert refused.value.field == "since"


@pytest.mark.usefixtures("facility")
def test_simulation_reports_services_and_what_ifs_against_the_baseline(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    with session_scope(factory) as session:
        supply_service.load_supply(
            session,
            clock=clock,
            data=load_yaml_file(EXAMPLES / "supply.yaml"),
            actor="test",
            source="supply.yaml",
        )
        request = SimulationRequest(
            trials=20_000, add_redundant=["compressor-1"], spares={"fridge-1": "pulse-tube-head"}
        )
        report, baseline = analysis.simulate(session, now=clock.now(), request=request)
        assert baseline is not None
        services = {s.key for s in report.services}
        assert {"qpu-1", "fridge-1", "laser-729", "qkd-link-metro"} <= services
        before = {s.key: s for s in baseline.services}
        after = {s.key: s for s in report.services}
        assert after["fridge-1"].downtime_hours < before["fridge-1"].downtime_hours
        assert after["qpu-2"].availability == before["qpu-2"].availability
        assert report.inputs["fridge-1"].repair_hours == 36.0
        assert baseline.inputs["fridge-1"].repair_hours == 120.0 + 36.0
        assert baseline.inputs["compressor-1"].repair_detail.startswith("spare ")
        assert before["qpu-1"].contributors[0][0] == "fridge-1"
        for option, body in (
            ("add_redundant", {"add_redundant": ["ghost"]}),
            ("spare", {"spares": {"ghost": ""}}),
            ("services", {"services": ["ghost"]}),
        ):
            with pytest.raises(ValidationFailed) as refused:
                analysis.simulate(
                    session, now=clock.now(), request=SimulationRequest.model_validate(body)
                )
            assert refused.value.field == option


def test_review_dates_in_the_example_are_dates() -> None:
    data = load_yaml_file(EXAMPLES / "risks.yaml")
    assert all(isinstance(r["review_date"], date) for r in data["risks"])
