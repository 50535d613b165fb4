"""Risk as views: the API's JSON, and the risk posture page (heatmap, trends, availability)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from html import escape
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from markupsafe import Markup
from sqlalchemy.orm import Session
from starlette.responses import Response

from coherence.access.api import Caller
from coherence.access.policy import Action
from coherence.errors import CoherenceError
from coherence.http import ClockDep, SessionDep
from coherence.risk import analysis, domain, rates, reliability, service
from coherence.risk.models import AdvisoryRecord, RiskEntry
from coherence.risk.schemas import (
    AdvisoryRead,
    AssetInputRead,
    Contributor,
    RateRead,
    RiskRead,
    ServiceRead,
    SimulationRead,
    SimulationRequest,
)
from coherence.web.auth import same_origin
from coherence.web.guards import AllowPage
from coherence.web.rendering import render

SPARK_W, SPARK_H = 160, 36
PAGE_TRIALS = 20_000

router = APIRouter(include_in_schema=False, dependencies=[Depends(same_origin)])


def risk_read(entry: RiskEntry, assessed: analysis.Assessment, *, today: str) -> RiskRead:
    """One risk as shown, with the likelihood advisories raise it to and the reasons."""
    score = assessed.effective * entry.impact
    return RiskRead(
        key=entry.key,
        scenario=entry.scenario,
        assets=list(entry.assets),
        category=entry.category,
        likelihood=entry.likelihood,
        effective_likelihood=assessed.effective,
        raised_by=list(assessed.raised.reasons),
        learned_frequency=assessed.learned_frequency,
        learned_likelihood=assessed.learned_likelihood,
        impact=entry.impact,
        score=score,
        band=domain.band(score).name,
        controls=list(entry.controls),
        owner=entry.owner,
        review_date=entry.review_date,
        review_overdue=domain.review_overdue(entry.review_date.isoformat(), today, entry.status),
        status=entry.status,
        updated_at=entry.updated_at,
        updated_by=entry.updated_by,
    )


def risk_reads(session: Session, entries: Sequence[RiskEntry], *, now: datetime) -> list[RiskRead]:
    """Risks as shown, assessed against advisories in force and the learned rates."""
    assessed = analysis.assess(session, entries, now=now)
    today = now.date().isoformat()
    return [risk_read(e, a, today=today) for e, a in zip(entries, assessed, strict=True)]


def advisory_read(row: AdvisoryRecord, *, now: datetime) -> AdvisoryRead:
    """An advisory as shown, saying whether it is in force."""
    return AdvisoryRead(
        key=row.key,
        source=row.source,
        reference=row.reference,
        software=row.software,
        reason=row.reason,
        factor=row.factor,
        assets=list(row.assets),
        kinds=list(row.kinds),
        expires_at=row.expires_at,
        in_force=row.withdrawn_at is None and now < row.expires_at,
        recorded_at=row.recorded_at,
        recorded_by=row.recorded_by,
        withdrawn_at=row.withdrawn_at,
        withdrawn_by=row.withdrawn_by,
    )


def rate_read(item: rates.Estimate) -> RateRead:
    """A learned rate as shown."""
    return RateRead(
        kind=item.kind,
        category=item.category,
        assets=item.assets,
        years=item.years,
        exposure=item.exposure,
        events=item.events,
        prior_shape=item.prior.shape,
        prior_rate=item.prior.rate,
        prior_source=item.prior.source,
        shape=item.shape,
        rate=item.rate,
        mean=item.mean,
        low=item.low,
        high=item.high,
    )


def simulation_read(
    report: reliability.Report,
    baseline: reliability.Report | None,
    request: SimulationRequest | None,
) -> SimulationRead:
    """A run as shown; with a what-if, each service also carries its baseline figures."""
    before = {s.key: s for s in baseline.services} if baseline else {}
    return SimulationRead(
        trials=report.trials,
        seed=report.seed,
        what_if=request if baseline else None,
        services=[
            ServiceRead(
                key=s.key,
                availability=s.availability,
                downtime_hours=s.downtime_hours,
                margin_hours=s.margin_hours,
                baseline_availability=before[s.key].availability if before else None,
                baseline_downtime_hours=before[s.key].downtime_hours if before else None,
                contributors=[Contributor(asset=a, hours=h) for a, h in s.contributors],
            )
            for s in report.services
        ],
        assets=[
            AssetInputRead(
                key=i.key,
                kind=i.kind,
                failures_per_year=i.failures_per_year,
                repair_hours=i.repair_hours,
                repair_detail=i.repair_detail,
                unavailability=i.unavailability,
                advisories=list(i.advisories),
            )
            for i in sorted(report.inputs.values(), key=lambda i: -i.unavailability)
        ],
    )


def sparkline(values: Sequence[tuple[float, float, float]], *, label: str) -> str:
    """An inline SVG of posterior means (line) inside their 90 % intervals (band)."""
    top = max((high for _m, _l, high in values), default=1.0) or 1.0
    step = SPARK_W / max(1, len(values) - 1)

    def y(value: float) -> float:
        return round(SPARK_H - 2 - (SPARK_H - 4) * value / top, 1)

    means = " ".join(f"{round(i * step, 1)},{y(m)}" for i, (m, _l, _h) in enumerate(values))
    upper = [f"{round(i * step, 1)},{y(h)}" for i, (_m, _l, h) in enumerate(values)]
    lower = [f"{round(i * step, 1)},{y(lo)}" for i, (_m, lo, _h) in enumerate(values)]
    band = " ".join(upper + lower[::-1])
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" role="img" width="{SPARK_W}" '
        f'height="{SPARK_H}" viewBox="0 0 {SPARK_W} {SPARK_H}" aria-label="{escape(label)}">'
        f'<polygon points="{band}" fill="currentColor" fill-opacity="0.2"/>'
        f'<polyline points="{means}" fill="none" stroke="currentColor" stroke-width="2"/></svg>'
    )


def trend_rows(points: Sequence[tuple[datetime, list[rates.Estimate]]]) -> list[dict[str, Any]]:
    """One row per (kind, category): first and latest estimate and a sparkline between."""
    series: dict[tuple[str, str], list[rates.Estimate]] = {}
    for _at, estimates in points:
        for item in estimates:
            series.setdefault((item.kind, item.category), []).append(item)
    rows = []
    for (kind, category), items in sorted(series.items()):
        last = items[-1]
        label = f"{kind} {category}: from {items[0].mean:.3g} to {last.mean:.3g} per asset-year"
        rows.append(
            {
                "kind": kind,
                "category": category,
                "first": items[0],
                "last": last,
                "spark": Markup(  # noqa: S704 - built from numbers and an escaped label
                    sparkline([(i.mean, i.low, i.high) for i in items], label=label)
                ),
            }
        )
    return sorted(rows, key=lambda r: -r["last"].mean)


PageReadsFacility = Annotated[Caller, Depends(AllowPage(Action.READ_FACILITY))]


def _availability(session: Session, now: datetime) -> tuple[SimulationRead | None, str]:
    try:
        report, _none = analysis.simulate(
            session, now=now, request=SimulationRequest(trials=PAGE_TRIALS)
        )
    except CoherenceError as refused:
        # An empty catalog, or one without research services, has nothing to simulate.
        return None, refused.message
    return simulation_read(report, None, None), ""


@router.get("/risk")
def risk_page(
    request: Request, session: SessionDep, clock: ClockDep, caller: PageReadsFacility
) -> Response:
    """The risk posture: register heatmap, learned-rate trends and simulated availability."""
    now = clock.now()
    risks = risk_reads(session, service.list_risks(session), now=now)
    live = [r for r in risks if r.status != domain.Status.CLOSED]
    grid = domain.heatmap([(r.key, r.effective_likelihood, r.impact) for r in live])
    span, _estimates = analysis.learned_rates(session, now=now)
    trend = trend_rows(analysis.rate_trend(session, now=now))
    advisories = [advisory_read(a, now=now) for a in service.list_advisories(session)]
    simulation, problem = _availability(session, now)
    context = {
        "risks": sorted(live, key=lambda r: (-r.score, r.key)),
        "grid": grid,
        "band_css": {b.name: b.css for b in domain.BANDS},
        "likelihoods": domain.LIKELIHOOD,
        "impacts": domain.IMPACT,
        "span": span,
        "trend": trend,
        "simulation": simulation,
        "simulation_problem": problem,
        "advisories": [a for a in advisories if a.in_force],
        "now": now,
    }
    return render(request, "risk.html", context, person=caller.person)
