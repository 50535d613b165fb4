"""What the simulation needs per asset (failure rate, repair time and why) and what-if runs.

Pure functions over plain data; nothing here touches the database or the clock.
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime

from coherence.recovery import planning
from coherence.recovery.supply import Contract, Spare
from coherence.risk import montecarlo
from coherence.risk.domain import Advisory
from coherence.risk.rates import HOURS_PER_YEAR, PriorTable

TWIN = "~twin"
POOL = "~pool"


@dataclass(frozen=True)
class AssetInput:
    """One asset's failure rate and repair time, and where each comes from."""

    key: str
    kind: str
    failures_per_year: float
    wait_hours: float
    restore_hours: float
    wait_detail: str
    advisories: tuple[str, ...] = ()

    @property
    def repair_hours(self) -> float:
        """Mean hours from failure to working again."""
        return self.wait_hours + self.restore_hours

    @property
    def repair_detail(self) -> str:
        """Where the repair time comes from, in words."""
        return f"{self.wait_detail} {self.wait_hours:g} h + restoration {self.restore_hours:g} h"

    @property
    def unavailability(self) -> float:
        """Steady-state probability of being down on its own."""
        return montecarlo.unavailability(self.failures_per_year, self.repair_hours, HOURS_PER_YEAR)


@dataclass(frozen=True)
class WhatIf:
    """Changes to try: redundant twins, spares kept on site, repair hours overridden."""

    redundant: tuple[str, ...] = ()
    spares: Mapping[str, str] = field(default_factory=dict)
    repair_hours: Mapping[str, float] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.redundant or self.spares or self.repair_hours)


def _wait(
    node: planning.Node, *, spares: Sequence[Spare], contracts: Mapping[str, Contract]
) -> tuple[float, str]:
    """Hours until repair can start: a fitting spare on site, else the fastest vendor."""
    fitting = [s for s in spares if node.kind in s.fits]
    on_site = [s for s in fitting if s.site == node.site and s.quantity > 0]
    if on_site:
        return 0.0, f"spare {on_site[0].part} on site at {node.site}"
    parts = {s.part for s in fitting}
    options: list[tuple[float, str]] = []
    for vendor in node.vendors:
        contract = contracts.get(vendor)
        if contract is None:
            continue
        listed = sorted(p for p in parts if p in contract.parts)
        if listed:
            part = min(listed, key=lambda p: contract.parts[p])
            hours = max(contract.parts[part], contract.response_hours)
            options.append((hours, f"vendor {vendor}: {part} lead time {contract.parts[part]:g} h"))
        else:
            options.append((contract.repair_hours, f"vendor {vendor}: repair SLA"))
    if not options:
        return math.nan, ""
    return min(options)


def inputs_for(
    graph: Mapping[str, planning.Node],
    *,
    kind_rates: Mapping[str, float],
    priors: PriorTable,
    spares: Sequence[Spare],
    contracts: Mapping[str, Contract],
    restore_hours: Mapping[str, float],
    advisories: Iterable[Advisory],
    now: datetime,
) -> dict[str, AssetInput]:
    """Each asset's learned rate (raised by advisories in force) and repair time.

    Repair time = wait + restoration hours: no wait with a fitting spare on site; otherwise
    the fastest vendor (part lead time or response SLA, whichever is later, for a part known
    to fit; else the repair SLA); with neither, in-house repair hours from the priors file.
    """
    in_force = [a for a in advisories if a.in_force(now)]
    found: dict[str, AssetInput] = {}
    default_rate = priors.default.shape / priors.default.rate
    for key, node in graph.items():
        restore = restore_hours.get(node.kind, planning.DEFAULT_HOURS)
        wait, detail = _wait(node, spares=spares, contracts=contracts)
        if math.isnan(wait):
            wait, detail = priors.repair_hours(node.kind), "in-house repair"
        hits = [a for a in in_force if a.touches(key, node.kind)]
        rate = kind_rates.get(node.kind, default_rate) * math.prod(a.factor for a in hits)
        found[key] = AssetInput(
            key,
            node.kind,
            rate,
            wait,
            restore,
            detail,
            tuple(f"{a.key} (x{a.factor:g}): {a.reason}" for a in hits),
        )
    return found


