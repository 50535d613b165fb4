"""Playbook triggers compiled into rules the detector evaluates."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from coherence.playbooks.schemas import (
    AbsenceTrigger,
    AnomalyTrigger,
    BitsTrigger,
    CorrelatedTrigger,
    Operator,
    PlaybookDocument,
    RateTrigger,
    StateTrigger,
    ThresholdTrigger,
)


@dataclass(frozen=True, slots=True)
class Rule:
    """One trigger of one playbook, with the playbook's defaults filled in."""

    playbook: str
    trigger: str
    kind: str
    metric: str
    asset_kinds: frozenset[str]
    impact: str
    urgency: str
    operator: Operator | None = None
    value: float = 0.0
    clear_value: float = 0.0
    hold_seconds: float = 0.0
    clear_hold_seconds: float = 0.0
    window_seconds: float = 0.0
    states: frozenset[str] = frozenset()
    mask: int = 0
    silence_seconds: float = 0.0
    direction: str = "both"
    deviations: float = 0.0
    smoothing: float = 0.0
    min_samples: int = 0
    fraction: float = 0.0
    min_parts: int = 0
    description: str = ""


# The category an outside alert gets when it names neither a playbook nor a category.
DEFAULT_CATEGORY_BY_ASSET_KIND = {
    "dilution_refrigerator": "cryogenic",
    "pulse_tube_compressor": "cryogenic",
    "helium_supply": "supply_chain",
    "qubit_processor": "qubit_performance",
    "laser_system": "laser_photonic",
    "vacuum_system": "vacuum",
    "superconducting_magnet": "magnet_safety",
    "qkd_node": "qkd_network",
    "qkd_link": "qkd_network",
    "accelerator": "accelerator",
    "power_feed": "power_cooling",
    "ups": "power_cooling",
    "chiller": "power_cooling",
    "control_rack": "control_system_cyber",
    "control_server": "control_system_cyber",
    "network_segment": "control_system_cyber",
}


def default_category(asset_kind: str) -> str:
    """Return the category for an alert about an asset of ``asset_kind``."""
    return DEFAULT_CATEGORY_BY_ASSET_KIND.get(asset_kind, "data_integrity")


def state_key(value: float | str) -> str:
    """Return the canonical text of a state value, so 6, 6.0 and "6" match alike."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, int):
        return str(value)
    return str(value).strip().upper() if isinstance(value, str) else str(value)


def compile_rules(playbooks: Iterable[PlaybookDocument]) -> list[Rule]:
    """Turn every trigger of every playbook into a Rule."""
    rules: list[Rule] = []
    for playbook in playbooks:
        kinds = frozenset(kind.value for kind in playbook.applies_to)
        for trigger in playbook.triggers:
            base = Rule(
                playbook=playbook.key,
                trigger=trigger.key,
                kind=trigger.kind,
                metric=trigger.metric,
                asset_kinds=kinds,
                impact=trigger.impact or playbook.impact,
                urgency=trigger.urgency or playbook.urgency,
                description=trigger.description,
            )
            rules.append(_with_parameters(base, trigger))
    return rules


def _with_parameters(
    base: Rule,
    trigger: ThresholdTrigger
    | RateTrigger
    | StateTrigger
    | BitsTrigger
    | AbsenceTrigger
    | AnomalyTrigger
    | CorrelatedTrigger,
) -> Rule:
    if isinstance(trigger, ThresholdTrigger):
        clear = trigger.value if trigger.clear_value is None else trigger.clear_value
        return replace(
            base,
            operator=trigger.operator,
            value=trigger.value,
            clear_value=clear,
            hold_seconds=trigger.hold_seconds,
            clear_hold_seconds=trigger.clear_hold_seconds,
        )
    if isinstance(trigger, RateTrigger):
        return replace(
            base,
            operator=trigger.operator,
            value=trigger.value,
            window_seconds=trigger.window_seconds,
        )
    if isinstance(trigger, StateTrigger):
        return replace(
            base,
            states=frozenset(state_key(v) for v in trigger.values),
            hold_seconds=trigger.hold_seconds,
        )
    if isinstance(trigger, BitsTrigger):
        return replace(base, mask=trigger.mask, hold_seconds=trigger.hold_seconds)
    if isinstance(trigger, AbsenceTrigger):
        return replace(base, silence_seconds=trigger.silence_seconds)
    if isinstance(trigger, CorrelatedTrigger):
        return replace(
            base,
            operator=trigger.operator,
            value=trigger.value,
            fraction=trigger.fraction,
            min_parts=trigger.min_parts,
        )
    # A half-life of h samples means each new sample moves the baseline by 1 - 2**(-1/h).
    return replace(
        base,
        direction=trigger.direction,
        deviations=trigger.threshold,
        smoothing=1 - 2 ** (-1 / trigger.half_life_samples),
        min_samples=trigger.min_samples,
    )
