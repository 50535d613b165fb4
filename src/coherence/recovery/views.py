"""Plans as views: the API's JSON, the CLI's rows and the dashboard's SVG diagram."""

from __future__ import annotations

from datetime import timedelta
from html import escape
from typing import Any

from markupsafe import Markup

from coherence.incidents.domain import reference
from coherence.recovery.models import RecoveryPlan, RecoveryStep
from coherence.recovery.schemas import PlanRead, StepRead

BOX_W, BOX_H, GAP_X, GAP_Y, PAD = 190, 58, 60, 14, 20


def step_read(step: RecoveryStep) -> StepRead:
    """One step as the API shows it."""
    return StepRead(
        asset=step.asset,
        kind=step.kind,
        criticality=step.criticality,
        wave=step.wave,
        state=step.state,
        waits_for=list(step.waits_for),
        notes=list(step.notes),
        duration_hours=step.duration_hours,
        part=step.part,
        start_hours=step.start_hours,
        finish_hours=step.finish_hours,
        gates=list(step.gates),
        rollback_point=step.rollback_point,
        note=step.note,
    )


def plan_read(plan: RecoveryPlan) -> PlanRead:
    """A plan as the API shows it, with progress and the time to full service."""
    eta = plan.eta_hours
    return PlanRead(
        incident=reference(plan.incident_id),
        version=plan.version,
        status=plan.status,
        reason=plan.reason,
        roots=list(plan.roots),
        waves=plan.waves,
        eta_hours=eta,
        full_service_at=None if eta is None else plan.created_at + timedelta(hours=eta),
        done=sum(1 for s in plan.steps if s.state == "done"),
        total=len(plan.steps),
        created_at=plan.created_at,
        steps=[step_read(s) for s in plan.steps],
    )


def wait_text(step: RecoveryStep) -> str:
    """What a step waits for, in words: assets, then any part and where it comes from."""
    parts = [", ".join(step.waits_for)] if step.waits_for else []
    if step.part:
        hours = step.part.get("hours")
        parts.append(
            f"part {step.part['part']}: "
            + ("none on offer" if hours is None else f"{hours:g} h via {step.part['source']}")
        )
    return "; ".join(parts) or "nothing"


def diagram(plan: RecoveryPlan) -> str:
    """An inline SVG: waves as columns, steps as boxes with state in text, arrows for waits."""
    columns: dict[int, list[RecoveryStep]] = {}
    for step in plan.steps:
        columns.setdefault(step.wave, []).append(step)
    order = sorted(columns)
    where: dict[str, tuple[int, int]] = {}
    for col, wave in enumerate(order):
        for row, step in enumerate(columns[wave]):
            where[step.asset] = (PAD + col * (BOX_W + GAP_X), PAD + 20 + row * (BOX_H + GAP_Y))
    width = PAD * 2 + max(1, len(order)) * (BOX_W + GAP_X)
    height = PAD * 2 + 20 + max((len(c) for c in columns.values()), default=1) * (BOX_H + GAP_Y)
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="recovery-plan" role="img" '
        f'viewBox="0 0 {width} {height}" width="{width}" height="{height}" fill="currentColor" '
        f'aria-label="Restoration plan version {plan.version}">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="6" '
        'markerHeight="6" orient="auto"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>',
    ]
    for col, wave in enumerate(order):
        label = "done" if wave < 0 else f"wave {wave + 1}"
        x = PAD + col * (BOX_W + GAP_X)
        out.append(f'<text x="{x}" y="{PAD + 8}" font-weight="bold">{label}</text>')
    for step in plan.steps:
        x, y = where[step.asset]
        for member in step.waits_for:
            if member in where:
                mx, my = where[member]
                out.append(
                    f'<line x1="{mx + BOX_W}" y1="{my + BOX_H // 2}" x2="{x}" '
                    f'y2="{y + BOX_H // 2}" stroke="currentColor" marker-end="url(#arrow)"/>'
                )
    for step in plan.steps:
        x, y = where[step.asset]
        dash = ' stroke-dasharray="4 3"' if step.state in ("paused", "waiting") else ""
        eta = "" if step.finish_hours is None else f" · by +{step.finish_hours:g} h"
        out.append(
            f'<g class="step state-{escape(step.state)}"><title>{escape(step.asset)}: '
            f"waits for {escape(wait_text(step))}</title>"
            f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" fill="none" '
            f'stroke="currentColor"{dash}/>'
            f'<text x="{x + 8}" y="{y + 18}" font-weight="bold">{escape(step.asset)}</text>'
            f'<text x="{x + 8}" y="{y + 34}">{escape(step.state.replace("_", " "))}'
            f"{escape(eta)}</text>"
            f'<text x="{x + 8}" y="{y + 50}" font-size="11">'
            f"{escape(step.criticality.replace('_', ' '))}</text></g>"
        )
    out.append("</svg>")
    return "".join(out)


def panel(plan: RecoveryPlan) -> dict[str, Any]:
    """What the incident page shows: the plan, its diagram (trusted SVG) and the waits."""
    return {
        "plan": plan_read(plan),
        "diagram": Markup(diagram(plan)),  # noqa: S704 - every value inside is escaped
        "waits": {s.asset: wait_text(s) for s in plan.steps},
    }
