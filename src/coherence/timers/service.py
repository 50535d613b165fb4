"""Schedule, cancel and claim durable timers."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.timers.models import Timer


class TimerKind(StrEnum):
    """What a timer does when it fires."""

    ACK_ESCALATION = "incident.ack_escalation"
    TASK_DUE = "task.due"
    STATEMENT_DUE = "statement.due"
    OBLIGATION_WARN = "obligation.warn"
    OBLIGATION_DUE = "obligation.due"
    TRAINING_REMINDER = "training.reminder"


class TimerStatus(StrEnum):
    """Where a timer is in its life."""

    PENDING = "pending"
    FIRED = "fired"
    CANCELLED = "cancelled"


def schedule(
    session: Session,
    *,
    clock: Clock,
    kind: TimerKind,
    due_at: datetime,
    incident_id: int | None = None,
    task_id: int | None = None,
    data: dict[str, Any] | None = None,
) -> Timer:
    """Add a pending timer inside the caller's transaction."""
    timer = Timer(
        kind=kind.value,
        due_at=due_at,
        incident_id=incident_id,
        task_id=task_id,
        data=data or {},
        created_at=clock.now(),
        status=TimerStatus.PENDING.value,
    )
    session.add(timer)
    session.flush()
    return timer


def cancel(
    session: Session, *, incident_id: int, kind: TimerKind, task_id: int | None = None
) -> None:
    """Cancel pending timers of ``kind`` for an incident (and task, if given)."""
    query = update(Timer).where(
        Timer.incident_id == incident_id,
        Timer.kind == kind.value,
        Timer.status == TimerStatus.PENDING.value,
    )
    if task_id is not None:
        query = query.where(Timer.task_id == task_id)
    session.execute(query.values(status=TimerStatus.CANCELLED.value))


def claim_due(session: Session, *, now: datetime, limit: int = 50) -> Sequence[Timer]:
    """Lock and return pending timers due by ``now``; other workers skip the locked rows."""
    query = (
        select(Timer)
        .where(Timer.status == TimerStatus.PENDING.value, Timer.due_at <= now)
        .order_by(Timer.due_at, Timer.id)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return session.scalars(query).all()


def mark_cancelled(timer: Timer) -> None:
    """Cancel one pending timer."""
    timer.status = TimerStatus.CANCELLED.value


def mark_fired(timer: Timer, *, at: datetime) -> None:
    """Record that ``timer`` has fired."""
    timer.status = TimerStatus.FIRED.value
    timer.fired_at = at


def pending_for_incident(session: Session, incident_id: int) -> Sequence[Timer]:
    """Return an incident's pending timers, soonest first."""
    query = select(Timer).where(
        Timer.incident_id == incident_id, Timer.status == TimerStatus.PENDING.value
    )
    return session.scalars(query.order_by(Timer.due_at)).all()
