"""Hypothesis strategies shared by the fuzz tests: hostile scalars, JSON, and mutated documents."""

from __future__ import annotations

import copy
import os
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from coherence.errors import ValidationFailed

T = TypeVar("T")
# CI runs a few examples per test; FUZZ_SCALE=50 runs fifty times as many, for a long hunt.
SCALE = float(os.environ.get("FUZZ_SCALE", "1"))


def outcome(call: Callable[[], T], *refusals: type[Exception]) -> T | Exception:
    """What ``call`` returned, or the refusal it raised (ValidationFailed unless named)."""
    expected = refusals or (ValidationFailed,)
    try:
        return call()
    except expected as exc:
        return exc


def bounded(examples: int) -> settings:
    """Hypothesis settings for ``examples`` examples (times FUZZ_SCALE) and no deadline."""
    return settings(
        max_examples=max(1, int(examples * SCALE)),
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
    )


# Values that have broken parsers before: YAML's implicit types, numbers beyond 64 bits or
# a float, control characters, Unicode digits that str.isdigit accepts but int() refuses.
TRICKY_TEXT = [
    "",
    " ",
    "~",
    "null",
    "yes",
    "NO",
    "1e400",
    "-0",
    ".nan",
    "0x1F",
    "\x00",
    "\x7f",
    "\ufeff",
    "\u2028",
    "²",
    "٣",
    "a" * 300,
    "<script>",
    "../../etc/passwd",
    "2026-01-05T10:00:00Z",
    "2026-02-30",
    "0001-01-01T00:00:00+01:00",
    "9999-12-31T23:59:59-23:59",
    "fridge-1",
    "lab",
    "sev1",
]
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=40),
    st.sampled_from(TRICKY_TEXT),
)
finite_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=40),
    st.sampled_from(TRICKY_TEXT),
)


def json_like(leaves: st.SearchStrategy[Any] = scalars) -> st.SearchStrategy[Any]:
    """Nested lists and string-keyed objects over ``leaves``."""
    return st.recursive(
        leaves,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(
                st.text(max_size=12) | st.sampled_from(TRICKY_TEXT), inner, max_size=4
            )
        ),
        max_leaves=12,
    )


def _slots(node: Any) -> Iterator[tuple[Any, Any]]:
    """Every (container, key or index) inside ``node``, depth first."""
    if isinstance(node, dict):
        for key, value in node.items():
            yield node, key
            yield from _slots(value)
    elif isinstance(node, list):
        for index, value in enumerate(node):
            yield node, index
            yield from _slots(value)


@st.composite
def mutated(
    draw: st.DrawFn,
    document: Any,
    leaves: st.SearchStrategy[Any] = scalars,
    names: tuple[str, ...] = (),
) -> Any:
    """``document`` with one to three nodes replaced, removed, duplicated or added.

    Starting from a valid document keeps most examples deep inside the parser, past the
    checks a random document never gets beyond. ``names`` are field names worth adding.
    """
    doc = copy.deepcopy(document)
    values = json_like(leaves)
    for _ in range(draw(st.integers(1, 3))):
        slots = list(_slots(doc))
        if not slots:
            break
        container, key = draw(st.sampled_from(slots))
        action = draw(st.sampled_from(["replace", "replace", "delete", "duplicate", "add"]))
        if action == "replace":
            container[key] = draw(values)
        elif action == "delete":
            del container[key]
        elif action == "duplicate" and isinstance(container, list):
            container.append(copy.deepcopy(container[key]))
        elif isinstance(container[key], dict):
            name = draw(st.sampled_from(names) | st.text(max_size=10)) if names else draw(st.text())
            container[key][name] = draw(values)
        else:
            container[key] = draw(values)
    return doc
