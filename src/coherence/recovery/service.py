"""Restoration plans: computed from the catalog and supply, stored as versions, ledgered.

Working the steps is in ``verification``; pausing and resuming branches in ``pausing``.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.errors import NotFound, ValidationFailed
from coherence.exercises import service as exercises_service
from coherence.incidents import service as incidents_service
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.partners import service as partners_service
from coherence.recovery import gates as gate_rules
from coherence.recovery import planning
from coherence.recovery.models import RecoveryPlan, RecoveryStep, VendorContract
from coherence.recovery.supply import AidOffer, Contract, Spare, Window, source_parts
from coherence.recovery.supply_service import spares

OPEN_STATES = ("waiting", "ready", "in_progress", "verifying", "paused")


def graph_of(session: Session) -> dict[str, planning.Node]:
    """The catalog's assets and redundancy groups as the planner sees them."""
    graph: dict[str, planning.Node] = {}
    for asset in catalog_service.list_assets(session):
        groups = tuple(
            planning.Group(
                g.name or f"group-{g.position}",
                tuple(m.asset.key for m in g.members),
                g.min_required,
            )
            for g in asset.dependency_groups
        )
        graph[asset.key] = planning.Node(
            asset.key,
            asset.kind,
            asset.criticality,
            asset.site.key,
            groups,
            tuple(v.key for v in asset.vendors),
        )
    return graph


def current_plan(session: Session, incident_id: int) -> RecoveryPlan | None:
    """The newest plan version of an incident, or None."""
    return session.scalars(
        select(RecoveryPlan)
        .where(RecoveryPlan.incident_id == incident_id)
        .order_by(RecoveryPlan.version.desc())
        .limit(1)
    ).one_or_none()


def current_plan_or_raise(session: Session, incident: Incident) -> RecoveryPlan:
    """The newest plan of an incident, or NotFound saying how to make one."""
    found = current_plan(session, incident.id)
    if found is None:
        raise NotFound(
            "no recovery plan for this incident; make one with `coherence recovery plan`",
            field="ref",
        )
    return found


def _part_waits(
    session: Session,
    clock: Clock,
    graph: Mapping[str, planning.Node],
    parts: Mapping[str, str],
    incident: Incident,
) -> dict[str, planning.PartWait]:
    if not parts:
        return {}
    now = clock.now()
    contracts = {
        c.vendor: Contract(
            c.vendor,
            c.response_hours,
            c.repair_hours,
            dict(c.parts),
            tuple(Window(w["weekday"], w["start_hour"], w["hours"]) for w in c.windows),
        )
        for c in session.scalars(select(VendorContract))
    }
    # An exercise may declare a spare back-ordered: its own plan must then do without it.
    gone = exercises_service.back_ordered_parts(session, clock=clock, incident_id=incident.id)
    stock = [
        Spare(s.site, s.part, 0 if s.part in gone else s.quantity, frozenset(s.fits))
        for s in spares(session)
    ]
    owner = incident.site.organisation.key
    aid = [
        AidOffer(
            a.key,
            offer["from"],
            offer["resource"],
            int(offer.get("quantity", 1)),
            offer.get("delivery_hours"),
        )
        for provider in sorted({v for n in graph.values() for v in n.vendors} | {owner})
        for a in partners_service.covering(
            session, organisation=provider, incident=incident, now=now
        )
        for offer in a.mutual_aid
        if offer.get("kind") == "spares" and offer.get("from") == provider
    ]
    return source_parts(
        parts,
        graph,
        spares=stock,
        contracts=contracts,
        aid=list({(o.agreement, o.resource): o for o in aid}.values()),
        aid_hours=gate_rules.mutual_aid_hours(),
        now=now,
    )


def _gate_rows(kind: str) -> list[dict[str, Any]]:
    return [
        {
            "key": g.key,
            "description": g.description,
            "manual": g.manual,
            "metric": g.metric,
            "rule": g.rule,
            "operator": g.operator,
            "value": g.value,
            "status": "pending",
            "detail": "",
            "at": None,
            "by": None,
        }
        for g in gate_rules.gates_for(kind)
    ]


