"""The order state machine (owner spec 17: NEW → SUBMITTED → RESTING → PARTIAL → FILLED, or CANCELED/REJECTED).

States (stored lower-case in `ops.orders.state`; every change is one `ops.order_events` row):
- `new`       intent committed, order not (known to be) at the exchange; may be sent with its fixed client id
- `submitted` the create request is being sent (written BEFORE the HTTP call)
- `unknown`   the create outcome was lost (timeout, reset, 5xx); resolved only by looking the order up
- `resting`   on the book, nothing filled;  `partial`: on the book, partly filled
- `filled`    executed in full;  `canceled`: cancelled/expired (may carry fills);  `rejected`: refused by the exchange
- `closed`    withdrawn before it ever reached the exchange (stale after a restart, superseded before send)
Pure: no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Literal

OrderState = Literal["new", "submitted", "unknown", "resting", "partial", "filled", "canceled", "rejected", "closed"]

# States that may still hold or create exchange exposure: risk counts them as pending, and at most one may
# exist per intent key at any time.
OPEN_STATES: frozenset[str] = frozenset({"new", "submitted", "unknown", "resting", "partial"})
# States where an order may exist on the exchange that we have not confirmed yet.
UNCERTAIN_STATES: frozenset[str] = frozenset({"submitted", "unknown"})
ON_BOOK_STATES: frozenset[str] = frozenset({"resting", "partial"})
TERMINAL_STATES: frozenset[str] = frozenset({"filled", "canceled", "rejected", "closed"})

_ALLOWED: dict[str, frozenset[str]] = {
    "new": frozenset({"submitted", "closed", "resting", "partial", "filled", "canceled", "rejected"}),
    "submitted": frozenset({"unknown", "resting", "partial", "filled", "canceled", "rejected", "new"}),
    "unknown": frozenset({"resting", "partial", "filled", "canceled", "rejected", "new"}),
    "resting": frozenset({"partial", "filled", "canceled"}),
    "partial": frozenset({"partial", "filled", "canceled"}),
    "filled": frozenset(),
    "canceled": frozenset(),
    "rejected": frozenset(),
    "closed": frozenset(),
}


class IllegalTransition(RuntimeError):
    """A state change the machine does not allow; reconciliation records it as a discrepancy instead."""


def is_allowed(from_state: str | None, to_state: str) -> bool:
    if from_state is None:
        return to_state == "new"
    if from_state == to_state:
        return True  # a count/fee update without a state change
    return to_state in _ALLOWED.get(from_state, frozenset())


def check_transition(from_state: str | None, to_state: str) -> None:
    if not is_allowed(from_state, to_state):
        raise IllegalTransition(f"order state {from_state!r} → {to_state!r} is not allowed")


def state_from_exchange(status: str, fill_count: Decimal, remaining_count: Decimal) -> OrderState:
    """Map an exchange order (`resting`|`canceled`|`executed`, legacy `pending`) to our state."""
    if status == "executed":
        return "filled"
    if status == "canceled":
        return "canceled"
    if status in ("resting", "pending"):
        return "partial" if fill_count > 0 else "resting"
    raise ValueError(f"unknown exchange order status {status!r}")
