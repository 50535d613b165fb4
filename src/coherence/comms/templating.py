"""The one Jinja2 environment message templates render in: sandboxed and bounded."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jinja2 import StrictUndefined, TemplateError, UndefinedError
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

from coherence.errors import ValidationFailed

MAX_RENDERED_CHARS = 50_000
SAFE_FILTERS = (
    "abs",
    "capitalize",
    "default",
    "d",
    "e",
    "escape",
    "first",
    "float",
    "int",
    "join",
    "last",
    "length",
    "list",
    "lower",
    "replace",
    "round",
    "sort",
    "string",
    "striptags",
    "title",
    "tojson",
    "trim",
    "truncate",
    "unique",
    "upper",
    "urlencode",
)


class BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, minus the ways a template could burn memory or CPU.

    The sandbox already refuses attributes that reach Python internals. On top: no
    ``range``, ``lipsum``, ``cycler``, ``joiner`` or ``namespace`` globals (loops can only walk
    the few values a template is given), no ``**`` or ``*`` on strings and lists, and only
    filters whose output is bounded by their input.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.globals.clear()
        # Filters that take a width or count (center, indent, wordwrap, batch...) could make
        # output of any size; only these, whose output is bounded by their input, remain.
        self.filters = {name: self.filters[name] for name in SAFE_FILTERS}

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        """Refuse powers and repetition; do any other intercepted operation as usual."""
        repeats = operator == "*" and any(isinstance(v, str | list | tuple) for v in (left, right))
        if operator == "**" or repeats:
            raise SecurityError(f"the {operator} operator is not available in templates")
        return super().call_binop(context, operator, left, right)


ENVIRONMENT = BoundedSandbox(
    autoescape=False, undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True
)


def render(source: str, context: Mapping[str, Any], *, field: str) -> str:
    """Render a template; an unknown name, a reach for internals or runaway output is refused."""
    try:
        text = ENVIRONMENT.from_string(source).render(**context)
    except SecurityError as exc:
        raise ValidationFailed(
            f"{field} tries something templates may not do: {exc}", field=field
        ) from None
    except UndefinedError as exc:
        raise ValidationFailed(
            f"{field} uses a name that is not available: {exc.message}", field=field
        ) from None
    except (TemplateError, ArithmeticError, MemoryError, RecursionError, TypeError) as exc:
        raise ValidationFailed(f"{field} cannot be rendered: {exc}", field=field) from None
    if len(text) > MAX_RENDERED_CHARS:
        raise ValidationFailed(
            f"{field} renders to {len(text)} characters; the limit is {MAX_RENDERED_CHARS}",
            field=field,
        )
    return text.strip()


# Gateway request bodies: the same bounds, and a misspelt name is an error, not an empty value.
GATEWAY_TEMPLATES = BoundedSandbox(autoescape=False, undefined=StrictUndefined)
GATEWAY_SPECIMEN = {
    "to": "+15555550100",
    "text": "[SEV2] INC-00001 fridge warming. https://coherence.example/ack/x",
    "subject": "[SEV2] INC-00001 fridge warming",
    "body": "INC-00001: fridge warming",
    "message_id": "00000000-0000-0000-0000-000000000000",
    "ack_url": "https://coherence.example/ack/x",
}
