"""Obligation state changes: record triage answers and (re)decide which obligations apply."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from coherence.clock import Clock
from coherence.errors import ValidationFailed
from coherence.incidents import service as incidents_service
from coherence.incidents.models import Incident
from coherence.ledger import service as ledger_service
from coherence.ledger.domain import EntryType
from coherence.obligations import clocks, config, repository
from coherence.obligations.domain import (
    ACTIVE_STATES,
    Anchors,
    Answer,
    ClockState,
    Facts,
    ObligationSet,
    ObligationSpec,
    Verdict,
    check_moments,
    evaluate,
)
from coherence.obligations.drafting import MAX_FIELD_CHARS
from coherence.obligations.models import Assessment, ObligationClock

MOMENTS = ("aware_at", "classified_at", "ransom_paid_at")
ASSESSED = (*(a.value for a in Answer), *MOMENTS, "impact_summary")


@dataclass
class Evaluation:
    """Which obligations apply to an incident, why, and what changed on the way."""

    verdicts: list[tuple[ObligationSpec, Verdict]] = field(default_factory=list)
    started: list[str] = field(default_factory=list)
    withdrawn: list[str] = field(default_factory=list)
    moved: list[str] = field(default_factory=list)


def assess(
    session: Session,
    *,
    clock: Clock,
    obligations: ObligationSet,
    ref: str | int,
    changes: Mapping[str, Any],
    actor: str,
) -> Evaluation:
    """Record triage answers (only those in ``changes``; None clears one), then decide again
    which obligations apply: start, move or withdraw their clocks."""
    unknown = sorted(set(changes) - set(ASSESSED))
    if unknown:
        raise ValidationFailed(
            f"unknown assessment field {unknown[0][:64]!r}", field=unknown[0][:64]
        )
    incident = incidents_service.get_or_raise(session, ref, for_update=True)
    now = clock.now()
    found = repository.assessment(session, incident.id)
    if found is None:
        found = Assessment(incident_id=incident.id, impact_summary="", recorded_by=actor)
        found.recorded_at = now
        session.add(found)
    before = {name: getattr(found, name) for name in ASSESSED}
    for name, value in changes.items():
        if name == "impact_summary":
            text = str(value or "")
            if len(text) > MAX_FIELD_CHARS:
                raise ValidationFailed(
                    f"impact_summary is over {MAX_FIELD_CHARS} characters", field="impact_summary"
                )
            value = text
        setattr(found, name, value)
    # Classification as major, and a ransom payment, are dated when first answered yes.
    if found.major_ict and found.classified_at is None and "classified_at" not in changes:
        found.classified_at = now
    if found.ransom_paid and found.ransom_paid_at is None and "ransom_paid_at" not in changes:
        found.ransom_paid_at = now
    check_moments(
        aware_at=found.aware_at or incident.detected_at,
        classified_at=found.classified_at,
        ransom_paid_at=found.ransom_paid_at,
        detected_at=incident.detected_at,
        now=now,
    )
    changed = [name for name in ASSESSED if getattr(found, name) != before[name]]
    if changed:
        found.recorded_by, found.recorded_at = actor, now
        session.flush()
        ledger_service.append(
            session,
            clock=clock,
            entry_type=EntryType.OBLIGATION_ASSESSED,
            actor=actor,
            subject=f"incident:{incident.id}",
            incident_id=incident.id,
            payload={
                "answers": {a.value: getattr(found, a.value) for a in Answer},
                "aware_at": found.aware_at,
                "classified_at": found.classified_at,
                "ransom_paid_at": found.ransom_paid_at,
                "changed": changed,
            },
        )
    return reevaluate(session, clock=clock, obligations=obligations, incident=incident, actor=actor)


def reevaluate(
    session: Session, *, clock: Clock, obligations: ObligationSet, incident: Incident, actor: str
) -> Evaluation:
    """Decide which obligations apply now and bring their clocks into line."""
    assessment = repository.assessment(session, incident.id)
    facts, anchors = facts_of(incident, assessment), anchors_of(incident, assessment)
    existing = repository.clocks_for(session, incident.id)
    result = Evaluation()
    for spec in obligations.obligations:
        verdict = evaluate(spec, facts, severity_ranks=config.severity_ranks())
        result.verdicts.append((spec, verdict))
        if verdict.applies:
            synced = clocks.sync(
                session, clock, incident, spec, anchors, reason=verdict.reason, actor=actor
            )
            result.started += [f"{spec.key}.{c.report}" for c in synced.started]
            result.moved += [f"{spec.key}.{c.report}" for c in synced.moved]
        else:
            _withdraw(session, clock, incident, spec.key, existing, verdict.reason, actor, result)
    known = {spec.key for spec in obligations.obligations}
    for key in sorted({c.obligation for c in existing} - known):
        reason = f"no longer in {obligations.source}"
        _withdraw(session, clock, incident, key, existing, reason, actor, result)
    return result


def _withdraw(
    session: Session,
    clock: Clock,
    incident: Incident,
    obligation: str,
    existing: Sequence[ObligationClock],
    reason: str,
    actor: str,
    result: Evaluation,
) -> None:
    active = [c for c in existing if c.obligation == obligation and c.state in ACTIVE_STATES]
    if active:
        clocks.withdraw(session, clock, incident.id, obligation, active, reason=reason, actor=actor)
        result.withdrawn += [f"{obligation}.{c.report}" for c in active]


def facts_of(incident: Incident, assessment: Assessment | None) -> Facts:
    """Return what triggers look at for an incident: its operator, classification, answers."""
    organisation = incident.site.organisation
    return Facts(
        country=organisation.country,
        sectors=frozenset(organisation.sectors or ()),
        entity_class=organisation.entity_class,
        category=incident.category,
        severity=incident.severity,
        answers={a: getattr(assessment, a.value) if assessment else None for a in Answer},
    )


def anchors_of(incident: Incident, assessment: Assessment | None) -> Anchors:
    """Return the moments an incident's deadlines count from."""
    if assessment is None:
        return Anchors(awareness=incident.detected_at)
    return Anchors(
        awareness=assessment.aware_at or incident.detected_at,
        classification=assessment.classified_at,
        ransom_payment=assessment.ransom_paid_at,
    )


def awareness(incident: Incident, assessment: Assessment | None) -> datetime:
    """When the organisation became aware of the incident."""
    return anchors_of(incident, assessment).awareness


def get_assessment(session: Session, incident_id: int) -> Assessment | None:
    """Return an incident's triage answers, if any were recorded."""
    return repository.assessment(session, incident_id)


def clocks_for(session: Session, incident_id: int) -> Sequence[ObligationClock]:
    """Return every clock of an incident."""
    return repository.clocks_for(session, incident_id)


def running_clocks(
    session: Session, *, incident_id: int | None = None, include_done: bool = False
) -> Sequence[ObligationClock]:
    """Return clocks still waiting for a report (or every clock), soonest due first."""
    states = ClockState if include_done else ACTIVE_STATES
    return repository.clocks_in(session, [s.value for s in states], incident_id=incident_id)
