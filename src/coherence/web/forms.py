"""Form input for the dashboard: checked with the API's own schemas, errors that name the field."""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

from coherence.errors import ValidationFailed

Model = TypeVar("Model", bound=BaseModel)

LABELS = {
    "text": "The note text",
    "decision": "The decision",
    "rationale": "The rationale",
    "decided_by": "Decided by",
    "reason": "The reason",
    "status": "The status",
    "note": "The note",
}


def parse(model: type[Model], **fields: str | None) -> Model:
    """Validate form fields with ``model``; raise ValidationFailed naming the first bad field."""
    present = {name: value for name, value in fields.items() if value is not None}
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "form"
        label = LABELS.get(field, field)
        raise ValidationFailed(f"{label} ({field}) {_problem(first)}", field=field) from None


def _problem(error: ErrorDetails) -> str:
    context: dict[str, Any] = dict(error.get("ctx") or {})
    kind = error["type"]
    if kind == "missing":
        return "is required"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "string_too_long":
        return f"is too long: at most {context.get('max_length')} characters"
    if kind == "enum":
        return f"must be one of {context.get('expected')}"
    return str(error["msg"]).lower()
