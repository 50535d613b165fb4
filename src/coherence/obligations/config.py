"""Load the obligations in force: the shipped file, or the one COHERENCE_OBLIGATIONS_FILE names."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
from pathlib import Path

from coherence.documents import load_yaml_file, load_yaml_mapping
from coherence.obligations.domain import ObligationSet, parse_obligations
from coherence.playbooks.domain import standard_scheme
from coherence.settings import Settings

SHIPPED_SOURCE = "the shipped obligations (obligations/data/obligations.yaml)"

# Parsed files by (path, modification time, size): a changed file is read again.
_parsed: dict[tuple[str, int, int], ObligationSet] = {}


def load_obligations(path: Path | None = None) -> ObligationSet:
    """Read and validate the obligations file at ``path``, or the shipped one when None."""
    if path is None:
        return _shipped()
    try:
        stat = path.stat()
    except OSError:
        stat = None
    key = (str(path), stat.st_mtime_ns, stat.st_size) if stat else None
    if key is not None and key in _parsed:
        return _parsed[key]
    found = _parse(load_yaml_file(path), source=str(path))
    if key is not None:
        _parsed.clear()
        _parsed[key] = found
    return found


def for_settings(settings: Settings) -> ObligationSet:
    """Return the obligations the settings choose."""
    return load_obligations(settings.obligations_file)


@cache
def _shipped() -> ObligationSet:
    text = resources.files("coherence.obligations").joinpath("data/obligations.yaml").read_bytes()
    return _parse(load_yaml_mapping(text, source=SHIPPED_SOURCE), source=SHIPPED_SOURCE)


def _parse(data: dict[str, object], *, source: str) -> ObligationSet:
    scheme = standard_scheme()
    return parse_obligations(
        dict(data),
        source=source,
        severities=list(scheme.severities),
        categories=list(scheme.categories),
    )


@cache
def severity_ranks() -> Mapping[str, int]:
    """Rank of each severity of the shipped classification scheme; 1 is the worst."""
    return {key: severity.rank for key, severity in standard_scheme().severities.items()}
