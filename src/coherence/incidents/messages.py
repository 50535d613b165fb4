"""Plain-text pages about an incident: short subject, first steps, how to acknowledge."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from coherence.incidents.domain import Kind, reference

KIND_PREFIX = {Kind.REAL: "", Kind.EXERCISE: "EXERCISE - ", Kind.TEST: "TEST - "}


def subject(*, incident_id: int, kind: Kind, severity: str, title: str, why: str) -> str:
    """Return a page subject that says drill or real, severity, reference and why."""
    return f"{KIND_PREFIX[kind]}[{severity.upper()}] {reference(incident_id)} {title} - {why}"


def body(
    *,
    incident_id: int,
    kind: Kind,
    title: str,
    asset: str,
    site: str,
    severity: str,
    detected_at: datetime,
    first_steps: Sequence[tuple[str, str, datetime | None, str | None]],
    why: str,
) -> str:
    """Return the page body: what, where, first steps with due times and hazards, how to ack."""
    ref = reference(incident_id)
    lines = [
        f"{KIND_PREFIX[kind]}{ref}: {title}",
        f"Asset: {asset} at {site}. Severity {severity.upper()}.",
        f"Detected {detected_at:%Y-%m-%d %H:%M:%S} UTC. {why}.",
    ]
    if first_steps:
        lines.append("First steps:")
        for title_, role, due, hazard in first_steps:
            due_text = f" (due {due:%H:%M} UTC)" if due else ""
            lines.append(f"  - {title_} [{role}]{due_text}")
            if hazard:
                lines.append(f"    HAZARD: {hazard}")
    lines.append(f"Acknowledge: coherence incident ack {ref}")
    return "\n".join(lines)
