"""The exercise timeline as an inline SVG chart: injects, milestones and one row per step."""

from __future__ import annotations

from collections.abc import Callable
from html import escape

from coherence.exercises.report import Report
from coherence.exercises.scoring import StepScore, minutes

WIDTH, LEFT, RIGHT, ROW, TOP = 980, 250, 20, 30, 40
TICKS = (1, 2, 5, 10, 15, 30, 60, 120, 240, 480, 720, 1440)
COLOURS = {
    "on time": "#3fb950",
    "late": "#f0883e",
    "missed": "#f85149",
    "skipped": "#8b949e",
    "pending": "#58a6ff",
}


def _span(report: Report) -> float:
    ends = [report.now, *(e.at for e in report.events)]
    ends += [s.due_at for s in report.score.steps]
    return max(10.0, max(ends) * 1.05)


def _tick(span: float) -> int:
    return next((t for t in TICKS if span / t <= 12), TICKS[-1])


def timeline_svg(report: Report) -> str:
    """An SVG of the exercise in exercise minutes; every label is escaped text."""
    span = _span(report)
    plot = WIDTH - LEFT - RIGHT
    steps = report.score.steps
    height = TOP + ROW * (2 + len(steps)) + 30

    def x(at: float) -> float:
        return round(LEFT + plot * max(0.0, at) / span, 1)

    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="exercise-timeline" role="img" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12" '
        f'aria-label="Timeline of {escape(report.reference)} in exercise minutes">',
        f"<title>{escape(report.reference)}: {escape(report.title)}</title>",
    ]
    tick = _tick(span)
    for value in range(0, int(span) + 1, tick):
        out.append(
            f'<line x1="{x(value)}" y1="{TOP - 10}" x2="{x(value)}" y2="{height - 25}" '
            'stroke="#8b949e" stroke-opacity="0.3"/>'
            f'<text x="{x(value)}" y="{height - 10}" text-anchor="middle" fill="currentColor">'
            f"T+{value}</text>"
        )
    out.append(_row_label("Injects", TOP + ROW // 2))
    for event in report.events:
        if event.kind == "inject":
            cx, cy = x(event.at), TOP + ROW // 2
            out.append(
                f'<path d="M{cx},{cy - 7} L{cx + 7},{cy} L{cx},{cy + 7} L{cx - 7},{cy} z" '
                f'fill="#d29922"><title>T+{event.at:.1f} min: {escape(event.label)}</title></path>'
            )
    out.append(_row_label("Milestones", TOP + ROW + ROW // 2))
    for milestone in report.score.milestones:
        if milestone.at is None:
            continue
        cx, cy = x(milestone.at), TOP + ROW + ROW // 2
        name = milestone.name.replace("_", " ")
        out.append(
            f'<circle cx="{cx}" cy="{cy}" r="5" fill="#a371f7"><title>{escape(name)} at '
            f"T+{milestone.at:.1f} min ({escape(milestone.verdict)})</title></circle>"
            f'<text x="{cx + 7}" y="{cy - 6}" font-size="10" fill="currentColor">'
            f"{escape(name)}</text>"
        )
    critical = {s.key for s in report.score.critical_path}
    bottleneck = report.score.bottleneck
    for index, step in enumerate(steps):
        y = TOP + ROW * (2 + index)
        out.append(_step_row(step, y, x, report.now, step.key in critical, step == bottleneck))
    out.append("</svg>")
    return "".join(out)


def _row_label(text: str, y: int, *, bold: bool = False) -> str:
    weight = ' font-weight="bold"' if bold else ""
    return f'<text x="8" y="{y + 4}" fill="currentColor"{weight}>{escape(text[:38])}</text>'


def _step_row(
    step: StepScore,
    y: int,
    x: Callable[[float], float],
    now: float,
    critical: bool,
    bottleneck: bool,
) -> str:
    colour = COLOURS.get(step.verdict, "#8b949e")
    end = now if step.done_at is None else step.done_at
    note = step.verdict + (f", {minutes(step.late_by)} late" if step.late_by else "")
    if bottleneck:
        note = "BOTTLENECK: " + note
    tip = (
        f"{step.key} ({step.role}): ready T+{step.ready_at:.1f}, "
        f"{'done T+' + format(step.done_at, '.1f') if step.done_at is not None else 'not done'}, "
        f"due T+{step.due_at:.1f}; waited {minutes(step.wait)}"
        + ("; on the critical path" if critical else "")
    )
    left, right = x(step.ready_at), max(x(end), x(step.ready_at) + 2)
    label = f"{'* ' if critical else ''}{step.key} ({step.role})"
    return (
        f'<g class="step verdict-{escape(step.verdict.replace(" ", "-"))}">'
        f"<title>{escape(tip)}</title>"
        + _row_label(label, y + ROW // 2, bold=critical)
        + f'<rect x="{left}" y="{y + 8}" width="{round(right - left, 1)}" height="{ROW - 16}" '
        f'fill="{colour}" stroke="{"currentColor" if bottleneck else "none"}" '
        f'stroke-width="2"/>'
        f'<line x1="{x(step.due_at)}" y1="{y + 4}" x2="{x(step.due_at)}" y2="{y + ROW - 4}" '
        'stroke="currentColor" stroke-dasharray="3 2"/>'
        f'<text x="{right + 6}" y="{y + ROW // 2 + 4}" font-size="11" fill="currentColor">'
        f"{escape(note)}</text></g>"
    )
