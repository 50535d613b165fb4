"""Reading the facility's risk: learned rates, their trend, likelihoods raised and simulations."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.errors import ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.recovery import gates, supply_service
from coherence.recovery.service import graph_of
from coherence.recovery.supply import Contract, Spare
from coherence.risk import domain, rates, reliability, repository
from coherence.risk import service as risk_service
from coherence.risk.models import RiskEntry
from coherence.risk.schemas import SimulationRequest

MAX_TRIAL_BITS = 400_000_000


@dataclass(frozen=True)
class Window:
    """The stretch of history the rates are learned from."""

    start: datetime
    end: datetime


def window(session: Session, *, now: datetime, since: datetime | None = None) -> Window:
    """From ``since``, or from when the catalog was first loaded or the first real incident."""
    if since is not None:
        if since >= now:
            raise ValidationFailed("since must be in the past", field="since")
        return Window(since, now)
    loaded = ledger_service.list_entries(session, entry_types=[EntryType.FACILITY_LOADED], limit=1)
    moments = [e.recorded_at for e in loaded]
    first = repository.first_real_incident(session)
    if first is not None:
        moments.append(first)
    return Window(min([*moments, now]), now)


def _assets_by_kind(session: Session) -> dict[str, int]:
    return dict(Counter(a.kind for a in catalog_service.list_assets(session)))


def learned_rates(
    session: Session, *, now: datetime, since: datetime | None = None
) -> tuple[Window, list[rates.Estimate]]:
    """Posterior failure rates per asset kind and category over the observation window."""
    span = window(session, now=now, since=since)
    found = rates.estimate_all(
        rates.shipped_priors(),
        assets_by_kind=_assets_by_kind(session),
        events=repository.real_incident_events(session),
        start=span.start,
        end=span.end,
    )
    return span, found


def rate_trend(
    session: Session, *, now: datetime, since: datetime | None = None, points: int = 12
) -> list[tuple[datetime, list[rates.Estimate]]]:
    """The rates as they stood at ``points`` moments across the window."""
    span = window(session, now=now, since=since)
    return rates.trend(
        rates.shipped_priors(),
        assets_by_kind=_assets_by_kind(session),
        events=repository.real_incident_events(session),
        start=span.start,
        end=span.end,
        points=points,
    )


@dataclass(frozen=True)
class Assessment:
    """A risk's likelihood as shown: raised by advisories (with reasons) and as learned."""

    raised: domain.Raise
    effective: int
    learned_frequency: float | None
    learned_likelihood: int | None


def assess(session: Session, entries: Sequence[RiskEntry], *, now: datetime) -> list[Assessment]:
    """Assess each risk against the advisories in force and the learned rates."""
    kinds = {a.key: a.kind for a in catalog_service.list_assets(session)}
    advisories = risk_service.advisory_rules(session)
    _span, estimates = learned_rates(session, now=now)
    by_pair = {(e.kind, e.category): e.mean for e in estimates}
    found = []
    for entry in entries:
        touched = {key: kinds[key] for key in entry.assets if key in kinds}
        raised = domain.raise_for(advisories, touched, now)
        category = entry.category or ""
        means = [by_pair[(k, category)] for k in touched.values() if (k, category) in by_pair]
        frequency = sum(means) if means else None
        found.append(
            Assessment(
                raised,
                domain.effective_likelihood(entry.likelihood, raised),
                frequency,
                None if frequency is None else domain.likelihood_of(frequency * raised.factor),
            )
        )
    return found


def _what_if(request: SimulationRequest) -> reliability.WhatIf:
    return reliability.WhatIf(
        tuple(request.add_redundant), dict(request.spares), dict(request.repair_hours)
    )


def simulate(
    session: Session, *, now: datetime, request: SimulationRequest
) -> tuple[reliability.Report, reliability.Report | None]:
    """Run the Monte Carlo (and, with what-ifs, the baseline on the same draws)."""
    graph = graph_of(session)
    what_if = _what_if(request)
    for option, key in reliability.unknown_assets(graph, what_if):
        raise ValidationFailed(f"{option}: no asset {key!r} in the catalog", field=option)
    services = list(request.services) or sorted(
        k for k, n in graph.items() if n.criticality == "high_value_research"
    )
    missing = [s for s in services if s not in graph]
    if missing:
        raise ValidationFailed(f"services: no asset(s) {missing} in the catalog", field="services")
    if not services:
        raise ValidationFailed("the catalog has no high-value research assets", field="services")
    nodes = len(graph) + 2 * len(what_if.redundant)
    if request.trials * nodes > MAX_TRIAL_BITS:
        raise ValidationFailed(
            f"{request.trials} trials over {nodes} assets is too large; use at most "
            f"{MAX_TRIAL_BITS // nodes} trials",
            field="trials",
        )
    _span, estimates = learned_rates(session, now=now)
    inputs = reliability.inputs_for(
        graph,
        kind_rates=rates.per_kind(estimates),
        priors=rates.shipped_priors(),
        spares=_spares(session),
        contracts=_contracts(session),
        restore_hours=gates.durations(),
        advisories=risk_service.advisory_rules(session),
        now=now,
    )
    baseline = reliability.run(
        graph, inputs, services=services, trials=request.trials, seed=request.seed
    )
    if not what_if:
        return baseline, None
    changed_graph, changed_inputs = reliability.apply(graph, inputs, what_if)
    changed = reliability.run(
        changed_graph, changed_inputs, services=services, trials=request.trials, seed=request.seed
    )
    return changed, baseline


def _spares(session: Session) -> list[Spare]:
    return [
        Spare(s.site, s.part, s.quantity, frozenset(s.fits)) for s in supply_service.spares(session)
    ]


def _contracts(session: Session) -> Mapping[str, Contract]:
    return {
        c.vendor: Contract(c.vendor, c.response_hours, c.repair_hours, dict(c.parts))
        for c in supply_service.contracts(session)
    }
