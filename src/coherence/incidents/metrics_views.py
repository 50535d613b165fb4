"""The response metrics dashboard page, with inline SVG bar charts (no scripts, no CDN)."""

from __future__ import annotations

from html import escape
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from markupsafe import Markup
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.incidents import metrics_query
from coherence.incidents.domain import Kind
from coherence.incidents.metrics import RESPONSE_METRICS, Dimension, Period, Row
from coherence.web.auth import same_origin
from coherence.web.filters import duration
from coherence.web.guards import AllowPage
from coherence.web.rendering import render

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])
PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]
WIDTH, HEIGHT, PAD, LABEL = 640, 200, 30, 16


def chart(rows: list[Row], metric: str) -> str:
    """An SVG of the metric's median per period, one bar per group, values written out."""
    mine = [r for r in rows if r.metric == metric and r.stat.median is not None]
    periods = sorted({r.period or "all" for r in mine})
    groups = sorted({r.group or "all" for r in mine})
    top = max((r.stat.median or 0.0 for r in mine), default=0.0) or 1.0
    slot = (WIDTH - 2 * PAD) / max(1, len(periods))
    bar = max(4.0, (slot - 10) / max(1, len(groups)))
    name = RESPONSE_METRICS[metric][1]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="metric-chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT + 2 * LABEL}" width="{WIDTH}" '
        f'aria-label="{escape(metric.upper())} median by period">',
        f'<line x1="{PAD}" y1="{HEIGHT}" x2="{WIDTH - PAD}" y2="{HEIGHT}" stroke="currentColor"/>',
    ]
    for p_index, period in enumerate(periods):
        x0 = PAD + p_index * slot
        out.append(
            f'<text x="{x0 + slot / 2:.1f}" y="{HEIGHT + LABEL}" text-anchor="middle" '
            f'font-size="11">{escape(period)}</text>'
        )
        for g_index, group in enumerate(groups):
            row = next(
                (r for r in mine if (r.period or "all") == period and (r.group or "all") == group),
                None,
            )
            if row is None or row.stat.median is None:
                continue
            h = (HEIGHT - LABEL) * row.stat.median / top
            x = x0 + 5 + g_index * bar
            text = f"{group} {period}: median {duration(row.stat.median)} over {row.stat.count}"
            out.append(
                f'<g class="bar bar-{g_index % 6}"><title>{escape(text)} ({escape(name)})</title>'
                f'<rect x="{x:.1f}" y="{HEIGHT - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                f'fill="currentColor" fill-opacity="{0.35 + 0.1 * (g_index % 6):.2f}"/>'
                f'<text x="{x + (bar - 2) / 2:.1f}" y="{HEIGHT - h - 3:.1f}" text-anchor="middle" '
                f'font-size="10">{escape(duration(row.stat.median))}</text></g>'
            )
    out.append("</svg>")
    return "".join(out)


@router.get("/response-metrics")
def metrics_page(
    request: Request,
    caller: PageReadsFacility,
    kind: Kind = Query(Kind.REAL),
    by: Dimension | None = Query(None),
    period: Period = Query(Period.MONTH),
) -> Response:
    """Show MTTD, MTTA, MTTC and MTTR per period, one kind at a time, with charts and a table."""
    rows = metrics_query.response_rows(caller.session, kind=kind, by=by, period=period)
    context = {
        "rows": rows,
        "charts": [
            (name.upper(), text, Markup(chart(rows, name)))  # noqa: S704 - values are escaped
            for name, (_m, text) in RESPONSE_METRICS.items()
        ],
        "kinds": list(Kind),
        "dimensions": list(Dimension),
        "periods": list(Period),
        "kind": kind,
        "by": by,
        "period": period,
    }
    return render(request, "metrics.html", context, person=caller.person)
