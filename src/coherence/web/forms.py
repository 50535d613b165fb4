"""Form input for the dashboard: checked with the API's own schemas, errors that name the field."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails
from starlette.responses import RedirectResponse, Response

from coherence.access.api import Caller
from coherence.errors import CoherenceError, ValidationFailed
from coherence.incidents.domain import reference
from coherence.web.rendering import render_incident

Model = TypeVar("Model", bound=BaseModel)

LABELS = {
    "text": "The note text",
    "decision": "The decision",
    "rationale": "The rationale",
    "decided_by": "Decided by",
    "reason": "The reason",
    "status": "The status",
    "note": "The note",
    "how": "How it was verified",
    "precondition": "The precondition number",
    "procedure": "The procedure",
    "risk": "The risk",
    "assets": "The assets",
    "gate": "The gate",
    "passed": "Passed or failed",
    "metric": "The metric",
    "value": "The value",
    "unit": "The unit",
    "also": "Also down",
    "parts": "Parts needed",
    "role": "The role",
    "person": "The person",
    "override_reason": "The reason to override the qualification check",
}


def parse(model: type[Model], **fields: object) -> Model:
    """Validate form fields with ``model``; raise ValidationFailed naming the first bad field."""
    present = {name: value for name, value in fields.items() if value is not None}
    try:
        return model.model_validate(present)
    except ValidationError as exc:
        first = exc.errors()[0]
        if not first["loc"]:
            # A rule across fields: its own message says what is wrong.
            raise ValidationFailed(_problem(first), field="form") from None
        field = ".".join(str(part) for part in first["loc"])
        label = LABELS.get(field) or LABELS.get(str(first["loc"][0]), field)
        raise ValidationFailed(f"{label} ({field}) {_problem(first)}", field=field) from None


def lines(text: str | None) -> list[str]:
    """One item per non-blank line of a text area."""
    return [line.strip() for line in (text or "").splitlines() if line.strip()]


def words(text: str | None) -> list[str]:
    """Items separated by commas or white space, as typed in one field."""
    return (text or "").replace(",", " ").split()


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
    if kind == "value_error" and "error" in context:
        return str(context["error"])
    return str(error["msg"]).lower()


def act(
    request: Request,
    caller: Caller,
    change: Callable[[], object],
    *,
    values: dict[str, str | None] | None = None,
    anchor: str = "",
) -> Response:
    """Apply ``change`` on the caller's incident and go back to its page at ``anchor``; if it is
    refused, show the page again with the error (and the typed ``values``), writing nothing."""
    incident_id = caller.target.id
    try:
        change()
        caller.session.flush()
    except CoherenceError as error:
        # The session commits after the endpoint; roll back so a refused change writes nothing.
        caller.session.rollback()
        return render_incident(
            request, caller.session, caller, incident_id, error=error, values=values
        )
    return RedirectResponse(f"/incidents/{reference(incident_id)}{anchor}", status_code=303)
