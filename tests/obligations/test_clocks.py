"""Clocks start when a trigger is met, warn, miss and escalate on a simulated clock, and stop
when the report is submitted; each step is one transaction with its ledger entry."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.models import Organisation
from coherence.clock import ManualClock
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.domain import canonical_json
from coherence.ledger.models import LedgerEntry
from coherence.obligations import config, repository, views
from coherence.obligations import report_service as reports
from coherence.obligations import service as obligations_service
from coherence.obligations.models import ObligationClock
from coherence.timers.models import Timer
from coherence.workers import fire_due_timers
from tests.conftest import START

OBLIGATIONS = config.load_obligations()
WARM_UP = IncidentCreate(asset="fridge-1", playbook="dilution-refrigerator-warm-up")
QKD = IncidentCreate(asset="qkd-link-metro", category="qkd_network", impact="major", urgency="high")
Assess = Callable[..., obligations_service.Evaluation]


@pytest.fixture
def incident(factory: sessionmaker[Session], clock: ManualClock, facility: None) -> int:
    """A dilution-refrigerator warm-up at Northbridge (NL, research, an important entity)."""
    with session_scope(factory) as session:
        return incidents_service.open_incident(
            session, clock=clock, request=WARM_UP, actor="amara-osei"
        ).id


@pytest.fixture
def assess(factory: sessionmaker[Session], clock: ManualClock) -> Assess:
    def record(ref: int, actor: str = "oskar-nilsen", **changes: Any) -> Any:
        with session_scope(factory) as session:
            return obligations_service.assess(
                session,
                clock=clock,
                obligations=OBLIGATIONS,
                ref=ref,
                changes=changes,
                actor=actor,
            )

    return record


def clocks(factory: sessionmaker[Session], incident_id: int) -> dict[str, ObligationClock]:
    with session_scope(factory) as session:
        found = obligations_service.clocks_for(session, incident_id)
        session.expunge_all()
        return {f"{c.obligation}.{c.report}": c for c in found}


def entries(factory: sessionmaker[Session], entry_type: str) -> list[dict[str, Any]]:
    with session_scope(factory) as session:
        rows = session.scalars(
            select(LedgerEntry)
            .where(LedgerEntry.entry_type == entry_type)
            .order_by(LedgerEntry.seq)
        )
        return [json.loads(row.payload) for row in rows]


def paged(factory: sessionmaker[Session], reason: str) -> list[str]:
    with session_scope(factory) as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.reason == reason))
        return [m.subject for m in rows]


def pending_obligation_timers(factory: sessionmaker[Session]) -> list[tuple[str, Any]]:
    with session_scope(factory) as session:
        rows = session.scalars(
            select(Timer)
            .where(Timer.status == "pending", Timer.kind.like("obligation.%"))
            .order_by(Timer.due_at)
        )
        return [(t.kind, t.due_at) for t in rows]


def test_no_obligation_applies_until_the_answers_meet_a_trigger(
    factory: sessionmaker[Session], incident: int, assess: Assess
) -> None:
    result = assess(incident, significant=False, personal_data=False)
    assert not result.started
    assert clocks(factory, incident) == {}
    verdicts = {spec.key: verdict for spec, verdict in result.verdicts}
    assert verdicts["eu-nis2"].reason == "significant: no"
    assert verdicts["us-circia"].reason == "switched off in the obligations file"
    assert entries(factory, "obligation:assessed")[0]["changed"] == [
        "personal_data",
        "significant",
    ]


def test_a_significant_incident_starts_nis2_and_personal_data_starts_gdpr(
    factory: sessionmaker[Session], incident: int, assess: Assess
) -> None:
    result = assess(incident, significant=True)
    assert sorted(result.started) == [
        "eu-nis2.early-warning",
        "eu-nis2.final-report",
        "eu-nis2.notification",
    ]
    found = clocks(factory, incident)
    assert found["eu-nis2.early-warning"].due_at == START + timedelta(hours=24)
    assert found["eu-nis2.notification"].due_at == START + timedelta(hours=72)
    assert found["eu-nis2.final-report"].provisional
    (triggered,) = entries(factory, "obligation:triggered")
    assert triggered["obligation"] == "eu-nis2"
    assert "important entity" in triggered["reason"]
    # The commander and liaison on call were told, with the deadlines.
    assert set(triggered["told"]) == {"jonas-veldhuis", "marcus-lindqvist"}
    assert any("Early warning due 2026-01-06 10:00 UTC" in s for s in paged(factory, "obligation"))
    assert "gdpr-art33.notification" not in found
    assess(incident, personal_data=True)
    assert clocks(factory, incident)["gdpr-art33.notification"].state == "running"


def test_clocks_warn_then_miss_and_escalate_across_the_deadline(
    factory: sessionmaker[Session], clock: ManualClock, incident: int, assess: Assess
) -> None:
    assess(incident, significant=True)
    clock.advance(timedelta(hours=11, minutes=59))
    fire_due_timers(factory, clock=clock)
    assert entries(factory, "obligation:warned") == []

    clock.advance(timedelta(minutes=1))  # 12 h: half the early warning's window
    fire_due_timers(factory, clock=clock)
    (warned,) = entries(factory, "obligation:warned")
    assert (warned["report"], warned["fraction"]) == ("early-warning", 0.5)
    assert set(warned["told"]) == {"jonas-veldhuis", "marcus-lindqvist"}
    assert clocks(factory, incident)["eu-nis2.early-warning"].state == "warned"
    assert any("(in 12h00m)" in s for s in paged(factory, "obligation-warning"))

    clock.advance(timedelta(hours=9, minutes=36))  # 21.6 h: nine tenths
    fire_due_timers(factory, clock=clock)
    assert [w["fraction"] for w in entries(factory, "obligation:warned")] == [0.5, 0.9]

    clock.advance(timedelta(hours=2, minutes=24))  # 24 h: the deadline passes unmet
    fire_due_timers(factory, clock=clock)
    (missed,) = entries(factory, "obligation:missed")
    assert missed["report"] == "early-warning"
    # Commander and liaison, and the safety policy's last level (the facility manager).
    assert {"jonas-veldhuis", "marcus-lindqvist", "amara-osei"} <= set(missed["told"])
    late = paged(factory, "obligation-missed")
    assert late
    assert all("MISSED: EU NIS2 significant incident: Early warning" in s for s in late)
    found = clocks(factory, incident)
    assert found["eu-nis2.early-warning"].state == "missed"
    assert found["eu-nis2.notification"].state == "running"

    # Firing again changes nothing: each timer fires once.
    fire_due_timers(factory, clock=clock)
    assert len(entries(factory, "obligation:missed")) == 1


def submit(
    factory: sessionmaker[Session], clock: ManualClock, ref: int, key: str, **fields: str
) -> str:
    """Draft (as the scribe), complete, review (as the commander) and submit a report."""
    with session_scope(factory) as session:
        found, report = reports.draft(
            session,
            clock=clock,
            obligations=OBLIGATIONS,
            ref=ref,
            key=key,
            refresh=False,
            actor="oskar-nilsen",
        )
        empty = {
            name: "stated in the incident record"
            for name in report.values
            if not report.values[name]
        }
        reports.edit(
            session,
            clock=clock,
            ref=ref,
            key=key,
            changes=empty | fields,
            actor="oskar-nilsen",
        )
        reports.review(session, clock=clock, ref=ref, key=key, actor="jonas-veldhuis")
        found, report = reports.submit(
            session,
            clock=clock,
            obligations=OBLIGATIONS,
            ref=ref,
            key=key,
            content=None,
            receipt="CSIRT-1",
            actor="jonas-veldhuis",
        )
        assert report.submitted_sha256 is not None
        document = views.report_read(found, report).document
        assert report.submitted_content == canonical_json(document).decode()
        return report.submitted_sha256


def test_submitting_stops_the_clock_and_keeps_the_hash_of_what_was_sent(
    factory: sessionmaker[Session], clock: ManualClock, incident: int, assess: Assess
) -> None:
    assess(incident, significant=True, impact_summary="Fridge 1 warmed to 4 K; jobs lost")
    clock.advance(timedelta(hours=3))
    digest = submit(factory, clock, incident, "eu-nis2.early-warning", suspected_malicious="no")
    (submitted,) = entries(factory, "report:submitted")
    assert submitted["sha256"] == digest
    assert (submitted["format"], submitted["late"], submitted["receipt"]) == (
        "json",
        False,
        "CSIRT-1",
    )
    with session_scope(factory) as session:
        found = reports.clock_or_raise(
            session, incidents_service.get_or_raise(session, incident), "eu-nis2.early-warning"
        )
        sent = repository.report_for(session, found.id)
        assert sent is not None
        assert sent.submitted_content is not None
        assert hashlib.sha256(sent.submitted_content.encode()).hexdigest() == digest
        assert found.state == "submitted"
    # No timer of that clock is left, and passing the deadline misses nothing.
    clock.advance(timedelta(hours=30))
    fire_due_timers(factory, clock=clock)
    assert [m["report"] for m in entries(factory, "obligation:missed")] == []
    assert clocks(factory, incident)["eu-nis2.early-warning"].state == "submitted"


def test_sending_the_notification_fixes_the_final_report_one_month_later(
    factory: sessionmaker[Session], clock: ManualClock, incident: int, assess: Assess
) -> None:
    assess(incident, significant=True)
    before = clocks(factory, incident)["eu-nis2.final-report"]
    assert before.provisional
    assert before.due_at == START.replace(day=8) + timedelta(days=31)  # 8 Jan + 1 month
    clock.advance(timedelta(hours=50))
    submit(factory, clock, incident, "eu-nis2.early-warning")
    submit(factory, clock, incident, "eu-nis2.notification")
    after = clocks(factory, incident)["eu-nis2.final-report"]
    sent_at = START + timedelta(hours=50)
    assert not after.provisional
    assert after.due_at == sent_at.replace(month=2)
    moved = [e for e in entries(factory, "obligation:rescheduled") if e["report"] == "final-report"]
    assert moved[-1]["provisional"] is False
    # The final report's draft lists what was sent before, with hashes.
    with session_scope(factory) as session:
        _found, report = reports.draft(
            session,
            clock=clock,
            obligations=OBLIGATIONS,
            ref=incident,
            key="eu-nis2.final-report",
            refresh=False,
            actor="oskar-nilsen",
        )
        assert (
            "Incident notification submitted 2026-01-07 12:00 UTC"
            in report.values["earlier_reports"]
        )


def test_an_obligation_that_stops_applying_is_withdrawn_and_its_timers_cancelled(
    factory: sessionmaker[Session], clock: ManualClock, incident: int, assess: Assess
) -> None:
    assess(incident, significant=True)
    assert pending_obligation_timers(factory)
    result = assess(incident, significant=False)
    assert sorted(result.withdrawn) == [
        "eu-nis2.early-warning",
        "eu-nis2.final-report",
        "eu-nis2.notification",
    ]
    assert {c.state for c in clocks(factory, incident).values()} == {"withdrawn"}
    assert pending_obligation_timers(factory) == []
    (withdrawn,) = entries(factory, "obligation:withdrawn")
    assert withdrawn["reason"] == "significant: no"
    clock.advance(timedelta(days=3))
    fire_due_timers(factory, clock=clock)
    assert entries(factory, "obligation:missed") == []
    # Answering yes again restarts them.
    assert len(assess(incident, significant=True).started) == 3
    assert clocks(factory, incident)["eu-nis2.early-warning"].state == "running"
    fire_due_timers(factory, clock=clock)  # its deadline has passed since: missed at once
    assert clocks(factory, incident)["eu-nis2.early-warning"].state == "missed"


def test_an_earlier_awareness_moves_the_deadlines(
    factory: sessionmaker[Session], clock: ManualClock, incident: int, assess: Assess
) -> None:
    assess(incident, significant=True)
    clock.advance(timedelta(hours=1))
    result = assess(incident, aware_at=START - timedelta(hours=6))
    assert "eu-nis2.early-warning" in result.moved
    found = clocks(factory, incident)
    assert found["eu-nis2.early-warning"].due_at == START + timedelta(hours=18)
    (moved, *_rest) = entries(factory, "obligation:rescheduled")
    assert moved["from"].startswith("2026-01-06T10:00")
    assert moved["to"].startswith("2026-01-06T04:00")
    kinds = [kind for kind, _due in pending_obligation_timers(factory)]
    # Re-armed: the early warning's first warning (at 6 h after awareness) already passed.
    assert kinds.count("obligation.due") == 3


def test_dora_starts_for_a_financial_operator_with_the_4h_rule(
    factory: sessionmaker[Session], clock: ManualClock, facility: None, assess: Assess
) -> None:
    with session_scope(factory) as session:
        operator = session.scalars(
            select(Organisation).where(Organisation.key == "harbourline-qkd")
        ).one()
        operator.sectors = ["digital_infrastructure", "payment_services"]
        ref = incidents_service.open_incident(
            session, clock=clock, request=QKD, actor="amara-osei"
        ).id
    clock.advance(timedelta(hours=21))
    result = assess(ref, actor="fatima-idrissi", major_ict=True)
    assert "eu-dora.initial-notification" in result.started
    initial = clocks(factory, ref)["eu-dora.initial-notification"]
    # Classified 21 h after awareness: 4 h later would pass the 24 h limit.
    assert initial.due_at == START + timedelta(hours=24)
    assert "the sooner of" in initial.basis
    # Harbourline is essential in digital infrastructure: CER applies when significant.
    assert "eu-cer.initial-notification" in assess(ref, significant=True).started
