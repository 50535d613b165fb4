"""Read YAML documents safely and turn validation failures into path-named errors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any, TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, StringConstraints
from pydantic import ValidationError as PydanticValidationError

from coherence.errors import NotFound, ValidationFailed

MAX_DOCUMENT_BYTES = 5_000_000
ModelT = TypeVar("ModelT", bound=BaseModel)

Key = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9._-]*$"),
]


class StrictDocument(BaseModel):
    """Base of every hand-written document section: unknown fields are errors, not ignored."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# The C loader is several times faster; the pure-Python one is the fallback where it is missing.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _refuse_aliases(text: str | bytes) -> None:
    # Aliases let a small document expand without bound ("billion laughs"); nobody needs them.
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent):
            raise yaml.MarkedYAMLError(
                problem="YAML aliases (*name) are not accepted; write the value out in full",
                problem_mark=event.start_mark,  # type: ignore[arg-type]
            )


def load_yaml_mapping(text: str | bytes, *, source: str) -> dict[str, Any]:
    """Parse ``text`` as one YAML mapping, or raise ValidationFailed saying where it broke."""
    if len(text) > MAX_DOCUMENT_BYTES:
        raise ValidationFailed(
            f"{source} is {len(text)} bytes; the limit is {MAX_DOCUMENT_BYTES}", field=source
        )
    try:
        _refuse_aliases(text)
        data = yaml.load(text, Loader=_SafeLoader)  # noqa: S506 - a safe loader
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        raise ValidationFailed(
            f"{source} is not valid YAML{where}: {exc.problem}", field=source
        ) from None
    except yaml.YAMLError as exc:
        raise ValidationFailed(f"{source} is not valid YAML: {exc}", field=source) from None
    if not isinstance(data, dict):
        raise ValidationFailed(
            f"{source} must be a YAML mapping at the top level, not {type(data).__name__}",
            field=source,
        )
    return data


def load_yaml_file(path: Path) -> dict[str, Any]:
    """Read a YAML file into a mapping, with clear errors for a missing or bad file."""
    if not path.is_file():
        raise NotFound(f"no such file: {path}", field="file")
    return load_yaml_mapping(path.read_bytes(), source=str(path))


def format_location(location: Sequence[int | str]) -> str:
    """Render a pydantic error location as a document path like ``assets[3].site``."""
    path = ""
    for part in location:
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "(document)"


# Discriminated unions put the tag (e.g. "threshold") into the error path; it only confuses.
TRIGGER_TAGS = frozenset({"threshold", "rate", "state", "bits", "absence", "anomaly", "correlated"})


def validation_problems(exc: PydanticValidationError) -> list[dict[str, str]]:
    """List each problem in a pydantic error as ``{"path", "message"}``."""
    problems = []
    for error in exc.errors(include_url=False):
        location = [part for part in error["loc"] if part not in TRIGGER_TAGS]
        problems.append({"path": format_location(location), "message": error["msg"]})
    return problems


def validate_document(model: type[ModelT], data: dict[str, Any], *, source: str) -> ModelT:
    """Validate ``data`` against ``model`` or raise ValidationFailed listing every problem."""
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise problems_error(source, validation_problems(exc)) from None


def problems_error(source: str, problems: list[dict[str, str]]) -> ValidationFailed:
    """Return one ValidationFailed that lists every problem found in ``source``."""
    summary = "; ".join(f"{p['path']}: {p['message']}" for p in problems[:5])
    more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
    return ValidationFailed(
        f"{source} has {len(problems)} problem(s): {summary}{more}",
        field=source,
        problems=problems,
    )
