"""Access vocabulary without I/O: labels on records and people's standing in the tool."""

from __future__ import annotations

from enum import StrEnum


class Tlp(StrEnum):
    """FIRST Traffic Light Protocol 2.0 labels, least to most restricted."""

    CLEAR = "CLEAR"
    GREEN = "GREEN"
    AMBER = "AMBER"
    AMBER_STRICT = "AMBER+STRICT"
    RED = "RED"

    @property
    def rank(self) -> int:
        """Position from least (0) to most (4) restricted."""
        return list(Tlp).index(self)


class DataCategory(StrEnum):
    """What kind of data a record holds; redaction and retention follow it."""

    OPERATIONAL = "operational"
    PERSONAL = "personal"
    PROPRIETARY = "proprietary"
    CALIBRATION = "calibration"
    EXPORT_CONTROLLED = "export_controlled"


class AccessRole(StrEnum):
    """A person's standing in Coherence itself, beside the ICS roles they can fill."""

    ADMINISTRATOR = "administrator"
    RESPONDER = "responder"
    OBSERVER = "observer"
    AUDITOR = "auditor"
    INTEGRATION = "integration"


# Clearances (Person.clearances) the access policy reads.
AFTER_ACTION_REVIEW = "after_action_review"
EXPORT_CONTROL = "export_control"
