"""Training against the database: the sample curriculum, role checks, reminders, readiness."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.comms.models import OutboxMessage
from coherence.db import session_scope
from coherence.errors import CoherenceError, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.settings import QualificationPolicy
from coherence.training import loading, service, views
from coherence.training.schemas import CompletionCreate, ParticipationCreate
from coherence.workers import fire_due_timers
from tests.conftest import ManualClock
from tests.helpers import counts

ODH_ONLY: dict[str, Any] = {
    "checked_roles": ["safety_officer"],
    "reminder_days": [30, 7],
    "courses": [
        {"key": "odh", "title": "ODH", "qualifies_for": ["safety_officer"], "validity_days": 40}
    ],
}


def test_the_sample_records_give_the_qualifications_they_describe(
    factory: sessionmaker[Session], clock: ManualClock, trained: None
) -> None:
    with session_scope(factory) as session:
        jonas = views.person_training(session, person_key="jonas-veldhuis", now=clock.now())
        ravi = views.person_training(session, person_key="ravi-menon", now=clock.now())
        yuki = views.person_training(session, person_key="yuki-tanaka", now=clock.now())
    ic = {q.role: q for q in jonas.qualifications}["incident_commander"]
    assert (ic.standing, ic.expires_on, ic.checked) == ("qualified", date(2027, 6, 10), True)
    lapsed = {q.role: q for q in ravi.qualifications}["incident_commander"]
    assert lapsed.standing == "lapsed"
    assert lapsed.renew == ["ic-tabletop"]
    # A tabletop scored 64 is below its pass score of 70: the drill is still missing.
    missing = {q.role: q for q in yuki.qualifications}["incident_commander"]
    assert missing.standing == "unqualified"
    assert missing.missing == ["ic-tabletop"]
    assert [r.score for r in yuki.records if r.kind == "exercise"] == [64.0]


def test_loading_the_same_files_again_adds_nothing(
    factory: sessionmaker[Session], clock: ManualClock, trained: None
) -> None:
    from coherence.documents import load_yaml_file
    from tests.training.conftest import CURRICULUM, RECORDS

    before = counts(factory)
    with session_scope(factory) as session:
        again = loading.load_curriculum(
            session, clock=clock, data=load_yaml_file(CURRICULUM), actor="t", source="c"
        )
        records = loading.load_records(
            session, clock=clock, data=load_yaml_file(RECORDS), actor="t", source="r"
        )
    assert (again.version, again.changed) == (1, False)
    assert records.created == 0
    assert records.unchanged == 36
    assert counts(factory) == before


@pytest.mark.parametrize(
    ("change", "path"),
    [
        (
            {
                "courses": [
                    {"key": "x", "title": "X", "qualifies_for": ["pilot"], "validity_days": 5}
                ]
            },
            "courses[0].qualifies_for[0]",
        ),
        ({"checked_roles": ["scribe"]}, "checked_roles[0]"),
        (
            {
                "courses": [
                    {"key": "x", "title": "X", "qualifies_for": ["scribe"], "validity_days": 0}
                ]
            },
            "courses[0].validity_days",
        ),
        (
            {
                "courses": [
                    {
                        "key": "x",
                        "title": "X",
                        "qualifies_for": ["safety_officer"],
                        "validity_days": 5,
                        "pass_score": 50,
                    }
                ]
            },
            "courses[0]",
        ),
        (
            {
                "courses": [
                    {
                        "key": "x",
                        "title": "X",
                        "qualifies_for": ["safety_officer"],
                        "validity_days": 5,
                        "playbook": "no-such-playbook",
                    }
                ]
            },
            "courses[0].playbook",
        ),
        ({"surprise": True}, "surprise"),
    ],
)
def test_a_bad_curriculum_is_refused_naming_the_field_and_changes_nothing(
    factory: sessionmaker[Session],
    clock: ManualClock,
    facility: None,
    change: dict[str, Any],
    path: str,
) -> None:
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(ValidationFailed) as refused:
        loading.load_curriculum(
            session, clock=clock, data=ODH_ONLY | change, actor="t", source="curriculum.yaml"
        )
    assert refused.value.field == "curriculum.yaml"
    assert path in [p["path"] for p in refused.value.details["problems"]]
    assert counts(factory) == before


def _open(session: Session, clock: ManualClock) -> int:
    incident = incidents_service.open_incident(
        session,
        clock=clock,
        actor="test",
        request=IncidentCreate(asset="fridge-1", playbook="dilution-refrigerator-warm-up"),
    )
    return incident.id


def _assign(session: Session, clock: ManualClock, ref: int, person: str, **kw: Any) -> None:
    incidents_service.assign_role(
        session,
        clock=clock,
        ref=ref,
        role=IcsRole.INCIDENT_COMMANDER,
        person_key=person,
        actor="amara-osei",
        **kw,
    )


def _entries(session: Session, ref: int, kind: EntryType) -> list[dict[str, Any]]:
    found = ledger_service.list_entries(session, incident_id=ref, entry_types=[kind])
    return [ledger_service.payload_of(e) for e in found]


def test_an_unqualified_commander_is_warned_about_refused_or_overridden_by_policy(
    factory: sessionmaker[Session], clock: ManualClock, trained: None
) -> None:
    with session_scope(factory) as session:
        ref = _open(session, clock)
    with session_scope(factory) as session:
        _assign(session, clock, ref, "ravi-menon")
        warned = _entries(session, ref, EntryType.QUALIFICATION_WARNED)
    assert warned[0]["person"] == "ravi-menon"
    assert "lapsed on 2025-10-04" in warned[0]["problem"]
    before = counts(factory)
    with session_scope(factory) as session, pytest.raises(ValidationFailed) as refused:
        _assign(session, clock, ref, "yuki-tanaka", policy=QualificationPolicy.REFUSE)
    assert refused.value.field == "person"
    assert "override_reason" in refused.value.message
    assert counts(factory) == before
    with session_scope(factory) as session:
        _assign(
            session,
            clock,
            ref,
            "yuki-tanaka",
            policy=QualificationPolicy.REFUSE,
            override_reason="Only commander on site during the storm",
        )
        overridden = _entries(session, ref, EntryType.QUALIFICATION_OVERRIDDEN)
        holder = incidents_service.get_or_raise(session, ref).roles
    assert overridden[0]["reason"] == "Only commander on site during the storm"
    assert any(r.person.key == "yuki-tanaka" for r in holders_of(holder))
    with session_scope(factory) as session:
        _assign(session, clock, ref, "jonas-veldhuis", policy=QualificationPolicy.REFUSE)
        # A qualified commander needs no override and leaves no warning.
        assert len(_entries(session, ref, EntryType.QUALIFICATION_WARNED)) == 1


def holders_of(roles: Any) -> list[Any]:
    return [r for r in roles if r.role == IcsRole.INCIDENT_COMMANDER.value]


def test_unchecked_roles_and_facilities_without_a_curriculum_are_not_checked(
    factory: sessionmaker[Session], clock: ManualClock, facility: None
) -> None:
    with session_scope(factory) as session:
        ref = _open(session, clock)
        _assign(session, clock, ref, "ravi-menon", policy=QualificationPolicy.REFUSE)
        assert not _entries(session, ref, EntryType.QUALIFICATION_WARNED)


def _training_messages(factory: sessionmaker[Session]) -> list[OutboxMessage]:
    with session_scope(factory) as session:
        query = select(OutboxMessage).where(OutboxMessage.reason == "training")
        return list(session.scalars(query.order_by(OutboxMessage.id)))


def test_reminders_go_out_once_per_threshold_as_the_clock_crosses_it(
    factory: sessionmaker[Session], clock: ManualClock, facility: None
) -> None:
    with session_scope(factory) as session:
        loading.load_curriculum(session, clock=clock, data=ODH_ONLY, actor="t", source="c")
        service.record_completion(
            session,
            clock=clock,
            person_key="helen-marsh",
            request=CompletionCreate(course="odh", completed_on=clock.now().date(), assessor="x"),
            actor="t",
        )
    # Lapses on 14 February; reminders on 15 January and 7 February, 08:00 UTC.
    fire_due_timers(factory, clock=clock)
    clock.advance(timedelta(days=9, hours=21))
    fire_due_timers(factory, clock=clock)
    assert _training_messages(factory) == []
    clock.advance(timedelta(hours=2))
    fire_due_timers(factory, clock=clock)
    sent = _training_messages(factory)
    assert [m.subject for m in sent] == ["Your safety officer qualification lapses on 2026-02-14"]
    assert "in 30 day(s)" in sent[0].body
    fire_due_timers(factory, clock=clock)
    clock.advance(timedelta(days=1))
    fire_due_timers(factory, clock=clock)
    assert len(_training_messages(factory)) == 1
    clock.advance(timedelta(days=22))
    fire_due_timers(factory, clock=clock)
    assert len(_training_messages(factory)) == 2
    with session_scope(factory) as session:
        reminded = ledger_service.list_entries(
            session, entry_types=[EntryType.QUALIFICATION_REMINDED]
        )
        assert [ledger_service.payload_of(e)["days_before"] for e in reminded] == [30, 7]


def test_a_renewal_before_the_reminder_supersedes_it(
    factory: sessionmaker[Session], clock: ManualClock, facility: None
) -> None:
    with session_scope(factory) as session:
        loading.load_curriculum(session, clock=clock, data=ODH_ONLY, actor="t", source="c")
        first = CompletionCreate(course="odh", completed_on=clock.now().date(), assessor="x")
        service.record_completion(
            session, clock=clock, person_key="helen-marsh", request=first, actor="t"
        )
    clock.advance(timedelta(days=5))
    with session_scope(factory) as session:
        renewal = CompletionCreate(course="odh", completed_on=clock.now().date(), assessor="x")
        service.record_completion(
            session, clock=clock, person_key="helen-marsh", request=renewal, actor="t"
        )
    clock.advance(timedelta(days=6))
    fire_due_timers(factory, clock=clock)
    assert _training_messages(factory) == []
    clock.advance(timedelta(days=5))
    fire_due_timers(factory, clock=clock)
    assert [m.subject for m in _training_messages(factory)] == [
        "Your safety officer qualification lapses on 2026-02-19"
    ]


def test_readiness_shows_gaps_and_single_points_and_an_unqualified_person_put_on_call(
    factory: sessionmaker[Session], clock: ManualClock, trained: None
) -> None:
    with session_scope(factory) as session:
        read = views.build_readiness(session, now=clock.now(), days=2)
    by = {(r.site, r.role): r for r in read.roles}
    assert by[("sc-lab", "incident_commander")].status == "gap"
    assert by[("sc-lab", "incident_commander")].min_depth == 2
    assert by[("ion-lab", "incident_commander")].status == "gap"
    assert by[("ion-lab", "incident_commander")].min_depth == 1
    assert by[("sc-lab", "safety_officer")].status == "ready"
    assert by[("ion-lab", "safety_officer")].status == "gap"
    assert by[("harbour-dc", "safety_officer")].status == "ready"
    gaps = {(g.rotation, g.person) for g in read.on_call_gaps}
    assert ("sc-lab-ic", "ravi-menon") in gaps
    assert ("ion-lab-safety", "mateo-rossi") in gaps
    assert not any(g.person == "jonas-veldhuis" for g in read.on_call_gaps)
    # Put Ravi (lapsed) on call over Jonas's shift: the check lists that slot too.
    with session_scope(factory) as session:
        catalog_service.add_override(
            session,
            clock=clock,
            rotation_key="sc-lab-ic",
            person_key="ravi-menon",
            starts_at=clock.now(),
            ends_at=clock.now() + timedelta(hours=6),
            reason="Jonas at the dentist",
            actor="amara-osei",
        )
    with session_scope(factory) as session:
        covered = views.build_readiness(session, now=clock.now(), days=1)
    first = covered.on_call_gaps[0]
    assert (first.rotation, first.person, first.starts_at) == (
        "sc-lab-ic",
        "ravi-menon",
        clock.now(),
    )
    assert "lapsed on 2025-10-04" in first.problem


def test_records_refuse_unknown_people_courses_and_future_days(
    factory: sessionmaker[Session], clock: ManualClock, trained: None
) -> None:
    before = counts(factory)
    tomorrow = clock.now().date() + timedelta(days=1)
    attempts: list[tuple[Any, str]] = [
        (
            lambda s: service.record_completion(
                s,
                clock=clock,
                person_key="nobody",
                request=CompletionCreate(
                    course="odh-awareness", completed_on=date(2025, 1, 1), assessor="x"
                ),
                actor="t",
            ),
            "key",
        ),
        (
            lambda s: service.record_completion(
                s,
                clock=clock,
                person_key="helen-marsh",
                request=CompletionCreate(
                    course="juggling", completed_on=date(2025, 1, 1), assessor="x"
                ),
                actor="t",
            ),
            "course",
        ),
        (
            lambda s: service.record_completion(
                s,
                clock=clock,
                person_key="helen-marsh",
                request=CompletionCreate(
                    course="odh-awareness", completed_on=tomorrow, assessor="x"
                ),
                actor="t",
            ),
            "completed_on",
        ),
        (
            lambda s: service.record_participation(
                s,
                clock=clock,
                person_key="helen-marsh",
                request=ParticipationCreate(
                    exercise="EX-1", completed_on=date(2025, 1, 1), drill="odh-awareness"
                ),
                actor="t",
            ),
            "drill",
        ),
    ]
    for attempt, field in attempts:
        with session_scope(factory) as session, pytest.raises(CoherenceError) as refused:
            attempt(session)
        assert refused.value.field == field
    with session_scope(factory) as session, pytest.raises(ValidationFailed) as bad_file:
        loading.load_records(
            session,
            clock=clock,
            data={
                "completions": [
                    {
                        "person": "nobody",
                        "course": "odh-awareness",
                        "completed_on": "2025-01-01",
                        "assessor": "x",
                    }
                ]
            },
            actor="t",
            source="records.yaml",
        )
    assert bad_file.value.details["problems"][0]["path"] == "completions[0].person"
    assert counts(factory) == before
