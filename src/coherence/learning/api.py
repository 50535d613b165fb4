"""Learning HTTP API: near misses and their review, the lessons library, readiness summaries."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from coherence.access.api import (
    Caller,
    ListsIncidents,
    ManagesFacility,
    OpensIncident,
    ReadsFacility,
)
from coherence.access.domain import DataCategory, Tlp
from coherence.access.policy import Action
from coherence.access.redaction import Redactions
from coherence.errors import PermissionDenied
from coherence.http import ERROR_RESPONSES
from coherence.incidents import service as incidents_service
from coherence.learning import lessons, sharing, summary, views
from coherence.learning import service as near_misses
from coherence.learning.domain import NearMissStatus, readable_by
from coherence.learning.models import Lesson
from coherence.learning.schemas import (
    LessonCreate,
    LessonRead,
    LessonsImported,
    NearMissClose,
    NearMissCreate,
    NearMissRead,
    SummaryRead,
)
from coherence.ledger import keys
from coherence.reviews import views as review_views
from coherence.reviews.api import NUMBER
from coherence.reviews.schemas import (
    ChangeCreate,
    ChangeRead,
    Decision,
    FindingCreate,
    FindingRead,
    FindingUpdate,
)

router = APIRouter(prefix="/api/v1", tags=["learning"], responses=ERROR_RESPONSES)
LIMIT = Query(200, ge=1, le=1000, description="At most this many, newest first.")
FINDING = "/near-misses/{near_miss}/findings/{number}"
FindingNumber = Annotated[int, NUMBER]


def _filter(description: str) -> Any:
    """A fresh optional key filter (a Query object must not be shared between parameters)."""
    return Query(None, min_length=1, max_length=64, description=description)


@router.post(
    "/near-misses", response_model=NearMissRead, status_code=201, summary="Report a near miss"
)
def report(body: NearMissCreate, caller: ReadsFacility) -> NearMissRead:
    """Report something that almost became an incident; anyone in an operator organisation may.
    With ``anonymous`` the reporter is kept nowhere: not in the row, not in the ledger."""
    row = near_misses.report(
        caller.session, clock=caller.clock, request=body, actor=caller.person.key
    )
    return views.near_miss_read(caller.session, row, now=caller.clock.now())


@router.get("/near-misses", response_model=list[NearMissRead], summary="Near misses")
def list_near_misses(
    caller: ReadsFacility,
    status: NearMissStatus | None = Query(None, description="Only near misses in this state."),
    category: str | None = _filter("Only near misses of this category."),
    limit: int = LIMIT,
) -> list[NearMissRead]:
    """Near misses with their findings, newest first."""
    rows = near_misses.list_near_misses(
        caller.session, status=status, category=category, limit=limit
    )
    return [views.near_miss_read(caller.session, r, now=caller.clock.now()) for r in rows]


@router.get("/near-misses/{near_miss}", response_model=NearMissRead, summary="Show a near miss")
def show(near_miss: str, caller: ReadsFacility) -> NearMissRead:
    """One near miss with its findings and any playbook changes proposed from them."""
    row = near_misses.get_or_raise(caller.session, near_miss)
    return views.near_miss_read(caller.session, row, now=caller.clock.now())


@router.post(
    "/near-misses/{near_miss}/findings",
    response_model=FindingRead,
    status_code=201,
    summary="Record a near-miss finding",
)
def add_finding(near_miss: str, body: FindingCreate, caller: OpensIncident) -> FindingRead:
    """Record a finding with an owner and due date; the near miss moves to reviewing."""
    row = near_misses.add_finding(
        caller.session, clock=caller.clock, ref=near_miss, request=body, actor=caller.person.key
    )
    return review_views.finding_read(caller.session, row, now=caller.clock.now())


@router.patch(FINDING, response_model=FindingRead, summary="Update a near-miss finding")
def update_finding(
    near_miss: str, number: FindingNumber, body: FindingUpdate, caller: OpensIncident
) -> FindingRead:
    """Change title, text, owner, due date or status (wont_do needs a reason)."""
    row = near_misses.update_finding(
        caller.session,
        clock=caller.clock,
        ref=near_miss,
        number=number,
        request=body,
        actor=caller.person.key,
    )
    return review_views.finding_read(caller.session, row, now=caller.clock.now())


@router.post(
    FINDING + "/change",
    response_model=ChangeRead,
    status_code=201,
    summary="Propose a change from a near miss",
)
def propose_change(
    near_miss: str, number: FindingNumber, body: ChangeCreate, caller: OpensIncident
) -> ChangeRead:
    """Propose a whole new playbook version for the finding, as for an incident's finding."""
    change = near_misses.propose_change(
        caller.session,
        clock=caller.clock,
        ref=near_miss,
        number=number,
        rationale=body.rationale,
        document=body.document,
        actor=caller.person.key,
    )
    return review_views.change_read(caller.session, change)