def unknown_assets(graph: Collection[str], what_if: WhatIf) -> list[tuple[str, str]]:
    """(option, key) for each what-if naming an asset the catalog lacks."""
    named = [("add_redundant", k) for k in what_if.redundant]
    named += [("spare", k) for k in what_if.spares]
    named += [("repair_hours", k) for k in what_if.repair_hours]
    return [(option, key) for option, key in named if key not in graph]


def apply(
    graph: Mapping[str, planning.Node], inputs: Mapping[str, AssetInput], what_if: WhatIf
) -> tuple[dict[str, planning.Node], dict[str, AssetInput]]:
    """The graph and inputs with the what-if applied.

    A redundant twin copies the asset (dependencies, rate, repair time); wherever the asset
    was needed, a pool needing either of the two takes its place.
    """
    nodes, values = dict(graph), dict(inputs)
    for key, part in what_if.spares.items():
        values[key] = replace(
            values[key], wait_hours=0.0, wait_detail=f"what-if: spare {part or 'part'} on site"
        )
    for key, hours in what_if.repair_hours.items():
        values[key] = replace(
            values[key], wait_hours=hours, restore_hours=0.0, wait_detail="what-if: repair in"
        )
    for key in what_if.redundant:
        twin, pool = key + TWIN, key + POOL
        for name, node in list(nodes.items()):
            if any(key in g.members for g in node.groups):
                groups = tuple(
                    replace(g, members=tuple(pool if m == key else m for m in g.members))
                    for g in node.groups
                )
                nodes[name] = replace(node, groups=groups)
        nodes[twin] = replace(graph[key], key=twin)
        nodes[pool] = replace(
            graph[key], key=pool, groups=(planning.Group("redundant", (key, twin), 1),)
        )
        values[twin] = replace(values[key], key=twin)
        values[pool] = AssetInput(pool, graph[key].kind, 0.0, 0.0, 0.0, "either of the pair")
    return nodes, values


@dataclass(frozen=True)
class ServiceResult:
    """One service's simulated availability, downtime per year and its main contributors."""

    key: str
    availability: float
    downtime_hours: float
    margin_hours: float
    contributors: tuple[tuple[str, float], ...]


@dataclass(frozen=True)
class Report:
    """A simulation run: its settings, each service's result and the inputs used."""

    trials: int
    seed: int
    services: tuple[ServiceResult, ...]
    inputs: Mapping[str, AssetInput]


def run(
    graph: Mapping[str, planning.Node],
    inputs: Mapping[str, AssetInput],
    *,
    services: Sequence[str],
    trials: int,
    seed: int,
    explain: int = 10,
) -> Report:
    """Simulate and summarise each service; downtime margins are 90 % sampling intervals."""
    model = montecarlo.compile_model(graph, {k: v.unavailability for k, v in inputs.items()})
    outcome = montecarlo.simulate(model, trials=trials, seed=seed)
    indices = [model.index(s) for s in services]
    shares = montecarlo.contributions(model, outcome, indices, candidates=explain)
    results = []
    for key, index in zip(services, indices, strict=True):
        available = montecarlo.availability(outcome, index)
        spread = math.sqrt(max(available * (1.0 - available), 0.0) / trials)
        ranked = sorted(shares[index].items(), key=lambda kv: (-kv[1], model.keys[kv[0]]))
        results.append(
            ServiceResult(
                key,
                available,
                (1.0 - available) * HOURS_PER_YEAR,
                1.645 * spread * HOURS_PER_YEAR,
                tuple((model.keys[j], share * HOURS_PER_YEAR) for j, share in ranked[:5]),
            )
        )
    results.sort(key=lambda r: (r.availability, r.key))
    return Report(trials, seed, tuple(results), inputs)
