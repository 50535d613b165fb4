"""Reading a scenario: its structure, then everything it names checked against the facility."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError as PydanticValidationError
from sqlalchemy.orm import Session

from coherence.catalog import service as catalog_service
from coherence.catalog.domain import IcsRole
from coherence.catalog.models import Asset, Site
from coherence.detection import formats
from coherence.detection.samples import Sample
from coherence.documents import format_location, problems_error
from coherence.errors import NotFound
from coherence.exercises import domain
from coherence.exercises.domain import Milestone
from coherence.exercises.schemas import INJECT_KINDS, ScenarioDocument, TelemetryInject
from coherence.playbooks import service as playbooks_service
from coherence.playbooks.models import PlaybookVersion
from coherence.playbooks.schemas import PlaybookDocument

# An inject of an unknown kind is reported at its ``kind``, not at the whole inject.
_TAG_ERRORS = frozenset({"union_tag_invalid", "union_tag_not_found"})
# A valid reading time for checking a telemetry inject's values before it fires.
_SPECIMEN_TIME = 1_767_225_600.0


@dataclass(frozen=True)
class Checked:
    """A scenario that passed every check, with the playbook version it will be scored on."""

    document: ScenarioDocument
    playbook: PlaybookVersion
    steps: list[dict[str, Any]]
    targets: dict[str, float]


def parse(data: dict[str, Any], *, source: str) -> ScenarioDocument:
    """Validate a scenario's structure, or raise ValidationFailed naming every bad field."""
    try:
        return ScenarioDocument.model_validate(data)
    except PydanticValidationError as exc:
        problems = [
            {
                "path": format_location(
                    [p for p in e["loc"] if p not in INJECT_KINDS]
                    + (["kind"] if e["type"] in _TAG_ERRORS else [])
                ),
                "message": str(e["msg"]).removeprefix("Value error, "),
            }
            for e in exc.errors(include_url=False)
        ]
        raise problems_error(source, problems) from None


def check(session: Session, data: dict[str, Any], *, source: str) -> Checked:
    """Validate a scenario and everything it names (playbook, site, assets, metrics, steps)."""
    document = parse(data, source=source)
    problems: list[dict[str, str]] = []
    site = _site(session, document.site)
    if site is None:
        problems.append({"path": "site", "message": f"no site with key {document.site!r}"})
    kinds: dict[str, str] = {}
    for index, key in enumerate(document.assets):
        asset = _asset(session, key)
        if asset is None:
            problems.append({"path": f"assets[{index}]", "message": f"no asset with key {key!r}"})
        elif site is not None and asset.site_id != site.id:
            problems.append(
                {"path": f"assets[{index}]", "message": f"{key} is not at site {document.site}"}
            )
        else:
            kinds[key] = asset.kind
    row = _playbook(session, document.playbook)
    if row is None:
        problems.append(
            {"path": "playbook", "message": f"no playbook with key {document.playbook!r}"}
        )
        playbook = None
    else:
        playbook = playbooks_service.document_of(row)
        step_keys = [s.key for s in playbook.steps]
        problems += domain.dependency_problems(step_keys, document.step_dependencies)
    for index, inject in enumerate(document.injects):
        if isinstance(inject, TelemetryInject) and inject.asset not in document.assets:
            problems.append(
                {
                    "path": f"injects[{index}].asset",
                    "message": f"{inject.asset!r} is not one of the scenario's assets",
                }
            )
        if isinstance(inject, TelemetryInject) and inject.asset in kinds:
            problems += _telemetry_problems(index, inject, document.site)
            if playbook is not None and kinds[inject.asset] not in playbook.applies_to:
                problems.append(
                    {
                        "path": f"injects[{index}].asset",
                        "message": f"playbook {playbook.key} does not apply to a "
                        f"{kinds[inject.asset]}",
                    }
                )
    if problems or row is None or playbook is None:
        raise problems_error(source, problems)
    return Checked(
        document, row, steps_of(playbook, document), targets_of(session, playbook, document)
    )


def _telemetry_problems(index: int, inject: TelemetryInject, site: str) -> list[dict[str, str]]:
    problems = []
    for position, value in enumerate(inject.values):
        parsed = formats.parse_item(
            sample_data(inject, site=site, value=value, timestamp=_SPECIMEN_TIME)
        )
        if isinstance(parsed, Sample):
            continue
        where = f"values[{position}]" if parsed.field == "value" else parsed.field
        problems.append({"path": f"injects[{index}].{where}", "message": parsed.message})
        if parsed.field != "value":
            break
    return problems


def sample_data(
    inject: TelemetryInject, *, site: str, value: float | str, timestamp: float
) -> dict[str, Any]:
    """One reading of a telemetry inject in the intake's sample format."""
    return {
        "site": site,
        "asset": inject.asset,
        "metric": inject.metric,
        "value": value,
        "unit": inject.unit,
        "timestamp": timestamp,
    }


def steps_of(playbook: PlaybookDocument, document: ScenarioDocument) -> list[dict[str, Any]]:
    """The playbook's steps as scored: owner, time box and the steps each waits for."""
    after = domain.default_dependencies([s.key for s in playbook.steps])
    after.update({k: list(v) for k, v in document.step_dependencies.items()})
    return [
        {
            "key": s.key,
            "title": s.title,
            "role": s.owner_role.value,
            "due_minutes": s.due_minutes,
            "after": after[s.key],
        }
        for s in playbook.steps
    ]


def targets_of(
    session: Session, playbook: PlaybookDocument, document: ScenarioDocument
) -> dict[str, float]:
    """Milestone targets in minutes: the scenario's, else the playbook's and the escalation's."""
    targets: dict[str, float] = {}
    policy = playbook.escalation_policy
    if policy is None:
        site = _site(session, document.site)
        policy = site.escalation_policy.key if site and site.escalation_policy else None
    levels = catalog_service.escalation_levels_by_key(session, policy) if policy else None
    if levels:
        targets[Milestone.ACKNOWLEDGED.value] = float(str(levels[0]["ack_within_minutes"]))
    commander = [n.within_minutes for n in playbook.notify if n.role is IcsRole.INCIDENT_COMMANDER]
    if commander:
        targets[Milestone.IC_ASSIGNED.value] = min(commander)
    changes = [s.due_minutes for s in playbook.steps if s.requires_change_record]
    if changes:
        targets[Milestone.CONTAINED.value] = max(changes)
    targets[Milestone.RESOLVED.value] = max(s.due_minutes for s in playbook.steps)
    targets.update({m.value: minutes for m, minutes in document.targets.items()})
    return targets


def _site(session: Session, key: str) -> Site | None:
    try:
        return catalog_service.get_site_or_raise(session, key)
    except NotFound:
        return None


def _asset(session: Session, key: str) -> Asset | None:
    try:
        return catalog_service.get_asset_or_raise(session, key)
    except NotFound:
        return None


def _playbook(session: Session, key: str) -> PlaybookVersion | None:
    try:
        return playbooks_service.get_latest_or_raise(session, key)
    except NotFound:
        return None
