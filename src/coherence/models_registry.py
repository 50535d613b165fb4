"""Import every capability's tables so Base.metadata knows them all."""

from __future__ import annotations

import importlib

CAPABILITIES_WITH_TABLES = (
    "access",
    "catalog",
    "comms",
    "containment",
    "detection",
    "evidence",
    "exercises",
    "incidents",
    "learning",
    "ledger",
    "obligations",
    "partners",
    "playbooks",
    "recovery",
    "reviews",
    "risk",
    "timers",
    "training",
    "watch",
)


def import_all() -> None:
    """Import ``coherence.<capability>.models`` for each capability with tables."""
    for capability in CAPABILITIES_WITH_TABLES:
        importlib.import_module(f"coherence.{capability}.models")
