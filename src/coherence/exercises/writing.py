"""The after-action report written out: Markdown, and a self-contained HTML page (no scripts,
no outside resources), both with the timeline chart inline."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

import orjson

from coherence.exercises.chart import timeline_svg
from coherence.exercises.report import Report
from coherence.exercises.scoring import minutes

STYLE = """body{font-family:sans-serif;max-width:1020px;margin:2em auto;padding:0 1em;color:#1f2328}
table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:left}th{background:#f6f8fa}.late,.missed{color:#bc4c00}.exercise-timeline{color:#1f2328}
"""


def _t(value: float | None) -> str:
    return "-" if value is None else f"T+{value:.1f}"


def _d(value: float | None) -> str:
    return "-" if value is None else minutes(value)


def _score(value: float | None) -> str:
    return "-" if value is None else f"{value:g}"


def sections(report: Report) -> list[tuple[str, list[str], list[list[str]]]]:
    """The report's tables: (heading, columns, rows), shared by both formats."""
    score = report.score
    return [
        (
            "Scores",
            ["measure", "score (0-100)"],
            [[name, _score(value)] for name, value in score.scores.items()],
        ),
        (
            "Milestones",
            ["milestone", "at", "took", "target", "verdict"],
            [
                [m.name.replace("_", " "), _t(m.at), _d(m.took), _d(m.target), m.verdict]
                for m in score.milestones
            ],
        ),
        (
            "Checklist",
            ["step", "role", "due", "done", "by", "verdict", "late by", "in order", "waited"],
            [
                [
                    s.key,
                    s.role,
                    _t(s.due_at),
                    _t(s.done_at),
                    s.by or "-",
                    s.verdict,
                    _d(s.late_by),
                    "no" if s.out_of_order else "yes",
                    _d(s.wait),
                ]
                for s in score.steps
            ],
        ),
        (
            "Critical path",
            ["step", "role", "ready", "done", "waited"],
            [
                [s.key, s.role, _t(s.ready_at), _t(s.done_at), _d(s.wait)]
                for s in score.critical_path
            ],
        ),
        (
            "Longest waits by step",
            ["step", "role", "waited"],
            [[s.key, s.role, _d(s.wait)] for s in sorted(score.steps, key=lambda s: -s.wait)],
        ),
        (
            "Waits by role",
            ["role", "total", "steps", "longest on", "longest"],
            [
                [w.role, _d(w.total), str(w.steps), w.worst_step, _d(w.worst_wait)]
                for w in score.by_role
            ],
        ),
        (
            "Communication clarity",
            ["audience", "title", "plain-language score", "grade", "problems"],
            [
                [c.audience, c.title, _score(c.score), c.grade, "; ".join(c.problems) or "-"]
                for c in score.clarity
            ],
        ),
        (
            "Decisions",
            ["at", "decision", "by", "rationale"],
            [[_t(d.at), d.text, d.by, d.rationale or "(none)"] for d in score.decisions],
        ),
        (
            "Timeline",
            ["at", "what", "detail"],
            [[_t(e.at), e.kind, e.label] for e in report.events],
        ),
    ]


def _header(report: Report) -> list[tuple[str, str]]:
    ended = f"{report.ended_at:%Y-%m-%d %H:%M} UTC" if report.ended_at else "still running"
    bottleneck = report.score.bottleneck
    return [
        ("Scenario", report.scenario),
        ("Playbook", report.playbook),
        ("Clock", report.mode),
        ("Started", f"{report.started_at:%Y-%m-%d %H:%M} UTC"),
        ("Ended", ended),
        ("Exercise time", f"T+{report.now:.1f} min"),
        ("Incidents", ", ".join(report.incidents) or "none"),
        ("Bottleneck", f"{bottleneck.key} ({bottleneck.role})" if bottleneck else "none"),
    ]


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _md_table(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    if not rows:
        return ["(none)", ""]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return [*lines, ""]


def markdown(report: Report) -> str:
    """The report as Markdown; the chart is inline SVG, which most viewers draw."""
    lines = [f"# After-action report: {report.reference} {_md_cell(report.title)}", ""]
    lines += [f"- **{k}**: {_md_cell(v)}" for k, v in _header(report)]
    lines += ["", "## Findings", ""]
    lines += [f"- {_md_cell(f)}" for f in report.score.findings] or ["- none"]
    lines += ["", "## Timeline chart", "", timeline_svg(report), ""]
    for heading, columns, rows in sections(report):
        lines += [f"## {heading}", "", *_md_table(columns, rows)]
    return "\n".join(lines)


def html_body(report: Report) -> str:
    """The report as an HTML fragment (every value escaped), for a page to wrap."""
    parts = [f"<h1>After-action report: {escape(report.reference)} {escape(report.title)}</h1>"]
    parts.append(
        "<table>"
        + "".join(f"<tr><th>{escape(k)}</th><td>{escape(v)}</td></tr>" for k, v in _header(report))
        + "</table>"
    )
    findings = "".join(f"<li>{escape(f)}</li>" for f in report.score.findings) or "<li>none</li>"
    parts += [f"<h2>Findings</h2><ul>{findings}</ul>", "<h2>Timeline chart</h2>"]
    parts.append(timeline_svg(report))
    for heading, columns, rows in sections(report):
        parts.append(f"<h2>{escape(heading)}</h2>")
        if not rows:
            parts.append("<p>(none)</p>")
            continue
        head = "".join(f"<th>{escape(c)}</th>" for c in columns)
        body = "".join(
            "<tr>" + "".join(f'<td class="{_cls(c)}">{escape(c)}</td>' for c in row) + "</tr>"
            for row in rows
        )
        parts.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
    return "".join(parts)


def _cls(cell: str) -> str:
    return cell if cell in ("late", "missed") else ""


def html(report: Report) -> str:
    """The report as a standalone HTML page."""
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(report.reference)} after-action report</title>"
        f"<style>{STYLE}</style></head><body>{html_body(report)}</body></html>\n"
    )


def as_json(report: Report) -> bytes:
    """The report as JSON, for tools."""
    return orjson.dumps(report, option=orjson.OPT_UTC_Z)
