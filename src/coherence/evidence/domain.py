"""Evidence rules without I/O: labels, categories and the custody lifecycle."""

from __future__ import annotations

import re
from datetime import datetime
from enum import StrEnum

from coherence.errors import Conflict

SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")


class CustodyAction(StrEnum):
    """What happened to an item; each is a ledger entry."""

    COLLECTED = "collected"
    TRANSFERRED = "transferred"
    ACCESSED = "accessed"
    SEALED = "sealed"
    RELEASED = "released"
    DESTROYED = "destroyed"


class ItemState(StrEnum):
    """Where an item stands."""

    HELD = "held"
    SEALED = "sealed"
    DESTROYED = "destroyed"


# What each action needs the item to be in, and what it leaves it in.
_ALLOWED: dict[CustodyAction, tuple[frozenset[ItemState], ItemState | None]] = {
    CustodyAction.TRANSFERRED: (frozenset({ItemState.HELD, ItemState.SEALED}), None),
    CustodyAction.ACCESSED: (frozenset({ItemState.HELD}), None),
    CustodyAction.SEALED: (frozenset({ItemState.HELD}), ItemState.SEALED),
    CustodyAction.RELEASED: (frozenset({ItemState.SEALED}), ItemState.HELD),
    CustodyAction.DESTROYED: (frozenset({ItemState.HELD, ItemState.SEALED}), ItemState.DESTROYED),
}


def next_state(state: ItemState, action: CustodyAction) -> ItemState:
    """Return the state ``action`` leaves an item in, or raise Conflict if it may not happen."""
    allowed, after = _ALLOWED[action]
    if state not in allowed:
        hint = {
            ItemState.SEALED: "it is sealed; release it first",
            ItemState.DESTROYED: "it was destroyed; only its record remains",
        }.get(state, f"it is {state.value}")
        raise Conflict(f"cannot mark evidence {action.value}: {hint}", field="action")
    return after or state


def check_not_purged(item_id: int, purged_at: datetime | None) -> None:
    """Raise Conflict if retention purged the item's content: its record and hash remain."""
    if purged_at is not None:
        raise Conflict(
            f"evidence #{item_id} was purged under retention on {purged_at:%Y-%m-%d}; "
            "its record, hash and custody trail remain but its content is gone",
            field="item",
            purged_at=purged_at.isoformat(),
        )
