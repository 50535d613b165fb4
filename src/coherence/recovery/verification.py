"""Working restoration steps: start (a rollback point), gates judged from telemetry or recorded
by hand, and rollback when one fails."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.detection.rules import Rule, compile_rules
from coherence.errors import Conflict, ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.models import Incident
from coherence.ledger.domain import EntryType
from coherence.playbooks import service as playbooks_service
from coherence.recovery import gates as gate_rules
from coherence.recovery import pausing, planning, service
from coherence.recovery.models import RecoveryPlan, RecoveryStep
from coherence.recovery.supply_service import readings_for


def start_step(
    session: Session, *, clock: Clock, ref: str | int, asset: str, actor: str
) -> RecoveryStep:
    """Begin work on a ready step; the assets done now are its rollback point."""
    pausing.refresh(session, clock=clock, ref=ref)
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    plan = service.current_plan_or_raise(session, incident)
    step = service.step_of(plan, asset)
    if step.state != "ready":
        waits = ", ".join(step.waits_for) or "nothing"
        raise Conflict(f"{asset} is {step.state}, not ready (waits for {waits})", field="key")
    step.state, step.started_at = "in_progress", clock.now()
    step.rollback_point = sorted(s.asset for s in plan.steps if s.state == "done")
    service.record(
        session,
        clock,
        EntryType.RECOVERY_STEP_STARTED,
        plan,
        actor,
        asset=asset,
        rollback_point=step.rollback_point,
    )
    return step


def complete_step(
    session: Session, *, clock: Clock, ref: str | int, asset: str, actor: str
) -> RecoveryStep:
    """Mark the work on a step finished and judge its gates; it is done only when all pass."""
    pausing.refresh(session, clock=clock, ref=ref)
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    plan = service.current_plan_or_raise(session, incident)
    step = service.step_of(plan, asset)
    if step.state != "in_progress":
        raise Conflict(f"{asset} is {step.state}, not in progress", field="key")
    step.state = "verifying"
    return _judge(session, clock=clock, incident=incident, plan=plan, step=step, actor=actor)


def record_gate(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    asset: str,
    gate: str,
    passed: bool,
    note: str,
    actor: str,
) -> RecoveryStep:
    """Record a manual gate (backups validated, state restored); telemetry gates refuse this."""
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    plan = service.current_plan_or_raise(session, incident)
    step = service.step_of(plan, asset)
    row = next((g for g in step.gates if g["key"] == gate), None)
    if row is None:
        keys = ", ".join(g["key"] for g in step.gates) or "none"
        raise ValidationFailed(f"{asset} has no gate {gate!r}; its gates: {keys}", field="gate")
    if not row["manual"]:
        raise ValidationFailed(
            f"gate {gate!r} is judged from telemetry ({row['metric']}); post readings instead",
            field="gate",
        )
    if step.state not in ("in_progress", "verifying"):
        raise Conflict(f"{asset} is {step.state}; gates are recorded during the work", field="key")
    _set_gate(step, gate, "passed" if passed else "failed", note or "", clock.now(), actor)
    service.record(
        session,
        clock,
        EntryType.RECOVERY_GATE_CHECKED,
        plan,
        actor,
        asset=asset,
        gate=gate,
        status="passed" if passed else "failed",
        detail=note,
    )
    if step.state == "verifying" or not passed:
        step.state = "verifying"
        return _judge(session, clock=clock, incident=incident, plan=plan, step=step, actor=actor)
    return step


def judge_verifying(session: Session, *, clock: Clock, assets: Collection[str]) -> int:
    """Judge every verifying step on ``assets`` again after new telemetry; return how many."""
    query = (
        select(RecoveryPlan.incident_id, RecoveryStep.asset)
        .join(RecoveryPlan, RecoveryPlan.id == RecoveryStep.plan_id)
        .where(
            RecoveryPlan.status == "active",
            RecoveryStep.state == "verifying",
            RecoveryStep.asset.in_(list(assets)),
        )
    )
    found = list(session.execute(query))
    for incident_id, asset in found:
        check_gates(session, clock=clock, ref=incident_id, asset=asset, actor="detector")
    return len(found)


def check_gates(
    session: Session, *, clock: Clock, ref: str | int, asset: str, actor: str
) -> RecoveryStep:
    """Judge a verifying step's telemetry gates again on the latest readings."""
    pausing.refresh(session, clock=clock, ref=ref)
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    plan = service.current_plan_or_raise(session, incident)
    step = service.step_of(plan, asset)
    if step.state != "verifying":
        raise Conflict(f"{asset} is {step.state}, not verifying", field="key")
    return _judge(session, clock=clock, incident=incident, plan=plan, step=step, actor=actor)


