"""Spares, vendor contracts and mutual aid: where a missing part comes from, and how fast."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from coherence.documents import StrictDocument
from coherence.recovery.planning import Node, PartWait

Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
Hours = Annotated[float, Field(ge=0, le=10_000)]


class SpareSpec(StrictDocument):
    """Parts held at a site, and which asset kinds they fit."""

    site: Key
    part: Key
    quantity: int = Field(ge=0, le=100_000)
    fits: list[Key] = Field(min_length=1, max_length=50)
    description: str = Field("", max_length=500)


class WindowSpec(StrictDocument):
    """A recurring maintenance window the vendor works in (weekday 0 = Monday, UTC hours)."""

    weekday: int = Field(ge=0, le=6)
    start_hour: int = Field(ge=0, le=23)
    hours: int = Field(ge=1, le=24)


class ContractSpec(StrictDocument):
    """A vendor's service contract: response and repair SLAs, windows and part lead times."""

    vendor: Key
    response_hours: Hours
    repair_hours: Hours
    maintenance_windows: list[WindowSpec] = Field(default_factory=list, max_length=20)
    parts: dict[Key, Hours] = Field(
        default_factory=dict, description="Part: lead time in hours to deliver it on site."
    )


class SupplyDocument(StrictDocument):
    """A file of spares and vendor contracts."""

    spares: list[SpareSpec] = Field(default_factory=list, max_length=10_000)
    contracts: list[ContractSpec] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _unique(self) -> SupplyDocument:
        pairs = [(s.site, s.part) for s in self.spares]
        if len(set(pairs)) != len(pairs):
            raise ValueError("spares lists a (site, part) pair twice")
        vendors = [c.vendor for c in self.contracts]
        if len(set(vendors)) != len(vendors):
            raise ValueError("contracts lists a vendor twice")
        return self


@dataclass(frozen=True)
class Spare:
    """Stock of one part at one site."""

    site: str
    part: str
    quantity: int
    fits: frozenset[str]


@dataclass(frozen=True)
class Contract:
    """A vendor's terms as the estimate needs them."""

    vendor: str
    response_hours: float
    repair_hours: float
    parts: Mapping[str, float]


@dataclass(frozen=True)
class AidOffer:
    """A partner's mutual-aid offer of spares, under an agreement in force."""

    agreement: str
    provider: str
    resource: str
    quantity: int


def _matches(part: str, resource: str) -> bool:
    words = part.replace("-", " ").replace("_", " ").lower().split()
    text = resource.lower()
    return bool(words) and all(word in text for word in words)


def source_parts(
    needs: Mapping[str, str],
    graph: Mapping[str, Node],
    *,
    spares: Sequence[Spare],
    contracts: Mapping[str, Contract],
    aid: Sequence[AidOffer],
    aid_hours: float,
) -> dict[str, PartWait]:
    """For each asset needing a part: a spare on site (no wait), else the fastest of its
    vendors' lead time or response SLA and a partner's mutual aid, saying which."""
    stock = {(s.site, s.part): s.quantity for s in spares}
    fits = {(s.site, s.part): s.fits for s in spares}
    aid_left = {id(a): a.quantity for a in aid}
    found: dict[str, PartWait] = {}
    # Safety-critical assets draw on stock first.
    order = sorted(needs, key=lambda k: (graph[k].criticality != "safety_critical", k))
    for asset in order:
        part, node = needs[asset], graph[asset]
        where = (node.site, part)
        if stock.get(where, 0) > 0 and node.kind in fits[where]:
            stock[where] -= 1
            found[asset] = PartWait(part, 0.0, "spare", f"spare {part} on site at {node.site}")
            continue
        options: list[PartWait] = []
        for vendor in node.vendors:
            contract = contracts.get(vendor)
            if contract is None or part not in contract.parts:
                continue
            hours = max(contract.parts[part], contract.response_hours)
            options.append(
                PartWait(
                    part,
                    hours,
                    "vendor",
                    f"vendor {vendor}: lead time {contract.parts[part]:g} h, response SLA "
                    f"{contract.response_hours:g} h, repair SLA {contract.repair_hours:g} h",
                )
            )
        for offer in aid:
            if aid_left[id(offer)] > 0 and _matches(part, offer.resource):
                options.append(
                    PartWait(
                        part,
                        aid_hours,
                        "mutual_aid",
                        f"mutual aid from {offer.provider} under {offer.agreement}: "
                        f"{offer.resource}, about {aid_hours:g} h",
                    )
                )
        if not options:
            found[asset] = PartWait(
                part, float("inf"), "none", f"no spare, contract or mutual aid offers {part}"
            )
            continue
        best = min(options, key=lambda o: (o.hours, o.source))
        if best.source == "mutual_aid":
            for offer in aid:
                if aid_left[id(offer)] > 0 and _matches(part, offer.resource):
                    aid_left[id(offer)] -= 1
                    break
        found[asset] = best
    return found
