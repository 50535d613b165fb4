"""Every incident query."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from coherence.catalog.models import Asset
from coherence.incidents.domain import OPEN_STATUSES
from coherence.incidents.models import Incident, RoleAssignment, Task


def get(session: Session, incident_id: int, *, for_update: bool = False) -> Incident | None:
    """Return an incident with its tasks and roles, optionally locking its row."""
    query = (
        select(Incident)
        .where(Incident.id == incident_id)
        .options(
            selectinload(Incident.tasks).selectinload(Task.assignee),
            selectinload(Incident.roles).selectinload(RoleAssignment.person),
        )
    )
    if for_update:
        query = query.with_for_update(of=Incident)
    return session.scalars(query).one_or_none()


def get_task(session: Session, task_id: int) -> Task | None:
    """Return one task."""
    return session.get(Task, task_id)


def page(
    session: Session,
    *,
    statuses: Sequence[str] = (),
    kinds: Sequence[str] = (),
    limit: int | None = 50,
    offset: int = 0,
) -> tuple[Sequence[Incident], int]:
    """Return one page of incidents (every one when ``limit`` is None), newest first, and the
    total matching."""
    query = select(Incident)
    if statuses:
        query = query.where(Incident.status.in_(statuses))
    if kinds:
        query = query.where(Incident.kind.in_(kinds))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(
        query.options(
            selectinload(Incident.tasks),
            selectinload(Incident.roles).selectinload(RoleAssignment.person),
        )
        .order_by(Incident.detected_at.desc(), Incident.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return rows, total


def of_kind(session: Session, kind: str) -> Sequence[Incident]:
    """Return every incident of one kind (real, exercise, test)."""
    return session.scalars(select(Incident).where(Incident.kind == kind)).all()


def tasks_for_person(session: Session, person_id: int, *, open_only: bool = True) -> Sequence[Task]:
    """Return tasks assigned to a person, soonest due first."""
    query = select(Task).where(Task.assignee_id == person_id)
    if open_only:
        query = query.where(Task.status == "open")
    return session.scalars(query.order_by(Task.due_at, Task.id)).all()


def open_for(
    session: Session, *, asset_key: str, playbook: str | None, kind: str | None = None
) -> Incident | None:
    """Return the newest open incident on an asset run from ``playbook`` (of ``kind``), if any."""
    query = (
        select(Incident)
        .join(Incident.asset)
        .where(
            Asset.key == asset_key,
            Incident.playbook_key == playbook,
            Incident.status.in_([s.value for s in OPEN_STATUSES]),
        )
        .order_by(Incident.id.desc())
        .limit(1)
    )
    if kind is not None:
        query = query.where(Incident.kind == kind)
    return session.scalars(query).first()
