"""Spares, vendor contracts and mutual aid: where a missing part comes from, and how fast."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
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
    maintenance_windows: list[WindowSpec] = Field(
        default_factory=list,
        max_length=20,
        description="When the vendor's engineer works on site; none: at any time.",
    )
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
class Window:
    """A weekly maintenance window: weekday (0 = Monday), start hour and length, in UTC."""

    weekday: int
    start_hour: int
    hours: int


@dataclass(frozen=True)
class Contract:
    """A vendor's terms as the estimate needs them; no windows means work at any time."""

    vendor: str
    response_hours: float
    repair_hours: float
    parts: Mapping[str, float]
    windows: tuple[Window, ...] = ()


@dataclass(frozen=True)
class AidOffer:
    """A partner's mutual-aid offer of spares, under an agreement in force.

    ``hours`` is the offer's own delivery time; None takes the shipped default.
    """

    agreement: str
    provider: str
    resource: str
    quantity: int
    hours: float | None = None


def next_window(at: datetime, windows: Sequence[Window]) -> datetime:
    """The first moment at or after ``at`` inside one of ``windows``; ``at`` if there are none.

    A window may run past midnight, and from Sunday into Monday.
    """
    at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
    if not windows:
        return at
    monday = datetime(at.year, at.month, at.day, tzinfo=UTC) - timedelta(days=at.weekday())
    # Last week's occurrence may still be running; next week's always starts after ``at``.
    spans = [
        (start, start + timedelta(hours=w.hours))
        for w in windows
        for week in (-1, 0, 1)
        for start in [monday + timedelta(weeks=week, days=w.weekday, hours=w.start_hour)]
    ]
    if any(start <= at < end for start, end in spans):
        return at
    return min(start for start, _end in spans if start > at)


def _vendor_wait(vendor: str, contract: Contract, part: str, now: datetime) -> PartWait:
    """The vendor's wait: the later of lead time and response SLA, then the next window."""
    lead, response = contract.parts[part], contract.response_hours
    ready = max(lead, response)
    why = f"{lead:g} h lead time" if lead >= response else f"{response:g} h response SLA"
    landed = now + timedelta(hours=ready)
    on_site = next_window(landed, contract.windows)
    hours = (on_site - now).total_seconds() / 3600
    if on_site > landed:
        why += f", then the next maintenance window {on_site:%a %d %b %H:%M} UTC"
    elif contract.windows:
        why += ", inside a maintenance window"
    terms = f"response SLA {response:g} h, repair SLA {contract.repair_hours:g} h"
    return PartWait(part, round(hours, 2), "vendor", f"vendor {vendor}: {why} ({terms})")


def _aid_wait(offer: AidOffer, part: str, default_hours: float) -> PartWait:
    hours = default_hours if offer.hours is None else offer.hours
    return PartWait(
        part,
        hours,
        "mutual_aid",
        f"mutual aid from {offer.provider} under {offer.agreement}: {offer.resource}, "
        f"delivered in about {hours:g} h",
    )


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
    now: datetime,
) -> dict[str, PartWait]:
    """For each asset needing a part: a spare on site (no wait), else the fastest of its
    vendors (lead time or response SLA, then their maintenance window) and a partner's
    mutual aid (the offer's delivery time, else ``aid_hours``), saying which.

    Hours count from ``now``, the moment the plan is made.
    """
    stock = {(s.site, s.part): s.quantity for s in spares}
    fits = {(s.site, s.part): s.fits for s in spares}
    left = [a.quantity for a in aid]
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
        # Each option with the index of the aid offer it would use up, if any.
        options: list[tuple[PartWait, int | None]] = []
        for vendor in node.vendors:
            contract = contracts.get(vendor)
            if contract is not None and part in contract.parts:
                options.append((_vendor_wait(vendor, contract, part, now), None))
        for index, offer in enumerate(aid):
            if left[index] > 0 and _matches(part, offer.resource):
                options.append((_aid_wait(offer, part, aid_hours), index))
        if not options:
            found[asset] = PartWait(
                part, float("inf"), "none", f"no spare, contract or mutual aid offers {part}"
            )
            continue
        best, used = min(options, key=lambda o: (o[0].hours, o[0].source, o[1] or 0))
        if used is not None:
            left[used] -= 1
        found[asset] = best
    return found
