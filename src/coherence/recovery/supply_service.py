"""Spares and vendor contracts from a YAML document; the latest telemetry reading per metric."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.detection.metrics import normalise
from coherence.detection.samples import Sample
from coherence.documents import problems_error, validate_document
from coherence.errors import ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.recovery.models import Reading, RecoveryPlan, RecoveryStep, Spare, VendorContract
from coherence.recovery.supply import SupplyDocument


@dataclass(frozen=True)
class SupplyReport:
    """What loading a supply document changed."""

    spares: int
    contracts: int


def load_supply(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> SupplyReport:
    """Validate a spares and contracts document and replace what is stored; all or nothing."""
    document = validate_document(SupplyDocument, data, source=source)
    sites = {s.key for s in catalog_service.list_sites(session)}
    organisations = {o.key for o in catalog_service.list_organisations(session)}
    problems = [
        {"path": f"spares[{i}].site", "message": f"no site {s.site!r} in the catalog"}
        for i, s in enumerate(document.spares)
        if s.site not in sites
    ] + [
        {"path": f"contracts[{i}].vendor", "message": f"no organisation {c.vendor!r}"}
        for i, c in enumerate(document.contracts)
        if c.vendor not in organisations
    ]
    if problems:
        raise problems_error(source, problems)
    now = clock.now()
    for old in session.scalars(select(Spare)):
        session.delete(old)
    for old_contract in session.scalars(select(VendorContract)):
        session.delete(old_contract)
    session.flush()
    for spare in document.spares:
        session.add(
            Spare(
                site=spare.site,
                part=spare.part,
                quantity=spare.quantity,
                fits=list(spare.fits),
                description=spare.description,
                loaded_at=now,
            )
        )
    for contract in document.contracts:
        session.add(
            VendorContract(
                vendor=contract.vendor,
                response_hours=contract.response_hours,
                repair_hours=contract.repair_hours,
                windows=[w.model_dump() for w in contract.maintenance_windows],
                parts=dict(contract.parts),
                loaded_at=now,
            )
        )
    report = SupplyReport(len(document.spares), len(document.contracts))
    ledger_service.append(
        session,
        clock=clock,
        entry_type=EntryType.SUPPLY_LOADED,
        actor=actor,
        subject=f"supply:{source}",
        payload={"spares": report.spares, "contracts": report.contracts},
    )
    return report


def spares(session: Session) -> Sequence[Spare]:
    """Every spare held, by site and part."""
    return session.scalars(select(Spare).order_by(Spare.site, Spare.part)).all()


def contracts(session: Session) -> Sequence[VendorContract]:
    """Every vendor contract, by vendor."""
    return session.scalars(select(VendorContract).order_by(VendorContract.vendor)).all()


def record_readings(session: Session, *, clock: Clock, samples: Sequence[Sample]) -> int:
    """Keep the latest value per (asset, metric), checked against the metric dictionary."""
    for index, sample in enumerate(samples):
        catalog_service.get_asset_or_raise(session, sample.asset, field=f"samples[{index}].asset")
        normal = normalise(sample)
        if isinstance(normal, str):
            raise ValidationFailed(normal, field=f"samples[{index}]")
        at = datetime.fromtimestamp(normal.timestamp, UTC) if normal.timestamp else clock.now()
        row = session.get(Reading, (normal.asset, normal.metric))
        if row is not None and row.at > at:
            continue
        if row is None:
            row = Reading(asset=normal.asset, metric=normal.metric)
            session.add(row)
        row.value = str(normal.value)
        row.numeric = None if isinstance(normal.value, str) else float(normal.value)
        row.unit, row.at = normal.unit, at
    session.flush()
    return len(samples)


def watched_series(session: Session) -> frozenset[tuple[str, str]]:
    """The (asset, metric) pairs a recovery step under way judges from telemetry."""
    query = (
        select(RecoveryStep.asset, RecoveryStep.gates)
        .join(RecoveryPlan, RecoveryPlan.id == RecoveryStep.plan_id)
        .where(
            RecoveryPlan.status == "active",
            RecoveryStep.state.in_(("in_progress", "verifying")),
        )
    )
    return frozenset(
        (asset, gate["metric"])
        for asset, gates in session.execute(query)
        for gate in gates
        if gate.get("metric")
    )


def readings_for(session: Session, asset: str, *, since: datetime) -> dict[str, float | str]:
    """The latest reading of each metric of ``asset`` taken at or after ``since``."""
    rows = session.scalars(select(Reading).where(Reading.asset == asset, Reading.at >= since)).all()
    return {r.metric: (r.numeric if r.numeric is not None else r.value) for r in rows}


def sample(asset: str, metric: str, value: float | str, unit: str, at: datetime) -> Sample:
    """Build a reading for :func:`record_readings` (the site is checked by the intake, not here)."""
    return Sample(
        site="", asset=asset, metric=metric, value=value, unit=unit, timestamp=at.timestamp()
    )
