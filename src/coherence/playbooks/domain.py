"""The classification scheme as data, and the pure rules that apply it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from coherence.errors import ValidationFailed


@dataclass(frozen=True)
class Level:
    """An impact or urgency level."""

    key: str
    name: str
    criteria: str


@dataclass(frozen=True)
class Severity:
    """A severity level; rank 1 is the worst."""

    key: str
    name: str
    rank: int
    criteria: str
    checklist: tuple[str, ...]


@dataclass(frozen=True)
class Category:
    """An incident category and its base checklist."""

    key: str
    name: str
    description: str
    checklist: tuple[str, ...]


@dataclass(frozen=True)
class ClassificationScheme:
    """Categories, severities and the impact x urgency matrix that picks a severity."""

    categories: Mapping[str, Category]
    severities: Mapping[str, Severity]
    impacts: Mapping[str, Level]
    urgencies: Mapping[str, Level]
    matrix: Mapping[tuple[str, str], str]

    def severity_for(self, *, impact: str, urgency: str) -> Severity:
        """Return the severity for an impact and urgency, naming the bad one if unknown."""
        if impact not in self.impacts:
            raise ValidationFailed(
                f"unknown impact {impact!r}; use one of {', '.join(self.impacts)}",
                field="impact",
            )
        if urgency not in self.urgencies:
            raise ValidationFailed(
                f"unknown urgency {urgency!r}; use one of {', '.join(self.urgencies)}",
                field="urgency",
            )
        return self.severities[self.matrix[(impact, urgency)]]

    def category(self, key: str) -> Category:
        """Return a category, naming the valid ones if ``key`` is unknown."""
        try:
            return self.categories[key]
        except KeyError:
            raise ValidationFailed(
                f"unknown category {key!r}; use one of {', '.join(self.categories)}",
                field="category",
            ) from None

    def checklist(self, *, category: str, severity: str) -> list[str]:
        """Return the checklist for one class: the category's items, then the severity's.

        An incident run from a playbook takes only the severity's items: the playbook's own
        steps are its category-specific checklist.
        """
        return [*self.category(category).checklist, *self.severities[severity].checklist]

    def at_least(self, severity: str, threshold: str) -> bool:
        """Return whether ``severity`` is as bad as ``threshold`` or worse."""
        return self.severities[severity].rank <= self.severities[threshold].rank


def parse_scheme(raw: Mapping[str, Any]) -> ClassificationScheme:
    """Build a scheme from its YAML shape, checking that the matrix is complete."""
    impacts = {
        item["key"]: Level(item["key"], item["name"], item["criteria"]) for item in raw["impacts"]
    }
    urgencies = {
        item["key"]: Level(item["key"], item["name"], item["criteria"]) for item in raw["urgencies"]
    }
    severities = {
        item["key"]: Severity(
            item["key"], item["name"], rank, item["criteria"], tuple(item.get("checklist", ()))
        )
        for rank, item in enumerate(raw["severities"], start=1)
    }
    categories = {
        item["key"]: Category(
            item["key"], item["name"], item["description"], tuple(item.get("checklist", ()))
        )
        for item in raw["categories"]
    }
    matrix: dict[tuple[str, str], str] = {}
    for impact, row in raw["matrix"].items():
        for urgency, severity in row.items():
            matrix[(impact, urgency)] = severity
    missing = [(i, u) for i in impacts for u in urgencies if (i, u) not in matrix]
    unknown = sorted({s for s in matrix.values() if s not in severities})
    if missing or unknown:
        raise ValueError(f"classification matrix incomplete {missing} or names unknown {unknown}")
    return ClassificationScheme(categories, severities, impacts, urgencies, matrix)


@cache
def standard_scheme() -> ClassificationScheme:
    """Return the classification scheme that ships with Coherence."""
    text = resources.files("coherence.playbooks").joinpath("data/classification.yaml").read_text()
    return parse_scheme(yaml.safe_load(text))


@cache
def glossary() -> tuple[tuple[str, str, str], ...]:
    """Return the shared glossary as (term, precise definition, plain-language definition)."""
    text = resources.files("coherence.playbooks").joinpath("data/glossary.yaml").read_text()
    return tuple((t["term"], t["definition"], t["plain"]) for t in yaml.safe_load(text)["terms"])
