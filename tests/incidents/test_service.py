"""Opening and driving incidents through the service layer, on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog.domain import IcsRole
from coherence.clock import ManualClock
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.incidents import records as incident_records
from coherence.incidents import service, views
from coherence.incidents.domain import Kind, Status, TaskStatus
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger.domain import EntryType
from coherence.timers import service as timers_service
from coherence.timers.service import TimerKind
from coherence.workers import fire_due_timers
from tests.helpers import counts

pytestmark = pytest.mark.usefixtures("facility")
WARMUP = IncidentCreate(asset="fridge-1", playbook="dilution-refrigerator-warm-up")


def open_incident(
    factory: sessionmaker[Session], clock: ManualClock, request: IncidentCreate = WARMUP
) -> int:
    with session_scope(factory) as session:
        return service.open_incident(session, clock=clock, request=request, actor="amara-osei").id


def test_opening_classifies_staffs_and_starts_the_playbook(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        detail = views.incident_detail(service.get_or_raise(session, incident_id))
        timeline = views.timeline(session, incident_id)
        pending = timers_service.pending_for_incident(session, incident_id)
        pages = session.scalars(select(OutboxMessage)).all()

    assert detail.status == Status.DETECTED
    assert detail.category == "cryogenic"
    assert detail.severity.startswith("sev")
    assert detail.playbook == "dilution-refrigerator-warm-up"
    assert detail.playbook_version == 1
    assert detail.roles[IcsRole.INCIDENT_COMMANDER.value] == "jonas-veldhuis"
    assert detail.roles[IcsRole.OPERATIONS.value] == "priya-raman"
    playbook_tasks = [t for t in detail.tasks if t.source == "playbook"]
    assert playbook_tasks[0].due_at is not None
    assert all(t.due_at and t.due_at >= clock.now() for t in playbook_tasks)
    assert [t.due_at for t in playbook_tasks] == sorted(t.due_at for t in playbook_tasks)  # type: ignore[type-var]
    assert any(t.source == "checklist" for t in detail.tasks)
    assert timeline[0].type == EntryType.INCIDENT_OPENED
    assert timeline[0].payload["severity"] == detail.severity
    assert {t.kind for t in pending} == {TimerKind.ACK_ESCALATION.value, TimerKind.TASK_DUE.value}
    assert pages, "opening an incident pages the first escalation level"
    assert all(f"INC-{incident_id:05d}" in page.subject for page in pages)


def test_acknowledging_stops_escalation(factory: sessionmaker[Session], clock: ManualClock) -> None:
    incident_id = open_incident(factory, clock)
    clock.advance(timedelta(minutes=1))
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
    clock.advance(timedelta(hours=1))
    fire_due_timers(factory, clock=clock, limit=1000)
    with session_scope(factory) as session:
        incident = service.get_or_raise(session, incident_id)
        assert incident.escalation_level == 0
        assert views.incident_read(incident).metrics["time_to_acknowledge"] == 60.0
        types = [e.type for e in views.timeline(session, incident_id)]
    assert EntryType.INCIDENT_ESCALATED not in types


def test_an_unacknowledged_incident_escalates_level_by_level(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    before = counts(factory)["outbox"]
    clock.advance(timedelta(minutes=2, seconds=1))
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        assert service.get_or_raise(session, incident_id).escalation_level == 1
    after_first = counts(factory)["outbox"]
    assert after_first > before
    clock.advance(timedelta(minutes=5))
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        incident = service.get_or_raise(session, incident_id)
        assert incident.escalation_level == 2
        escalations = [
            e
            for e in views.timeline(session, incident_id)
            if e.type == EntryType.INCIDENT_ESCALATED
        ]
        last_pages = session.scalars(
            select(OutboxMessage).order_by(OutboxMessage.id.desc()).limit(1)
        ).all()
    assert [e.payload["to_level"] for e in escalations] == [2, 3]
    assert "ESCALATED" in last_pages[0].subject


def test_timers_survive_a_restart(
    factory: sessionmaker[Session], clock: ManualClock, engine: object
) -> None:
    incident_id = open_incident(factory, clock)
    from coherence.db import make_engine, make_session_factory

    url = engine.url  # type: ignore[attr-defined]
    restarted = make_engine(
        url.render_as_string(hide_password=False),
        **(
            {"connect_args": {"options": _options(engine)}}
            if url.get_backend_name() == "postgresql"
            else {}
        ),
    )
    try:
        clock.advance(timedelta(minutes=3))
        assert fire_due_timers(make_session_factory(restarted), clock=clock) >= 1
    finally:
        restarted.dispose()
    with session_scope(factory) as session:
        assert service.get_or_raise(session, incident_id).escalation_level == 1


def _options(engine: object) -> str:
    with engine.connect() as connection:  # type: ignore[attr-defined]
        schema = connection.exec_driver_sql("show search_path").scalar()
    return f"-csearch_path={schema}"


def test_overdue_tasks_are_marked_and_their_owner_paged(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
        first = views.incident_detail(service.get_or_raise(session, incident_id)).tasks[0]
    assert first.due_at is not None
    clock.advance(first.due_at - clock.now() + timedelta(seconds=1))
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        detail = views.incident_detail(service.get_or_raise(session, incident_id))
        overdue_pages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.reason == "overdue")
        ).all()
    assert detail.tasks[0].overdue
    assert detail.overdue_tasks >= 1
    assert overdue_pages


def test_the_full_lifecycle_with_notes_decisions_and_roles(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
        service.assign_role(
            session,
            clock=clock,
            ref=incident_id,
            role=IcsRole.INCIDENT_COMMANDER,
            person_key="amara-osei",
            actor="jonas-veldhuis",
        )
        incident_records.add_note(
            session,
            clock=clock,
            ref=incident_id,
            text="MXC at 80 mK and rising",
            actor="priya-raman",
        )
        incident_records.record_decision(
            session,
            clock=clock,
            ref=incident_id,
            decision="Warm up in a controlled way",
            rationale="Pulse tube will not restart; protect the mixture",
            decided_by=None,
            actor="amara-osei",
        )
    for target in (Status.CONTAINED, Status.RECOVERING, Status.RESOLVED):
        clock.advance(timedelta(minutes=10))
        with session_scope(factory) as session:
            service.transition(
                session, clock=clock, ref=incident_id, target=target, actor="amara-osei"
            )
    with session_scope(factory) as session, pytest.raises(ValidationFailed, match="still open"):
        service.transition(
            session, clock=clock, ref=incident_id, target=Status.CLOSED, actor="amara-osei"
        )
    with session_scope(factory) as session:
        for task in service.get_or_raise(session, incident_id).tasks:
            service.update_task(
                session,
                clock=clock,
                task_id=task.id,
                status=TaskStatus.DONE,
                note="",
                actor="amara-osei",
            )
        service.transition(
            session, clock=clock, ref=incident_id, target=Status.CLOSED, actor="amara-osei"
        )
    with session_scope(factory) as session:
        detail = views.incident_detail(service.get_or_raise(session, incident_id))
        types = [e.type for e in views.timeline(session, incident_id)]
    assert detail.status == Status.CLOSED
    assert detail.roles["incident_commander"] == "amara-osei"
    commander_tasks = [t for t in detail.tasks if t.owner_role == "incident_commander"]
    assert all(t.completed_by == "amara-osei" for t in commander_tasks)
    assert detail.metrics["time_to_contain"] == 600.0
    assert detail.metrics["time_to_recover"] == 1800.0
    for expected in (
        EntryType.ROLE_ASSIGNED,
        EntryType.INCIDENT_NOTE_ADDED,
        EntryType.DECISION_RECORDED,
        EntryType.TASK_COMPLETED,
    ):
        assert expected in types


def test_reopen_needs_a_resolved_incident_and_clears_resolution(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
        with pytest.raises(Conflict):
            service.reopen(session, clock=clock, ref=incident_id, reason="x", actor="a")
        service.transition(
            session, clock=clock, ref=incident_id, target=Status.RESOLVED, actor="amara-osei"
        )
        incident = service.reopen(
            session, clock=clock, ref=incident_id, reason="MXC warming again", actor="amara-osei"
        )
        assert incident.status == Status.ACKNOWLEDGED.value
        assert incident.resolved_at is None


def test_illegal_transition_changes_nothing(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(Conflict, match="acknowledged"):
        service.transition(
            session, clock=clock, ref=incident_id, target=Status.CLOSED, actor="amara-osei"
        )
    assert counts(factory) == before
    with session_scope(factory) as session:
        assert service.get_or_raise(session, incident_id).status == Status.DETECTED.value


@pytest.mark.parametrize(
    ("request_", "error", "field"),
    [
        (
            IncidentCreate(asset="no-such-fridge", playbook="dilution-refrigerator-warm-up"),
            NotFound,
            "asset",
        ),
        (IncidentCreate(asset="fridge-1", playbook="no-such-playbook"), NotFound, "playbook"),
        (
            IncidentCreate(asset="laser-397", playbook="dilution-refrigerator-warm-up"),
            ValidationFailed,
            "playbook",
        ),
        (IncidentCreate(asset="fridge-1"), ValidationFailed, "category"),
        (IncidentCreate(asset="fridge-1", category="cryogenic"), ValidationFailed, "impact"),
        (
            IncidentCreate(asset="fridge-1", category="weather", impact="minor", urgency="low"),
            ValidationFailed,
            "category",
        ),
        (
            IncidentCreate(
                asset="fridge-1", playbook="dilution-refrigerator-warm-up", impact="apocalyptic"
            ),
            ValidationFailed,
            "impact",
        ),
    ],
)
def test_bad_open_requests_name_the_field_and_write_nothing(
    factory: sessionmaker[Session],
    clock: ManualClock,
    request_: IncidentCreate,
    error: type[Exception],
    field: str,
) -> None:
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(error) as caught:
        service.open_incident(session, clock=clock, request=request_, actor="amara-osei")
    assert caught.value.field == field  # type: ignore[attr-defined]
    assert counts(factory) == before


def test_an_incident_without_a_playbook_gets_the_class_checklist(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    request = IncidentCreate(
        asset="qkd-link-metro",
        category="qkd_network",
        impact="major",
        urgency="high",
        title="QBER creeping up on the metro link",
    )
    incident_id = open_incident(factory, clock, request)
    with session_scope(factory) as session:
        detail = views.incident_detail(service.get_or_raise(session, incident_id))
    assert detail.playbook is None
    assert detail.tasks
    assert {t.source for t in detail.tasks} == {"checklist"}


def test_drills_stay_out_of_real_metrics(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    real = open_incident(factory, clock)
    drill = open_incident(
        factory,
        clock,
        IncidentCreate(
            asset="fridge-2", playbook="dilution-refrigerator-warm-up", kind=Kind.EXERCISE
        ),
    )
    clock.advance(timedelta(minutes=4))
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=real, actor="priya-raman", via="api")
        service.acknowledge(session, clock=clock, ref=drill, actor="priya-raman", via="api")
        summary = views.metrics_summary(session)
        drills = views.metrics_summary(session, kind=Kind.EXERCISE)
        drill_pages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.incident_id == drill)
        ).all()
    assert summary.incidents == 1
    assert drills.incidents == 1
    assert all(page.subject.startswith("EXERCISE") for page in drill_pages)


def test_opening_pages_each_person_once_with_every_reason(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        pages = session.scalars(
            select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
        ).all()
    recipients = [page.person_id for page in pages]
    assert len(recipients) == len(set(recipients))
    assert any("new incident; you are" in page.subject for page in pages)
    assert all("Acknowledge: coherence incident ack" in page.body for page in pages)


def test_vendor_notices_name_the_assets_own_vendor(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(
        factory, clock, IncidentCreate(asset="compressor-1", playbook="pulse-tube-compressor-fault")
    )
    with session_scope(factory) as session:
        tasks = views.incident_detail(service.get_or_raise(session, incident_id)).tasks
    notices = [t for t in tasks if t.source == "notification" and "vendor" in t.title]
    assert notices
    assert all("Coldhead" in t.title and "Polar" not in t.title for t in notices)
    assert all(t.owner_role == "liaison_officer" and t.due_at for t in notices)


def test_a_reopened_task_is_watched_again(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
        task = service.get_or_raise(session, incident_id).tasks[0]
        task_id, due_at = task.id, task.due_at
        service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=TaskStatus.DONE,
            note="",
            actor="priya-raman",
        )
    assert due_at is not None
    clock.advance(due_at - clock.now() + timedelta(minutes=1))
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=TaskStatus.OPEN,
            note="reading was wrong",
            actor="priya-raman",
        )
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        reopened = views.task_read(service.get_task_or_raise(session, task_id))
    assert reopened.overdue


def test_pages_carry_the_first_steps_hazards(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(
        factory, clock, IncidentCreate(asset="ion-magnet", playbook="magnet-quench")
    )
    with session_scope(factory) as session:
        page = session.scalars(
            select(OutboxMessage).where(OutboxMessage.incident_id == incident_id)
        ).first()
    assert page is not None
    assert "HAZARD:" in page.body


def test_containment_time_counts_the_first_containment(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    moves = [Status.ACKNOWLEDGED, Status.CONTAINED, Status.RECOVERING, Status.CONTAINED]
    for target in moves:
        clock.advance(timedelta(minutes=5))
        with session_scope(factory) as session:
            service.transition(session, clock=clock, ref=incident_id, target=target, actor="a")
    with session_scope(factory) as session:
        metrics = views.incident_read(service.get_or_raise(session, incident_id)).metrics
    assert metrics["time_to_contain"] == 600.0


def test_tasks_reopened_after_resolution_are_not_chased(
    factory: sessionmaker[Session], clock: ManualClock
) -> None:
    incident_id = open_incident(factory, clock)
    with session_scope(factory) as session:
        service.acknowledge(session, clock=clock, ref=incident_id, actor="priya-raman", via="api")
        task_id = service.get_or_raise(session, incident_id).tasks[0].id
        service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=TaskStatus.DONE,
            note="",
            actor="priya-raman",
        )
        service.transition(
            session, clock=clock, ref=incident_id, target=Status.RESOLVED, actor="amara-osei"
        )
        service.update_task(
            session,
            clock=clock,
            task_id=task_id,
            status=TaskStatus.OPEN,
            note="follow-up",
            actor="amara-osei",
        )
    clock.advance(timedelta(days=2))
    fire_due_timers(factory, clock=clock)
    with session_scope(factory) as session:
        assert not views.task_read(service.get_task_or_raise(session, task_id)).overdue
