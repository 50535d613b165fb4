"""Catalog vocabulary and pure rules: on-call resolution and dependency checks."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AssetKind(StrEnum):
    """What an asset is."""

    DILUTION_REFRIGERATOR = "dilution_refrigerator"
    PULSE_TUBE_COMPRESSOR = "pulse_tube_compressor"
    QUBIT_PROCESSOR = "qubit_processor"
    CONTROL_RACK = "control_rack"
    LASER_SYSTEM = "laser_system"
    VACUUM_SYSTEM = "vacuum_system"
    SUPERCONDUCTING_MAGNET = "superconducting_magnet"
    QKD_NODE = "qkd_node"
    QKD_LINK = "qkd_link"
    ACCELERATOR = "accelerator"
    POWER_FEED = "power_feed"
    UPS = "ups"
    CHILLER = "chiller"
    NETWORK_SEGMENT = "network_segment"
    HELIUM_SUPPLY = "helium_supply"
    CONTROL_SERVER = "control_server"


class Criticality(StrEnum):
    """How much an asset's loss matters."""

    SAFETY_CRITICAL = "safety_critical"
    HIGH_VALUE_RESEARCH = "high_value_research"
    STANDARD = "standard"


class OrganisationKind(StrEnum):
    """The part an organisation plays around a facility."""

    OPERATOR = "operator"
    RESEARCH_GROUP = "research_group"
    VENDOR = "vendor"
    REGULATOR = "regulator"
    PUBLIC_SAFETY = "public_safety"
    GOVERNMENT_PARTNER = "government_partner"


class EntityClass(StrEnum):
    """How NIS2 classes an entity; regulatory obligations differ between them."""

    ESSENTIAL = "essential"
    IMPORTANT = "important"


class IcsRole(StrEnum):
    """Incident Command System roles a person can fill on an incident."""

    INCIDENT_COMMANDER = "incident_commander"
    OPERATIONS = "operations"
    SAFETY_OFFICER = "safety_officer"
    PUBLIC_INFORMATION_OFFICER = "public_information_officer"
    LIAISON_OFFICER = "liaison_officer"
    SCRIBE = "scribe"
    PLANNING = "planning"
    LOGISTICS = "logistics"
    FINANCE = "finance"


# The roles every new incident tries to fill from the on-call rotations.
INCIDENT_STAFFING: tuple[IcsRole, ...] = (
    IcsRole.INCIDENT_COMMANDER,
    IcsRole.OPERATIONS,
    IcsRole.SAFETY_OFFICER,
    IcsRole.PUBLIC_INFORMATION_OFFICER,
    IcsRole.LIAISON_OFFICER,
    IcsRole.SCRIBE,
)


class ContactChannel(StrEnum):
    """Ways a person can be reached."""

    EMAIL = "email"
    SMS = "sms"
    VOICE = "voice"
    PAGER = "pager"
    CHAT = "chat"
    WEBHOOK = "webhook"
    SLACK = "slack"
    TEAMS = "teams"
    MATRIX = "matrix"
    MQTT = "mqtt"
    NATS = "nats"
    CONSOLE = "console"


@dataclass(frozen=True)
class RotationShape:
    """The data needed to tell who is on call: members in order and shift length."""

    member_ids: Sequence[int]
    starts_at: datetime
    shift: timedelta


def on_call_member(rotation: RotationShape, at: datetime) -> int | None:
    """Return the member on call at ``at``, or None before the rotation starts or if empty."""
    if not rotation.member_ids or at < rotation.starts_at:
        return None
    shifts_elapsed = (at - rotation.starts_at) // rotation.shift
    return rotation.member_ids[shifts_elapsed % len(rotation.member_ids)]


def next_handoff(rotation: RotationShape, at: datetime) -> datetime | None:
    """Return when the shift running at ``at`` hands over, or None if no shift is running."""
    if not rotation.member_ids or at < rotation.starts_at:
        return None
    shifts_elapsed = (at - rotation.starts_at) // rotation.shift
    return rotation.starts_at + (shifts_elapsed + 1) * rotation.shift


MAX_OVERRIDE = timedelta(days=31)


def override_problem(
    starts_at: datetime, ends_at: datetime, *, now: datetime
) -> tuple[str, str] | None:
    """Return (field, problem) if an override's times make no sense, else None."""
    if starts_at.tzinfo is None or ends_at.tzinfo is None:
        return "from", "give times with a time zone (e.g. 2026-01-05T18:00Z)"
    if ends_at <= starts_at:
        return "until", "the override must end after it starts"
    if ends_at <= now:
        return "until", "the override would already be over"
    if ends_at - starts_at > MAX_OVERRIDE:
        return "until", "an override covers at most 31 days; change the rotation instead"
    return None


def find_dependency_cycle(edges: Mapping[str, Sequence[str]]) -> list[str] | None:
    """Return one cycle in the ``asset -> depends on`` graph as a path, or None."""
    visiting: set[str] = set()
    done: set[str] = set()
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        visiting.add(node)
        path.append(node)
        for nxt in edges.get(node, ()):
            if nxt in visiting:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in done:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        visiting.discard(node)
        done.add(node)
        path.pop()
        return None

    for start in sorted(edges):
        if start not in done:
            cycle = visit(start)
            if cycle:
                return cycle
    return None
