"""Verification gates: shipped definitions, and their verdict on a telemetry reading."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from coherence.detection.domain import COMPARE
from coherence.detection.rules import Rule, state_key
from coherence.playbooks.schemas import Operator


@dataclass(frozen=True)
class GateDef:
    """One check a step must pass: by telemetry (a rule's threshold or a bound) or by hand."""

    key: str
    description: str
    manual: bool = False
    metric: str | None = None
    rule: str | None = None
    operator: str | None = None
    value: float | None = None


@dataclass(frozen=True)
class Verdict:
    """A gate's outcome: passed, failed, or pending (no reading yet), and why."""

    status: str
    detail: str


@cache
def _shipped() -> dict[str, Any]:
    text = resources.files("coherence.recovery").joinpath("data/steps.yaml").read_text()
    data: dict[str, Any] = yaml.safe_load(text)
    return data


def durations() -> dict[str, float]:
    """Hours to bring back an asset, by kind (shipped data)."""
    return {str(k): float(v) for k, v in _shipped()["durations"].items()}


def mutual_aid_hours() -> float:
    """Hours for a partner's mutual-aid spare to arrive (shipped data)."""
    return float(_shipped()["mutual_aid_hours"])


def gates_for(kind: str) -> list[GateDef]:
    """The verification gates shipped for an asset kind."""
    return [GateDef(**raw) for raw in _shipped()["gates"].get(kind, [])]


def evaluate(gate: GateDef, reading: float | str | None, rules: Mapping[str, Rule]) -> Verdict:
    """Judge a telemetry gate on the latest reading, with the detection rule it names."""
    if gate.manual or gate.metric is None:
        return Verdict("pending", "recorded by a person")
    if reading is None:
        return Verdict("pending", f"no reading of {gate.metric} since the step started")
    if gate.rule is not None:
        rule = rules.get(gate.rule)
        if rule is None:
            return Verdict("pending", f"rule {gate.rule} is not in the published playbooks")
        if rule.kind == "state":
            bad = state_key(reading) in rule.states
            return Verdict(
                "failed" if bad else "passed",
                f"{gate.metric} = {reading}: {'a' if bad else 'not a'} fault state of {gate.rule}",
            )
        if rule.kind == "threshold" and rule.operator is not None:
            if isinstance(reading, str):
                return Verdict("failed", f"{gate.metric} = {reading!r} is not a number")
            # Back to normal means past the rule's clear value, as the detector would clear it.
            bad = COMPARE[rule.operator](reading, rule.clear_value)
            return Verdict(
                "failed" if bad else "passed",
                f"{gate.metric} = {reading:g} {'still' if bad else 'no longer'} "
                f"{rule.operator.value} {rule.clear_value:g} ({gate.rule})",
            )
        return Verdict("pending", f"rule {gate.rule} ({rule.kind}) cannot judge a single reading")
    if gate.operator is None or gate.value is None or isinstance(reading, str):
        return Verdict("pending", f"gate {gate.key} has no bound to check")
    ok = COMPARE[Operator(gate.operator)](reading, gate.value)
    return Verdict(
        "passed" if ok else "failed",
        f"{gate.metric} = {reading:g}, needs {gate.operator} {gate.value:g}",
    )