def _part_row(wait: planning.PartWait | None, now: datetime) -> dict[str, Any] | None:
    if wait is None:
        return None
    finite = wait.hours != float("inf")
    return {
        "part": wait.part,
        "hours": wait.hours if finite else None,
        "source": wait.source,
        "detail": wait.detail,
        # When the part is due on site, fixed when it was first sourced: a recomputed plan
        # counts down to it rather than waiting the whole lead time again.
        "arrives_at": (now + timedelta(hours=wait.hours)).isoformat() if finite else None,
    }


def _still_coming(
    waits: Mapping[str, planning.PartWait], carried: Mapping[str, RecoveryStep], now: datetime
) -> dict[str, planning.PartWait]:
    """Count each part already on its way down to the arrival the earlier plan expected."""
    found = dict(waits)
    for asset, wait in waits.items():
        old = carried.get(asset)
        earlier = old.part if old is not None else None
        if not earlier or not earlier.get("arrives_at"):
            continue
        if (earlier["part"], earlier["source"]) != (wait.part, wait.source):
            continue
        arrives = datetime.fromisoformat(earlier["arrives_at"])
        left = max(0.0, (arrives - now).total_seconds() / 3600)
        found[asset] = replace(wait, hours=left, detail=earlier["detail"])
    return found


def _write_plan(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    actor: str,
    reason: str,
    roots: Sequence[str],
    parts: Mapping[str, str],
    carried: Mapping[str, RecoveryStep],
    began_at: datetime | None,
    version: int,
) -> RecoveryPlan:
    """Compute and store one plan version; ``carried`` steps keep their state and history."""
    graph = graph_of(session)
    now = clock.now()
    down = planning.affected(graph, roots)
    done = {a for a, s in carried.items() if s.state == "done"}
    paused = {a for a, s in carried.items() if s.state == "paused"}
    todo = down - done
    waits = _part_waits(
        session, clock, graph, {a: p for a, p in parts.items() if a in todo}, incident
    )
    waits = _still_coming(waits, carried, now)
    computed = planning.plan(
        graph, todo, durations=gate_rules.durations(), part_waits=waits, paused=paused
    )
    row = RecoveryPlan(
        incident_id=incident.id,
        version=version,
        status="active" if computed.steps else "complete",
        reason=reason,
        roots=list(roots),
        parts=dict(parts),
        eta_hours=computed.eta_hours,
        waves=computed.waves,
        began_at=began_at or now,
        created_at=now,
        created_by=actor,
    )
    session.add(row)
    position = 0
    for asset in sorted(done, key=lambda a: carried[a].position):
        row.steps.append(_copy(carried[asset], position=position, wave=-1))
        position += 1
    for step in computed.steps:
        old = carried.get(step.asset)
        state = old.state if old is not None and old.state in OPEN_STATES else "waiting"
        if state in ("waiting", "ready"):
            state = "ready" if is_ready(graph, step.asset, todo) else "waiting"
        row.steps.append(
            RecoveryStep(
                asset=step.asset,
                kind=step.kind,
                criticality=step.criticality,
                position=position,
                wave=step.wave,
                state=state,
                waits_for=list(step.waits_for),
                notes=[*step.notes, *(f"blocked by paused {b}" for b in step.blocked_by)],
                duration_hours=step.duration_hours,
                part=_part_row(step.part, now),
                start_hours=step.start_hours,
                finish_hours=step.finish_hours,
                gates=list(old.gates)
                if old is not None and state in OPEN_STATES[2:]
                else _gate_rows(step.kind),
                rollback_point=old.rollback_point if old is not None else None,
                started_at=old.started_at if old is not None and state != "waiting" else None,
                # Why a step is paused stays with it in the new version.
                note=old.note if old is not None and state == old.state else None,
            )
        )
        position += 1
    session.flush()
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.RECOVERY_PLANNED,
        actor=actor,
        subject=f"recovery:{incident.id}:{version}",
        incident_id=incident.id,
        payload={
            "plan": row.id,
            "version": version,
            "reason": reason,
            "roots": list(roots),
            "steps": len(computed.steps),
            "waves": computed.waves,
            "eta_hours": computed.eta_hours,
        },
    )
    return row


