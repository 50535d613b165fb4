"""A new anomaly during recovery pauses the affected branch; a cleared one lets it resume."""

from __future__ import annotations

from collections.abc import Mapping

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.detection.models import SignalKey
from coherence.errors import Conflict
from coherence.incidents import service as incidents_service
from coherence.ledger.domain import EntryType
from coherence.recovery import planning
from coherence.recovery.models import RecoveryPlan, RecoveryStep
from coherence.recovery.service import (
    OPEN_STATES,
    current_plan_or_raise,
    graph_of,
    recompute,
    record,
    step_of,
)

# Steps a new anomaly can pause: not yet done, not already paused.
PAUSABLE = OPEN_STATES[:4]


def pause_for_signal(
    session: Session, *, clock: Clock, asset: str, signal: str
) -> list[RecoveryPlan]:
    """Pause, in every active plan with an open step on ``asset``, that step and every step
    depending on it; each plan is recomputed. Called by the detector as a signal is raised."""
    query = (
        select(RecoveryPlan.incident_id)
        .join(RecoveryStep, RecoveryStep.plan_id == RecoveryPlan.id)
        .where(
            RecoveryPlan.status == "active",
            RecoveryStep.asset == asset,
            RecoveryStep.state.in_(PAUSABLE),
        )
    )
    incident_ids = sorted(set(session.scalars(query)))
    if not incident_ids:
        return []
    graph = graph_of(session)
    paused = []
    for incident_id in incident_ids:
        incident = incidents_service.get_or_raise(session, incident_id, for_update=True)
        plan = current_plan_or_raise(session, incident)
        if plan.status != "active" or not any(
            s.asset == asset and s.state in PAUSABLE for s in plan.steps
        ):
            continue  # changed while we waited for the lock
        _pause(session, clock, plan, graph, asset, signal)
        paused.append(
            recompute(
                session,
                clock=clock,
                incident=incident,
                plan=plan,
                actor="detector",
                reason="paused",
            )
        )
    return paused


def refresh(session: Session, *, clock: Clock, ref: str | int) -> RecoveryPlan:
    """Return the current plan after pausing any branch a signal since recovery began has hit.

    The detector pauses as signals arrive; this is the safety net for any it did not.
    """
    incident = incidents_service.get_or_raise(session, ref)
    plan = current_plan_or_raise(session, incident)
    if plan.status != "active":
        return plan
    open_assets = {s.asset for s in plan.steps if s.state in PAUSABLE}
    if not open_assets:
        return plan
    fresh = session.scalars(
        select(SignalKey).where(
            SignalKey.asset.in_(open_assets),
            SignalKey.firing.is_(True),
            SignalKey.last_seen > plan.began_at,
        )
    ).all()
    if not fresh:
        return plan
    graph = graph_of(session)
    for signal in sorted(fresh, key=lambda s: s.asset):
        _pause(session, clock, plan, graph, signal.asset, signal.dedup_key)
    return recompute(
        session, clock=clock, incident=incident, plan=plan, actor="detector", reason="paused"
    )


def _pause(
    session: Session,
    clock: Clock,
    plan: RecoveryPlan,
    graph: Mapping[str, planning.Node],
    asset: str,
    signal: str,
) -> None:
    among = [s.asset for s in plan.steps if s.state in OPEN_STATES]
    hit = planning.branch(graph, asset, among)
    for step in plan.steps:
        if step.asset in hit and step.state in PAUSABLE:
            step.state = "paused"
            step.note = f"paused: new signal {signal}"
    record(
        session,
        clock,
        EntryType.RECOVERY_PAUSED,
        plan,
        "detector",
        asset=asset,
        signal=signal,
        branch=sorted(hit),
    )


def resume(
    session: Session, *, clock: Clock, ref: str | int, asset: str, actor: str
) -> RecoveryPlan:
    """Resume a paused branch once the anomaly that paused it has cleared."""
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    plan = current_plan_or_raise(session, incident)
    step = step_of(plan, asset)
    if step.state != "paused":
        raise Conflict(f"{asset} is {step.state}, not paused", field="key")
    firing = session.scalars(
        select(SignalKey.dedup_key).where(
            SignalKey.asset == asset,
            SignalKey.firing.is_(True),
            SignalKey.last_seen > plan.began_at,
        )
    ).all()
    if firing:
        raise Conflict(f"{asset} still has a firing signal: {', '.join(firing)}", field="key")
    graph = graph_of(session)
    hit = planning.branch(graph, asset, [s.asset for s in plan.steps if s.state == "paused"])
    for other in plan.steps:
        if other.asset in hit:
            other.state, other.note = "waiting", None
    record(session, clock, EntryType.RECOVERY_RESUMED, plan, actor, asset=asset, branch=sorted(hit))
    return recompute(
        session, clock=clock, incident=incident, plan=plan, actor=actor, reason="resumed"
    )
