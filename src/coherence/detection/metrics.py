"""The metric dictionary: each metric's canonical unit and kind, and unit normalisation."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from functools import cache
from importlib import resources
from typing import Annotated

from pydantic import Field, StringConstraints, model_validator

from coherence.detection.samples import Sample
from coherence.documents import Key, StrictDocument, load_yaml_mapping, validate_document

UnitName = Annotated[str, StringConstraints(min_length=1, max_length=16)]
# Larger magnitudes are no physical reading we track, and their differences and rates would
# lose all precision or overflow in the rule engine.
MAX_ABS_VALUE = 1e15
MAX_STATE_CHARS = 64


class MetricKind(StrEnum):
    """Whether a metric carries a measured number or a discrete state."""

    NUMERIC = "numeric"
    STATE = "state"


@dataclass(frozen=True, slots=True)
class MetricSpec:
    """One entry of the dictionary, with the units it accepts resolved."""

    key: str
    unit: str
    kind: MetricKind
    description: str
    aliases: tuple[str, ...]
    conversions: Mapping[str, float]
    states: Mapping[str, str]

    def factor(self, unit: str) -> float | None:
        """Return the factor that turns a value in ``unit`` into the canonical unit, or None."""
        if unit in self.aliases:
            return 1.0
        return self.conversions.get(unit)

    def accepted_units(self) -> list[str]:
        """List every unit string this metric accepts, canonical first."""
        return [*self.aliases, *self.conversions]


class _UnitDoc(StrictDocument):
    aliases: list[UnitName] = Field(min_length=1)
    conversions: dict[UnitName, float] = Field(default_factory=dict)


class _MetricDoc(StrictDocument):
    key: Key
    unit: UnitName
    kind: MetricKind
    description: str = Field(min_length=1)
    states: dict[str, str] = Field(default_factory=dict)


class _DictionaryDoc(StrictDocument):
    units: dict[UnitName, _UnitDoc]
    metrics: list[_MetricDoc]

    @model_validator(mode="after")
    def _consistent(self) -> _DictionaryDoc:
        keys = [m.key for m in self.metrics]
        repeated = sorted({k for k in keys if keys.count(k) > 1})
        unknown = sorted({m.unit for m in self.metrics if m.unit not in self.units})
        if repeated or unknown:
            raise ValueError(f"repeated metric keys {repeated} or undeclared units {unknown}")
        for name, unit in self.units.items():
            if name not in unit.aliases or set(unit.aliases) & set(unit.conversions):
                raise ValueError(
                    f"unit {name}: list itself first in aliases, never as a conversion"
                )
            if any(not (math.isfinite(f) and f > 0) for f in unit.conversions.values()):
                raise ValueError(f"unit {name}: conversion factors must be finite and positive")
        return self


def parse_dictionary(text: str | bytes, *, source: str) -> dict[str, MetricSpec]:
    """Parse a metric dictionary document into specs keyed by metric."""
    doc = validate_document(_DictionaryDoc, load_yaml_mapping(text, source=source), source=source)
    specs = {}
    for item in doc.metrics:
        unit = doc.units[item.unit]
        specs[item.key] = MetricSpec(
            key=item.key,
            unit=item.unit,
            kind=item.kind,
            description=item.description,
            aliases=(item.unit, *[a for a in unit.aliases if a != item.unit]),
            conversions=dict(unit.conversions),
            states=dict(item.states),
        )
    return specs


@cache
def dictionary() -> Mapping[str, MetricSpec]:
    """Return the metric dictionary that ships with Coherence, keyed by metric."""
    text = resources.files("coherence.detection").joinpath("data/metrics.yaml").read_bytes()
    return parse_dictionary(text, source="detection/data/metrics.yaml")


def metric(key: str) -> MetricSpec | None:
    """Return the dictionary entry for ``key``, or None if the metric is unknown."""
    return dictionary().get(key)


def unit_problem(spec: MetricSpec, unit: str) -> str:
    """Say why ``unit`` is wrong for ``spec``, naming the expected unit and the accepted ones."""
    accepted = ", ".join(repr(u) for u in spec.accepted_units())
    return f"{spec.key} is measured in {spec.unit!r}, not {unit[:16]!r}; accepted units: {accepted}"


def resolve_unit(key: str, unit: str) -> tuple[MetricSpec, float] | str:
    """Return the metric's spec and the factor to its canonical unit, or why it cannot be had."""
    spec = dictionary().get(key)
    if spec is None:
        return f"unknown metric {key!r}; it is not in the metric dictionary"
    factor = spec.factor(unit)
    if factor is None:
        return unit_problem(spec, unit)
    return spec, factor


def check_value(spec: MetricSpec, value: float | str) -> str | None:
    """Return why ``value`` cannot be a reading of ``spec``, or None if it can."""
    if isinstance(value, str):
        if spec.kind is MetricKind.NUMERIC:
            return f"{spec.key} is numeric; send a number, not the string {value[:40]!r}"
        if not value or len(value) > MAX_STATE_CHARS or not value.isprintable():
            return f"a state must be 1-{MAX_STATE_CHARS} printable characters"
        return None
    if isinstance(value, bool):
        return "value must be a number or a string, not a boolean"
    if not math.isfinite(value):
        return f"value must be a finite number, not {value}"
    if abs(value) > MAX_ABS_VALUE:
        return f"value {value:g} is beyond the accepted magnitude {MAX_ABS_VALUE:g}"
    if spec.kind is MetricKind.STATE and not float(value).is_integer():
        return f"{spec.key} is a state; send an integer code or a name, not {value}"
    return None


def normalise(sample: Sample) -> Sample | str:
    """Return ``sample`` in its metric's canonical unit, or a message saying what is wrong."""
    resolved = resolve_unit(sample.metric, sample.unit)
    if isinstance(resolved, str):
        return resolved
    spec, factor = resolved
    value = sample.value
    if factor != 1.0 and not isinstance(value, str) and not isinstance(value, bool):
        value = value * factor
    problem = check_value(spec, value)
    if problem is not None:
        return problem
    if value is sample.value and sample.unit == spec.unit:
        return sample
    return dataclasses.replace(sample, value=value, unit=spec.unit)