@router.post(
    FINDING + "/change/submit", response_model=ChangeRead, summary="Submit a near-miss change"
)
def submit_change(near_miss: str, number: FindingNumber, caller: OpensIncident) -> ChangeRead:
    """Send the finding's draft change for review."""
    change = near_misses.submit_change(
        caller.session, clock=caller.clock, ref=near_miss, number=number, actor=caller.person.key
    )
    return review_views.change_read(caller.session, change)


@router.post(
    FINDING + "/change/approve", response_model=ChangeRead, summary="Approve a near-miss change"
)
def approve_change(
    near_miss: str, number: FindingNumber, caller: ManagesFacility, body: Decision | None = None
) -> ChangeRead:
    """Approve and publish as the playbook's next version; not by the proposer (403)."""
    change = near_misses.approve_change(
        caller.session,
        clock=caller.clock,
        ref=near_miss,
        number=number,
        note=body.note if body else "",
        actor=caller.person.key,
    )
    return review_views.change_read(caller.session, change)


@router.post(
    FINDING + "/change/reject", response_model=ChangeRead, summary="Reject a near-miss change"
)
def reject_change(
    near_miss: str, number: FindingNumber, body: Decision, caller: ManagesFacility
) -> ChangeRead:
    """Reject the change in review, with a note saying why."""
    change = near_misses.reject_change(
        caller.session,
        clock=caller.clock,
        ref=near_miss,
        number=number,
        note=body.note,
        actor=caller.person.key,
    )
    return review_views.change_read(caller.session, change)


def _move(caller: Caller, near_miss: str, target: NearMissStatus, note: str) -> NearMissRead:
    row = near_misses.move(
        caller.session,
        clock=caller.clock,
        ref=near_miss,
        target=target,
        note=note,
        actor=caller.person.key,
    )
    return views.near_miss_read(caller.session, row, now=caller.clock.now())


@router.post(
    "/near-misses/{near_miss}/close", response_model=NearMissRead, summary="Close a near miss"
)
def close(near_miss: str, body: NearMissClose, caller: OpensIncident) -> NearMissRead:
    """Close the near miss's review, saying what came of it."""
    return _move(caller, near_miss, NearMissStatus.CLOSED, body.note)


@router.post(
    "/near-misses/{near_miss}/reopen", response_model=NearMissRead, summary="Reopen a near miss"
)
def reopen(near_miss: str, body: NearMissClose, caller: OpensIncident) -> NearMissRead:
    """Reopen a closed near miss's review, saying why."""
    return _move(caller, near_miss, NearMissStatus.REVIEWING, body.note)


def lesson_reads(caller: Caller, rows: list[Lesson]) -> list[LessonRead]:
    """Lessons the caller may read, redacted for them; any redaction is ledgered."""
    entitled: frozenset[DataCategory] = caller.decision.entitled
    organisation = caller.person.organisation.key
    shown = [
        views.lesson_read(r, entitled)
        for r in rows
        if readable_by(Tlp(r.tlp), r.origin_organisation, organisation)
    ]
    found = Redactions([], set())
    for read in shown:
        for name in read.withheld:
            found.add(f"{read.reference}.{name}", DataCategory(read.data_category))
    if found:
        caller.record_redaction("lessons", found)
    return shown


