"""Risk register and advisory changes: each validated, applied and ledgered in one transaction."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.clock import Clock
from coherence.documents import problems_error, validate_document
from coherence.errors import Conflict, NotFound, ValidationFailed
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.playbooks.domain import standard_scheme
from coherence.risk import domain, repository
from coherence.risk.models import AdvisoryRecord, RiskEntry
from coherence.risk.schemas import AdvisoryCreate, LoadResult, RiskDocument, RiskSpec, RiskUpdate

FIELDS = (
    "scenario",
    "assets",
    "category",
    "likelihood",
    "impact",
    "controls",
    "owner",
    "review_date",
    "status",
)


def _problems(session: Session, values: dict[str, Any], prefix: str) -> list[dict[str, str]]:
    """Assets, owner and category that the catalog or classification scheme do not know."""
    problems: list[dict[str, str]] = []
    if values.get("assets") is not None:
        known = {a.key for a in catalog_service.list_assets(session)}
        for index, key in enumerate(values["assets"]):
            if key not in known:
                problems.append(
                    {"path": f"{prefix}assets[{index}]", "message": f"no asset {key!r}"}
                )
    owner = values.get("owner")
    if owner is not None and catalog_service.get_person(session, owner) is None:
        problems.append({"path": f"{prefix}owner", "message": f"no person {owner!r}"})
    category = values.get("category")
    if category is not None and category not in standard_scheme().categories:
        choices = ", ".join(standard_scheme().categories)
        problems.append(
            {"path": f"{prefix}category", "message": f"no category {category!r}; use {choices}"}
        )
    return problems


def _refuse(problems: list[dict[str, str]]) -> None:
    if len(problems) == 1:
        raise ValidationFailed(problems[0]["message"], field=problems[0]["path"])
    if problems:
        raise problems_error("body", problems)


def _plain(value: Any) -> Any:
    if isinstance(value, date):
        return value.isoformat()
    return getattr(value, "value", value)


def _ledger(
    session: Session, *, clock: Clock, entry_type: EntryType, subject: str, actor: str, **kw: Any
) -> None:
    ledger_service.append(
        session, clock=clock, entry_type=entry_type, actor=actor, subject=subject, payload=kw
    )


def get_risk_or_raise(session: Session, key: str, *, for_update: bool = False) -> RiskEntry:
    """The register entry with ``key``, or NotFound naming it."""
    found = repository.risk_by_key(session, key, for_update=for_update)
    if found is None:
        raise NotFound(f"no risk {key!r} in the register", field="key")
    return found


def list_risks(session: Session, *, status: str | None = None) -> Sequence[RiskEntry]:
    """The register, by key, optionally of one status."""
    return repository.risks(session, status=status)


def _create(
    session: Session, *, clock: Clock, spec: RiskSpec, actor: str, source: str
) -> RiskEntry:
    now = clock.now()
    values = {name: getattr(spec, name) for name in FIELDS}
    row = RiskEntry(key=spec.key, created_at=now, updated_at=now, updated_by=actor, **values)
    row.status = spec.status.value
    session.add(row)
    _ledger(
        session,
        clock=clock,
        entry_type=EntryType.RISK_ADDED,
        subject=f"risk:{spec.key}",
        actor=actor,
        source=source,
        **{name: _plain(v) for name, v in values.items()},
    )
    return row


def _apply(
    session: Session,
    *,
    clock: Clock,
    row: RiskEntry,
    values: dict[str, Any],
    actor: str,
    source: str,
) -> bool:
    changed = {
        name: [_plain(getattr(row, name)), _plain(value)]
        for name, value in values.items()
        if _plain(getattr(row, name)) != _plain(value)
    }
    if not changed:
        return False
    for name in changed:
        setattr(row, name, getattr(values[name], "value", values[name]))
    row.updated_at, row.updated_by = clock.now(), actor
    _ledger(
        session,
        clock=clock,
        entry_type=EntryType.RISK_UPDATED,
        subject=f"risk:{row.key}",
        actor=actor,
        source=source,
        changed=changed,
    )
    return True


def add_risk(session: Session, *, clock: Clock, spec: RiskSpec, actor: str) -> RiskEntry:
    """Add a risk to the register; 409 if the key is taken, 422 naming an unknown reference."""
    _refuse(_problems(session, spec.model_dump(), ""))
    if repository.risk_by_key(session, spec.key) is not None:
        raise Conflict(f"risk {spec.key!r} is already in the register; update it", field="key")
    row = _create(session, clock=clock, spec=spec, actor=actor, source="api")
    session.flush()
    return row


def update_risk(
    session: Session, *, clock: Clock, key: str, changes: RiskUpdate, actor: str
) -> RiskEntry:
    """Change the fields given; an update that changes nothing writes nothing."""
    row = get_risk_or_raise(session, key, for_update=True)
    values = {name: getattr(changes, name) for name in changes.model_fields_set}
    required = ("scenario", "assets", "likelihood", "impact", "owner", "review_date", "status")
    for name in required:
        if name in values and values[name] is None:
            raise ValidationFailed(f"{name} cannot be cleared", field=name)
    values = {k: (list(v) if isinstance(v, list) else v) for k, v in values.items()}
    if values.get("controls") is None and "controls" in values:
        values["controls"] = []
    _refuse(_problems(session, values, ""))
    _apply(session, clock=clock, row=row, values=values, actor=actor, source="api")
    session.flush()
    return row


def load_register(
    session: Session, *, clock: Clock, data: dict[str, Any], actor: str, source: str
) -> LoadResult:
    """Add or update the risks of a document by key; any problem changes nothing.

    Risks in the register but not in the document are left as they are.
    """
    document = validate_document(RiskDocument, data, source=source)
    problems = [
        p
        for index, spec in enumerate(document.risks)
        for p in _problems(session, spec.model_dump(), f"risks[{index}].")
    ]
    if problems:
        raise problems_error(source, problems)
    result = LoadResult(created=[], updated=[], unchanged=[])
    for spec in document.risks:
        row = repository.risk_by_key(session, spec.key, for_update=True)
        if row is None:
            _create(session, clock=clock, spec=spec, actor=actor, source=source)
            result.created.append(spec.key)
            continue
        values = {name: getattr(spec, name) for name in FIELDS}
        if _apply(session, clock=clock, row=row, values=values, actor=actor, source=source):
            result.updated.append(spec.key)
        else:
            result.unchanged.append(spec.key)
    session.flush()
    return result


def list_advisories(session: Session) -> Sequence[AdvisoryRecord]:
    """Every advisory, newest first."""
    return repository.advisories(session)


def advisory_rules(session: Session) -> list[domain.Advisory]:
    """Advisories as the likelihood rules see them."""
    return [
        domain.Advisory(
            a.key,
            a.source,
            a.reason,
            a.factor,
            frozenset(a.assets),
            frozenset(a.kinds),
            a.expires_at,
            a.withdrawn_at is not None,
        )
        for a in repository.advisories(session)
    ]


def record_advisory(
    session: Session, *, clock: Clock, request: AdvisoryCreate, actor: str
) -> AdvisoryRecord:
    """Record an advisory or supply-chain alert that raises the named assets' likelihoods."""
    now = clock.now()
    if request.expires_at <= now:
        raise ValidationFailed("expires_at must be in the future", field="expires_at")
    _refuse(_problems(session, {"assets": request.assets}, ""))
    if repository.advisory_by_key(session, request.key) is not None:
        raise Conflict(f"advisory {request.key!r} is already recorded", field="key")
    row = AdvisoryRecord(
        key=request.key,
        source=request.source.value,
        reference=request.reference,
        software=request.software,
        reason=request.reason,
        factor=request.factor,
        assets=list(request.assets),
        kinds=[k.value for k in request.kinds],
        expires_at=request.expires_at,
        recorded_at=now,
        recorded_by=actor,
    )
    session.add(row)
    _ledger(
        session,
        clock=clock,
        entry_type=EntryType.ADVISORY_RECORDED,
        subject=f"advisory:{request.key}",
        actor=actor,
        **request.model_dump(mode="json"),
    )
    session.flush()
    return row


def withdraw_advisory(session: Session, *, clock: Clock, key: str, actor: str) -> AdvisoryRecord:
    """Withdraw an advisory so it no longer raises anything; 409 if already withdrawn."""
    row = repository.advisory_by_key(session, key)
    if row is None:
        raise NotFound(f"no advisory {key!r}", field="key")
    if row.withdrawn_at is not None:
        raise Conflict(f"advisory {key!r} was already withdrawn", field="key")
    row.withdrawn_at, row.withdrawn_by = clock.now(), actor
    _ledger(
        session,
        clock=clock,
        entry_type=EntryType.ADVISORY_WITHDRAWN,
        subject=f"advisory:{key}",
        actor=actor,
    )
    session.flush()
    return row