def _copy(old: RecoveryStep, *, position: int, wave: int) -> RecoveryStep:
    return RecoveryStep(
        asset=old.asset,
        kind=old.kind,
        criticality=old.criticality,
        position=position,
        wave=wave,
        state=old.state,
        waits_for=[],
        notes=list(old.notes),
        duration_hours=old.duration_hours,
        part=old.part,
        start_hours=None,
        finish_hours=0.0,
        gates=list(old.gates),
        rollback_point=old.rollback_point,
        started_at=old.started_at,
        finished_at=old.finished_at,
        note=old.note,
    )


def is_ready(graph: Mapping[str, planning.Node], asset: str, down: Collection[str]) -> bool:
    """Every redundancy group of ``asset`` has enough members up (not in ``down``)."""
    return all(
        sum(1 for m in g.members if m not in down) >= g.min_required for g in graph[asset].groups
    )


def make_plan(
    session: Session,
    *,
    clock: Clock,
    ref: str | int,
    actor: str,
    also: Sequence[str] = (),
    parts: Mapping[str, str] | None = None,
) -> RecoveryPlan:
    """Plan restoration for an incident: its asset, ``also`` and what depends on them.

    A second call recomputes: a new version that keeps the state of every step so far.
    """
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    graph = graph_of(session)
    roots = list(dict.fromkeys([incident.asset.key, *also]))
    for index, key in enumerate(roots):
        if key not in graph:
            raise ValidationFailed(f"no asset {key!r} in the catalog", field=f"also[{index}]")
    previous = current_plan(session, incident.id)
    wanted = dict(parts or {})
    for asset in wanted:
        if asset not in graph:
            raise ValidationFailed(f"no asset {asset!r} in the catalog", field="parts")
    planning.check_graph(graph)
    if previous is None:
        return _write_plan(
            session,
            clock=clock,
            incident=incident,
            actor=actor,
            reason="planned",
            roots=roots,
            parts=wanted,
            carried={},
            began_at=None,
            version=1,
        )
    return recompute(
        session,
        clock=clock,
        incident=incident,
        plan=previous,
        actor=actor,
        reason="recomputed",
        roots=list(dict.fromkeys([*previous.roots, *roots])),
        parts={**previous.parts, **wanted},
    )


def recompute(
    session: Session,
    *,
    clock: Clock,
    incident: Incident,
    plan: RecoveryPlan,
    actor: str,
    reason: str,
    roots: Sequence[str] | None = None,
    parts: Mapping[str, str] | None = None,
) -> RecoveryPlan:
    """Supersede ``plan`` with a new version that keeps every step's state so far."""
    plan.status = "superseded"
    carried = {s.asset: s for s in plan.steps if s.state != "rolled_back"}
    return _write_plan(
        session,
        clock=clock,
        incident=incident,
        actor=actor,
        reason=reason,
        roots=list(roots if roots is not None else plan.roots),
        parts=dict(parts if parts is not None else plan.parts),
        carried=carried,
        began_at=plan.began_at,
        version=plan.version + 1,
    )


def step_of(plan: RecoveryPlan, asset: str) -> RecoveryStep:
    """The plan's step for ``asset``, or NotFound naming it."""
    for step in plan.steps:
        if step.asset == asset:
            return step
    raise NotFound(f"the plan has no step for asset {asset!r}", field="key")


def record(
    session: Session,
    clock: Clock,
    entry_type: EntryType,
    plan: RecoveryPlan,
    actor: str,
    **payload: Any,
) -> None:
    """Append a recovery ledger entry about ``plan`` on its incident."""
    ledger_service.append(
        session,
        clock=clock,
        entry_type=entry_type,
        actor=actor,
        subject=f"recovery:{plan.incident_id}:{plan.version}",
        incident_id=plan.incident_id,
        payload={"plan": plan.id, **payload},
    )
