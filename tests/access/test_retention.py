"""Retention: the policy file, what falls due, and purging content while the ledger verifies."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker
from typer.testing import CliRunner

from coherence.access import retention, retention_service
from coherence.access.domain import DataCategory, Tlp
from coherence.access.retention import Record, RecordKind, RetentionPolicy
from coherence.cli import app as cli_app
from coherence.clock import ManualClock
from coherence.db import session_scope
from coherence.errors import Conflict, ValidationFailed
from coherence.evidence import service as evidence_service
from coherence.evidence.domain import CustodyAction
from coherence.evidence.store import LocalStore
from coherence.incidents import service as incidents_service
from coherence.incidents.domain import Status, TaskStatus
from coherence.incidents.schemas import IncidentCreate
from coherence.ledger import bundle, checkpoints, keys, note
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import SYSTEM_ACTOR, EntryType
from coherence.ledger.models import LedgerEntry

POLICY = retention.load_policy()
YEAR = timedelta(days=365)
T0 = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)


# The pure rules ------------------------------------------------------------------------------


def test_the_shipped_policy_keeps_personal_data_a_year_and_the_record_for_ever() -> None:
    assert POLICY.days[DataCategory.PERSONAL] == 365
    assert POLICY.days[DataCategory.CALIBRATION] == 1825
    for kept in (
        DataCategory.OPERATIONAL,
        DataCategory.PROPRIETARY,
        DataCategory.EXPORT_CONTROLLED,
    ):
        assert POLICY.period(kept) is None
    assert set(POLICY.days) == set(DataCategory)


OTHERS = "".join(f"  {c.value}: null\n" for c in DataCategory if c is not DataCategory.PERSONAL)


@pytest.mark.parametrize(
    ("text", "field", "words"),
    [
        ("days:\n  personal: a year\n" + OTHERS, "days.personal", "valid integer"),
        ("days:\n  personal: true\n" + OTHERS, "days.personal", "valid integer"),
        ("days:\n  personal: 0\n" + OTHERS, "days.personal", "greater than or equal to 1"),
        ("days:\n  personel: 30\n" + OTHERS, "days.personel", "Extra inputs"),
        ("days:\n  personal: 30\n", "days.calibration", "Field required"),
        ("keep: forever\n", "keep", "Extra inputs"),
        ("days: [\n", "retention.yaml", "not valid YAML"),
    ],
)
def test_a_bad_retention_file_names_the_field(
    tmp_path: Path, text: str, field: str, words: str
) -> None:
    path = tmp_path / "retention.yaml"
    path.write_text(text)
    with pytest.raises(ValidationFailed) as caught:
        retention.load_policy(path)
    assert field in caught.value.message
    assert words in caught.value.message


def test_an_override_file_replaces_the_shipped_policy(tmp_path: Path) -> None:
    path = tmp_path / "retention.yaml"
    lines = ["days:"] + [
        f"  {c.value}: {30 if c is DataCategory.PERSONAL else 'null'}" for c in DataCategory
    ]
    path.write_text("\n".join(lines) + "\n")
    policy = retention.load_policy(path)
    assert policy.period(DataCategory.PERSONAL) == timedelta(days=30)
    assert policy.period(DataCategory.CALIBRATION) is None
    assert policy.source == str(path)


@pytest.mark.parametrize(
    ("entry_type", "payload", "expected"),
    [
        ("notification:queued", {"person": "amara-osei"}, DataCategory.PERSONAL),
        ("notification:sent", {"channel": "sms"}, DataCategory.PERSONAL),
        ("access:session_started", {"person": "x"}, DataCategory.PERSONAL),
        ("incident:note_added", {"text": "t", "category": "proprietary"}, DataCategory.PROPRIETARY),
        # An incident's own category is no data category: the table decides.
        ("incident:opened", {"category": "cryogenic"}, DataCategory.OPERATIONAL),
        ("evidence:collected", {"item": 7, "category": "personal"}, DataCategory.PERSONAL),
        ("evidence:accessed", {"item": 7}, DataCategory.CALIBRATION),
        ("evidence:accessed", {"item": 99}, DataCategory.OPERATIONAL),
        ("task:completed", {"task": 1}, DataCategory.OPERATIONAL),
        # The record of a purge carries a category but is never purged.
        ("retention:purged", {"category": "personal"}, None),
    ],
)
def test_each_entry_has_a_category(
    entry_type: str, payload: dict[str, object], expected: DataCategory | None
) -> None:
    found = retention.entry_category(entry_type, payload, {7: DataCategory.CALIBRATION})
    assert found is expected


def test_every_entry_rule_gives_a_reason() -> None:
    assert all(reason.strip() for _prefix, _rule, reason in retention.ENTRY_RULES)
    assert retention.DEFAULT_ENTRY_RULE[1]


def record(**overrides: object) -> Record:
    fields: dict[str, object] = {
        "kind": RecordKind.ENTRY,
        "key": 1,
        "category": DataCategory.PERSONAL,
        "recorded_at": T0,
    }
    fields.update(overrides)
    return Record(**fields)  # type: ignore[arg-type]


def test_a_record_falls_due_only_after_its_period_and_its_incidents_closure() -> None:
    later = T0 + YEAR + timedelta(days=1)
    assert not retention.is_due(record(), POLICY, T0 + YEAR - timedelta(seconds=1))
    assert retention.is_due(record(), POLICY, T0 + YEAR)
    assert not retention.is_due(record(incident_id=3), POLICY, later)  # incident still open
    closed = T0 + timedelta(days=100)
    assert not retention.is_due(record(incident_id=3, incident_closed_at=closed), POLICY, later)
    assert retention.is_due(record(incident_id=3, incident_closed_at=closed), POLICY, closed + YEAR)
    assert not retention.is_due(record(held=True), POLICY, later)
    assert not retention.is_due(record(category=DataCategory.OPERATIONAL), POLICY, T0 + 100 * YEAR)
    assert not retention.is_due(record(category=None), POLICY, T0 + 100 * YEAR)


def test_batches_split_by_category_and_size() -> None:
    records = [record(key=n) for n in range(5)] + [
        record(kind=RecordKind.EVIDENCE, key=1, category=DataCategory.CALIBRATION)
    ]
    found = retention.batches(records, POLICY, T0 + 6 * YEAR, size=2)
    assert [(b.category, b.entries, b.evidence) for b in found] == [
        (DataCategory.PERSONAL, (0, 1), ()),
        (DataCategory.PERSONAL, (2, 3), ()),
        (DataCategory.PERSONAL, (4,), ()),
        (DataCategory.CALIBRATION, (), (1,)),
    ]
    assert found[-1].days == 1825


# Purging a real database ----------------------------------------------------------------------


@pytest.fixture
def store(tmp_path: Path) -> LocalStore:
    return LocalStore(tmp_path / "evidence")


@pytest.fixture
def signer(tmp_path: Path) -> str:
    return keys.ensure_signer(tmp_path / "ledger.key", origin="test.example/ledger")


def open_incident(factory: sessionmaker[Session], clock: ManualClock) -> int:
    request = IncidentCreate(asset="fridge-1", playbook="dilution-refrigerator-warm-up")
    with session_scope(factory) as session:
        return incidents_service.open_incident(
            session, clock=clock, request=request, actor="amara-osei"
        ).id


def close(factory: sessionmaker[Session], clock: ManualClock, incident_id: int) -> None:
    with session_scope(factory) as session:
        incidents_service.acknowledge(
            session, clock=clock, ref=incident_id, actor="priya-raman", via="api"
        )
        for target in (Status.CONTAINED, Status.RECOVERING, Status.RESOLVED):
            incidents_service.transition(
                session, clock=clock, ref=incident_id, target=target, actor="amara-osei"
            )
        for task in incidents_service.get_or_raise(session, incident_id).tasks:
            incidents_service.update_task(
                session,
                clock=clock,
                task_id=task.id,
                status=TaskStatus.DONE,
                note="",
                actor="amara-osei",
            )
        incidents_service.transition(
            session, clock=clock, ref=incident_id, target=Status.CLOSED, actor="amara-osei"
        )


def collect(
    factory: sessionmaker[Session],
    clock: ManualClock,
    store: LocalStore,
    *,
    category: DataCategory,
    incident: int | None = None,
    data: bytes = b"contact sheet: +44 7700 900123\n",
) -> int:
    with session_scope(factory) as session:
        return evidence_service.collect(
            session,
            clock=clock,
            store=store,
            content=io.BytesIO(data),
            name="on-call contact sheet",
            actor="helen-marsh",
            tlp=Tlp.AMBER,
            category=category,
            incident=f"INC-{incident:05d}" if incident else None,
            max_bytes=10_000,
        ).id


def purge_now(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> list[retention_service.Purged]:
    return retention_service.run(
        factory, clock=clock, policy=POLICY, actor=SYSTEM_ACTOR, store=store
    )


def planned(factory: sessionmaker[Session], clock: ManualClock) -> list[retention.Batch]:
    with session_scope(factory) as session:
        return retention_service.plan(session, clock=clock, policy=POLICY)


def entry(factory: sessionmaker[Session], seq: int) -> LedgerEntry:
    with session_scope(factory) as session:
        found = session.get(LedgerEntry, seq)
        assert found is not None
        session.expunge(found)
        return found


@pytest.mark.usefixtures("facility")
def test_nothing_is_purged_before_the_period_or_while_the_incident_is_open(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    incident_id = open_incident(factory, clock)
    collect(factory, clock, store, category=DataCategory.PERSONAL, incident=incident_id)
    clock.advance(2 * YEAR)
    assert planned(factory, clock) == []
    assert purge_now(factory, clock, store) == []
    close(factory, clock, incident_id)
    clock.advance(YEAR - timedelta(hours=1))
    assert planned(factory, clock) == []


@pytest.mark.usefixtures("facility")
def test_a_purge_removes_content_keeps_hashes_and_is_recorded_once(
    factory: sessionmaker[Session],
    clock: ManualClock,
    store: LocalStore,
    signer: str,
    tmp_path: Path,
) -> None:
    incident_id = open_incident(factory, clock)
    personal = collect(factory, clock, store, category=DataCategory.PERSONAL, incident=incident_id)
    sealed = collect(
        factory, clock, store, category=DataCategory.PERSONAL, data=b"witness statement\n"
    )
    shared = collect(factory, clock, store, category=DataCategory.PERSONAL, data=b"same bytes\n")
    keeper = collect(factory, clock, store, category=DataCategory.OPERATIONAL, data=b"same bytes\n")
    with session_scope(factory) as session:
        evidence_service.custody(
            session,
            clock=clock,
            item_id=sealed,
            action=CustodyAction.SEALED,
            actor="helen-marsh",
            reason="legal hold: insurer's claim",
        )
        pages = [
            e.seq
            for e in ledger_service.list_entries(
                session, entry_types=[EntryType.NOTIFICATION_QUEUED], limit=1000
            )
        ]
        item = evidence_service.get_or_raise(session, personal)
        digest, size = item.sha256, item.size
    assert pages
    close(factory, clock, incident_id)
    clock.advance(YEAR + timedelta(hours=1))

    batches = planned(factory, clock)
    assert [b.category for b in batches] == [DataCategory.PERSONAL]
    assert set(pages) <= set(batches[0].entries)
    assert set(batches[0].evidence) == {personal, shared}

    done = purge_now(factory, clock, store)
    assert [(p.category, p.policy_days) for p in done] == [(DataCategory.PERSONAL, 365)]
    assert set(done[0].evidence) == {personal, shared}
    purged_page = entry(factory, pages[0])
    assert purged_page.payload == ledger_service.PURGED_PAYLOAD
    assert purged_page.purged_at == clock.now()
    assert purged_page.leaf_hash is not None
    notice = entry(factory, done[0].seq)
    assert notice.entry_type == EntryType.RETENTION_PURGED
    payload = ledger_service.payload_of(notice)
    assert payload["category"] == "personal"
    assert payload["policy_days"] == 365
    named = bundle.Ranges(bundle.parse_ranges(payload["entries"]))
    assert all(seq in named for seq in pages)
    assert sorted(payload["evidence"]) == sorted([personal, shared])

    # The personal item's bytes are gone; shared bytes stay for the operational item.
    assert not store.exists(digest)
    with session_scope(factory) as session:
        row = evidence_service.get_or_raise(session, personal)
        assert (row.sha256, row.size, row.purged_at) == (digest, size, clock.now())
        assert store.exists(evidence_service.get_or_raise(session, keeper).sha256)
        assert evidence_service.get_or_raise(session, sealed).purged_at is None
        assert evidence_service.verify(session, store) == []
        assert [i.id for i in evidence_service.purged_items(session)] == sorted([personal, shared])
        with pytest.raises(Conflict, match="purged under retention on"):
            evidence_service.read(
                session, clock=clock, store=store, item_id=personal, actor="x", reason="look"
            )

    # Again: nothing new, no second record.
    assert purge_now(factory, clock, store) == []
    with session_scope(factory) as session:
        notices = ledger_service.list_entries(session, entry_types=[EntryType.RETENTION_PURGED])
    assert len(notices) == 1

    # The ledger still verifies offline and says what was purged.
    clock.advance(timedelta(seconds=2))
    with session_scope(factory) as session:
        checkpoints.sign_latest(session, clock=clock, signer_key=signer)
        data = ledger_service.export_bundle(session)
    verdict = bundle.verify(data, note.verifier_for(signer))
    assert verdict.ok, verdict.problem
    assert verdict.entries_purged == len(done[0].entries)
    assert all(seq in bundle.Ranges(bundle.parse_ranges(verdict.purged)) for seq in pages)
    path = tmp_path / "ledger.bundle"
    path.write_bytes(data)
    result = CliRunner().invoke(
        cli_app, ["ledger", "verify", str(path), "--key", note.verifier_for(signer)]
    )
    assert result.exit_code == 0, result.output
    assert "purged under retention" in result.output


@pytest.mark.usefixtures("facility")
def test_releasing_a_hold_lets_the_period_apply_again(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    item_id = collect(factory, clock, store, category=DataCategory.PERSONAL)
    with session_scope(factory) as session:
        evidence_service.custody(
            session,
            clock=clock,
            item_id=item_id,
            action=CustodyAction.SEALED,
            actor="helen-marsh",
            reason="hold",
        )
    clock.advance(2 * YEAR)
    assert purge_now(factory, clock, store) == []
    with session_scope(factory) as session:
        assert all(e.purged_at is None for e in evidence_service.custody_trail(session, item_id))
        evidence_service.custody(
            session,
            clock=clock,
            item_id=item_id,
            action=CustodyAction.RELEASED,
            actor="helen-marsh",
            reason="claim settled",
        )
    clock.advance(YEAR)
    done = purge_now(factory, clock, store)
    assert [p.evidence for p in done] == [[item_id]]
    with session_scope(factory) as session:
        trail = evidence_service.custody_trail(session, item_id)
        assert all(e.purged_at is not None for e in trail)


@pytest.mark.usefixtures("facility")
def test_the_worker_job_runs_at_most_once_an_hour(
    factory: sessionmaker[Session], clock: ManualClock, store: LocalStore
) -> None:
    job = retention_service.RetentionJob(POLICY, store)
    assert job.run_if_due(factory, clock=clock) == []
    clock.advance(timedelta(minutes=59))
    assert job.run_if_due(factory, clock=clock) is None
    clock.advance(timedelta(minutes=1))
    assert job.run_if_due(factory, clock=clock) == []


def test_a_policy_that_keeps_everything_looks_at_nothing() -> None:
    policy = RetentionPolicy(dict.fromkeys(DataCategory))
    assert retention.earliest_recorded(policy, T0) is None


@pytest.mark.usefixtures("facility")
def test_the_commands_plan_then_purge_only_with_yes(
    engine: Engine,
    factory: sessionmaker[Session],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The commands read the real clock: make records that are already a year and a day old.
    old = ManualClock(datetime.now(UTC) - YEAR - timedelta(days=1))
    store = LocalStore(tmp_path / "data" / "evidence")
    item_id = collect(factory, old, store, category=DataCategory.PERSONAL)
    url = engine.url.render_as_string(hide_password=False)
    if engine.url.get_backend_name() == "postgresql":
        with engine.connect() as connection:
            schema = connection.exec_driver_sql("show search_path").scalar()
        url += f"?options=-csearch_path%3D{schema}"
    monkeypatch.setenv("COHERENCE_DATABASE_URL", url)
    monkeypatch.setenv("COHERENCE_DATA_DIR", str(tmp_path / "data"))
    runner = CliRunner()

    shown = runner.invoke(cli_app, ["retention", "plan", "--json"])
    assert shown.exit_code == 0, shown.output
    due = {row["category"]: row for row in orjson.loads(shown.output)["due"]}
    assert due["personal"]["evidence"] == [item_id]
    assert due["operational"]["days"] is None

    refused = runner.invoke(cli_app, ["retention", "run"])
    assert refused.exit_code == 1
    assert "--yes" in refused.output
    with session_scope(factory) as session:
        assert evidence_service.get_or_raise(session, item_id).purged_at is None

    purged = runner.invoke(cli_app, ["retention", "run", "--yes", "--as", "helen-marsh"])
    assert purged.exit_code == 0, purged.output
    assert "personal (365 days): 1 ledger entries, 1 evidence items purged" in purged.output
    again = runner.invoke(cli_app, ["retention", "run", "--yes"])
    assert "nothing is due" in again.output
    checked = runner.invoke(cli_app, ["evidence", "verify"])
    assert checked.exit_code == 0, checked.output
    assert f"evidence #{item_id}: purged under retention on" in checked.output