@router.get("/lessons", response_model=list[LessonRead], summary="Search the lessons library")
def search_lessons(
    caller: ReadsFacility,
    asset_kind: str | None = _filter("Only lessons about this kind of asset."),
    category: str | None = _filter("Only lessons of this incident category."),
    playbook: str | None = _filter("Only lessons about this playbook."),
    q: str | None = Query(
        None, min_length=1, max_length=200, description="Words in the title or text."
    ),
    limit: int = LIMIT,
) -> list[LessonRead]:
    """Lessons from reviews, near misses and partners matching every filter given; text of a
    data category you may not read is redacted."""
    rows = lessons.search(
        caller.session,
        asset_kind=asset_kind,
        category=category,
        playbook=playbook,
        text=q,
        limit=limit,
    )
    return lesson_reads(caller, list(rows))


@router.post("/lessons", response_model=LessonRead, status_code=201, summary="Publish a lesson")
def publish_lesson(body: LessonCreate, caller: OpensIncident) -> LessonRead:
    """Publish a finding as a lesson: names, keys, e-mail addresses and phone numbers are
    replaced; an incident's finding needs read access to the incident."""
    incident_id = lessons.source_incident_id(caller.session, body.finding)
    if incident_id is not None:
        caller.require(Action.READ, incidents_service.get_or_raise(caller.session, incident_id))
    row = lessons.publish(caller.session, clock=caller.clock, request=body, actor=caller.person.key)
    return views.lesson_read(row, caller.decision.entitled)


@router.get(
    "/lessons/package", response_class=Response, summary="Your organisation's lessons package"
)
def lessons_package(request: Request, caller: ListsIncidents) -> Response:
    """The lessons your organisation's agreements share with it: labelled, redacted, signed,
    each with an inclusion proof of its publication. Ledgered as share:sent (kind lessons)."""
    signer = keys.load_signer(request.app.state.settings.resolved_ledger_key_file)
    exported = sharing.export(
        caller.session,
        clock=caller.clock,
        organisation=caller.person.organisation.key,
        signer_key=signer,
        actor=caller.person.key,
    )
    return _download(exported.data, exported.filename)


def _download(data: bytes, filename: str) -> Response:
    return Response(
        data,
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.post(
    "/lessons/import", response_model=LessonsImported, summary="Import a partner's lessons"
)
async def import_lessons(
    request: Request,
    caller: ManagesFacility,
    key: str = Query(
        ..., min_length=10, max_length=500, description="The partner log's verifier key."
    ),
) -> LessonsImported:
    """Verify a partner's signed lessons package against its verifier key and add the lessons
    not held yet, marked with their origin organisation; any problem imports nothing."""
    data = await request.body()
    return sharing.import_package(
        caller.session, clock=caller.clock, data=data, verifier_key=key, actor=caller.person.key
    )


@router.get("/lessons/{lesson}", response_model=LessonRead, summary="Show a lesson")
def show_lesson(lesson: str, caller: ReadsFacility) -> LessonRead:
    """One lesson, redacted for you; 403 for an AMBER+STRICT one of another organisation."""
    found = lesson_reads(caller, [lessons.get_or_raise(caller.session, lesson)])
    if not found:
        raise PermissionDenied(
            f"{lesson} is TLP:AMBER+STRICT and stays inside its organisation", field="lesson"
        )
    return found[0]


@router.get("/readiness-summary", response_model=SummaryRead, summary="Readiness summary")
def readiness_summary(
    caller: ReadsFacility,
    organisation: str | None = Query(
        None,
        alias="for",
        min_length=1,
        max_length=64,
        description="Show it as this partner would get it.",
    ),
) -> SummaryRead:
    """Top risks by band, role coverage and the latest exercise of each playbook; with ``for``,
    as that partner's agreements let it see it (detail held back, scope applied)."""
    return summary.build(caller.session, clock=caller.clock, organisation=organisation)


@router.get(
    "/readiness-summary/package", response_class=Response, summary="Your readiness summary package"
)
def readiness_summary_package(request: Request, caller: ListsIncidents) -> Response:
    """The summary your organisation's agreements let it see, signed by the facility's ledger
    key. Ledgered as share:sent (kind summary)."""
    signer = keys.load_signer(request.app.state.settings.resolved_ledger_key_file)
    exported = summary.export(
        caller.session,
        clock=caller.clock,
        organisation=caller.person.organisation.key,
        signer_key=signer,
        actor=caller.person.key,
    )
    return _download(exported.data, exported.filename)