def _set_gate(
    step: RecoveryStep, key: str, status: str, detail: str, at: datetime, by: str
) -> None:
    step.gates = [
        {**g, "status": status, "detail": detail, "at": at.isoformat(), "by": by}
        if g["key"] == key
        else g
        for g in step.gates
    ]


def _rules(session: Session) -> dict[str, Rule]:
    documents = [playbooks_service.document_of(r) for r in playbooks_service.list_latest(session)]
    return {f"{r.playbook}/{r.trigger}": r for r in compile_rules(documents)}


def _judge(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    plan: RecoveryPlan,
    step: RecoveryStep,
    actor: str,
) -> RecoveryStep:
    """Evaluate telemetry gates; all passed: done; any failed: roll back and recompute."""
    rules = _rules(session)
    since = step.started_at or plan.began_at
    latest = readings_for(session, step.asset, since=since)
    for raw in step.gates:
        if raw["manual"]:
            continue
        definition = gate_rules.GateDef(
            **{
                k: raw[k]
                for k in ("key", "description", "manual", "metric", "rule", "operator", "value")
            }
        )
        verdict = gate_rules.evaluate(definition, latest.get(raw["metric"]), rules)
        if verdict.status != raw["status"] or verdict.detail != raw["detail"]:
            _set_gate(step, raw["key"], verdict.status, verdict.detail, clock.now(), "telemetry")
            if verdict.status != "pending":
                service.record(
                    session,
                    clock,
                    EntryType.RECOVERY_GATE_CHECKED,
                    plan,
                    "telemetry",
                    asset=step.asset,
                    gate=raw["key"],
                    status=verdict.status,
                    detail=verdict.detail,
                )
    failed = [g for g in step.gates if g["status"] == "failed"]
    if failed:
        return _roll_back(
            session,
            clock=clock,
            incident=incident,
            plan=plan,
            step=step,
            gate=failed[0],
            actor=actor,
        )
    if all(g["status"] == "passed" for g in step.gates):
        step.state, step.finished_at = "done", clock.now()
        service.record(session, clock, EntryType.RECOVERY_STEP_DONE, plan, actor, asset=step.asset)
        _mark_ready(session, plan)
        if all(s.state == "done" for s in plan.steps):
            plan.status = "complete"
    return step


def _mark_ready(session: Session, plan: RecoveryPlan) -> None:
    graph = service.graph_of(session)
    down = {s.asset for s in plan.steps if s.state != "done"}
    for other in plan.steps:
        if other.state == "waiting" and service.is_ready(graph, other.asset, down):
            other.state = "ready"


def _roll_back(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    plan: RecoveryPlan,
    step: RecoveryStep,
    gate: dict[str, Any],
    actor: str,
) -> RecoveryStep:
    """Undo the failed step and any work begun on what depends on it, then recompute."""
    point = list(step.rollback_point or [])
    graph = service.graph_of(session)
    among = [s.asset for s in plan.steps if s.state not in ("done",) or s.asset == step.asset]
    hit = planning.branch(graph, step.asset, among)
    undone = []
    for other in plan.steps:
        if other.asset in hit and other.state in ("in_progress", "verifying", "ready"):
            other.state = "rolled_back"
            undone.append(other.asset)
    step.state = "rolled_back"
    step.note = f"failed gate {gate['key']}: {gate['detail']}"
    service.record(
        session,
        clock,
        EntryType.RECOVERY_ROLLED_BACK,
        plan,
        actor,
        asset=step.asset,
        gate=gate["key"],
        detail=gate["detail"],
        rolled_back=sorted(set(undone) | {step.asset}),
        rollback_point=point,
    )
    new = service.recompute(
        session, clock=clock, incident=incident, plan=plan, actor=actor, reason="rolled back"
    )
    return service.step_of(new, step.asset)
