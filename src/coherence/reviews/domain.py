"""Pure after-action review rules: finding and change lifecycles, diffs, review due dates."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Any

import yaml

from coherence.errors import Conflict, PermissionDenied, ValidationFailed

# How often a playbook must be looked at when its document names no review_interval_days.
DEFAULT_REVIEW_INTERVAL_DAYS = 365


class FindingStatus(StrEnum):
    """Where a finding's follow-up stands."""

    OPEN = "open"
    IN_PROGRESS = "in_progress"
    DONE = "done"
    WONT_DO = "wont_do"


FINDING_TRANSITIONS: Mapping[FindingStatus, frozenset[FindingStatus]] = {
    FindingStatus.OPEN: frozenset(
        {FindingStatus.IN_PROGRESS, FindingStatus.DONE, FindingStatus.WONT_DO}
    ),
    FindingStatus.IN_PROGRESS: frozenset(
        {FindingStatus.OPEN, FindingStatus.DONE, FindingStatus.WONT_DO}
    ),
    FindingStatus.DONE: frozenset({FindingStatus.OPEN}),
    FindingStatus.WONT_DO: frozenset({FindingStatus.OPEN}),
}
FINISHED = frozenset({FindingStatus.DONE, FindingStatus.WONT_DO})


class ChangeStatus(StrEnum):
    """Where a proposed playbook change stands."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    APPROVED = "approved"
    REJECTED = "rejected"


ACTIVE_CHANGES = frozenset({ChangeStatus.DRAFT, ChangeStatus.IN_REVIEW})


def check_finding_move(current: FindingStatus, target: FindingStatus, reason: str | None) -> None:
    """Raise unless ``current -> target`` is allowed; won't-do needs a reason."""
    if target is current:
        return
    allowed = FINDING_TRANSITIONS[current]
    if target not in allowed:
        raise Conflict(
            f"a {current.value} finding cannot become {target.value}; allowed: "
            f"{', '.join(sorted(allowed))}",
            field="status",
        )
    if target is FindingStatus.WONT_DO and not (reason or "").strip():
        raise ValidationFailed("say why the finding will not be acted on", field="reason")


def check_change_move(current: ChangeStatus, target: ChangeStatus) -> None:
    """Raise Conflict unless a proposed change may move from ``current`` to ``target``."""
    allowed = {
        ChangeStatus.DRAFT: {ChangeStatus.IN_REVIEW},
        ChangeStatus.IN_REVIEW: {ChangeStatus.APPROVED, ChangeStatus.REJECTED},
    }.get(current, set())
    if target not in allowed:
        hint = "submit it for review first" if current is ChangeStatus.DRAFT else "it is decided"
        if current is ChangeStatus.IN_REVIEW:
            hint = "it is waiting for a reviewer's decision"
        raise Conflict(
            f"a {current.value.replace('_', ' ')} change cannot become "
            f"{target.value.replace('_', ' ')}; {hint}",
            field="status",
        )


def check_approver(*, proposer: str, approver: str) -> None:
    """Raise unless someone other than the proposer approves (four eyes)."""
    if proposer == approver:
        raise PermissionDenied(
            "a playbook change is approved by someone other than its proposer", field="actor"
        )


def finding_reference(incident_reference: str, number: int) -> str:
    """Return the human reference of a finding, e.g. INC-00042/F1."""
    return f"{incident_reference}/F{number}"


def is_overdue(status: FindingStatus, due_on: date | None, today: date) -> bool:
    """Return whether an unfinished finding is past its due date."""
    return status not in FINISHED and due_on is not None and due_on < today


def yaml_text(document: Mapping[str, Any] | None) -> str:
    """Render a playbook document as YAML in its field order (empty for none)."""
    if document is None:
        return ""
    return yaml.safe_dump(dict(document), sort_keys=False, allow_unicode=True, width=100)


def unified_diff(
    current: Mapping[str, Any] | None,
    proposed: Mapping[str, Any],
    *,
    key: str,
    current_version: int | None,
) -> str:
    """Return the unified diff from the current version's YAML to the proposal's."""
    before = f"{key} v{current_version}" if current_version is not None else "/dev/null"
    lines = difflib.unified_diff(
        yaml_text(current).splitlines(keepends=True),
        yaml_text(proposed).splitlines(keepends=True),
        fromfile=before,
        tofile=f"{key} proposed",
    )
    return "".join(lines)


@dataclass(frozen=True)
class ReviewStanding:
    """When a playbook was last reviewed and when its next review falls due."""

    key: str
    title: str
    version: int
    interval_days: int
    last_reviewed_at: datetime
    last_review: str
    due_at: datetime
    overdue: bool


def review_standing(
    *,
    key: str,
    title: str,
    version: int,
    interval_days: int | None,
    published_at: datetime,
    reviewed_at: datetime | None,
    now: datetime,
) -> ReviewStanding:
    """Judge a playbook: the later of its newest publication and newest review counts."""
    interval = interval_days or DEFAULT_REVIEW_INTERVAL_DAYS
    if reviewed_at is not None and reviewed_at > published_at:
        last, how = reviewed_at, "reviewed, no change"
    else:
        last, how = published_at, f"published v{version}"
    due = last + timedelta(days=interval)
    return ReviewStanding(key, title, version, interval, last, how, due, due < now)
