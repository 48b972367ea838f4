"""The bankroll every cap, loss limit and size is computed on: ONE definition, used by the risk engine, the
daemon's sizing, `milkbot risk show` and `milkbot status`.

    enforced bankroll = min(configured bankroll, cash the exchange last reported)

The configured bankroll is the most the owner means to risk; the exchange's cash is what is really there. A
$1 M simulator account therefore sizes on the $5,000 configured, and a $3,000 account on $3,000. A failed or
implausible balance read (negative, not finite, not a number) keeps the last cash that was read; before any
read succeeded the bankroll is unknown (`None`) and the risk engine refuses every order (fail closed).

The daemon records the cash it read in its heartbeat (`detail.bankroll`), so the CLI computes the same value
with the same function, never a re-derivation. Never reads the exchange or the clock itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any


@dataclass(frozen=True)
class Bankroll:
    configured: Decimal
    exchange_cash: Decimal | None      # the last plausible cash read from the exchange; None = never read
    cash_read_at: datetime | None = None

    @property
    def enforced(self) -> Decimal | None:
        """What the caps are sized on; None = unknown (no order may be sent)."""
        return enforced_bankroll(self.configured, self.exchange_cash)

    @property
    def basis(self) -> str:
        """Which of the two bounds the enforced bankroll is: configured | exchange cash | unknown."""
        if self.exchange_cash is None:
            return "unknown"
        return "configured" if self.configured <= self.exchange_cash else "exchange cash"

    def describe(self) -> str:
        """One line for the operator, e.g. 'bankroll $5000.00 (configured $5000.00; exchange cash $1000000.00 …)'."""
        if self.exchange_cash is None:
            return (f"bankroll unknown: exchange cash never read (configured ${self.configured:.2f}); "
                    "no order is sent until the daemon reads the balance")
        at = f" at {self.cash_read_at:%Y-%m-%d %H:%MZ}" if self.cash_read_at else ""
        return (f"bankroll ${self.enforced:.2f} = the lower of configured ${self.configured:.2f} and exchange cash"
                f" ${self.exchange_cash:.2f} (read{at})")

    def to_json(self) -> dict[str, Any]:
        return {"configured": str(self.configured),
                "exchange_cash": None if self.exchange_cash is None else str(self.exchange_cash),
                "cash_read_at": self.cash_read_at.isoformat() if self.cash_read_at else None,
                "enforced": None if self.enforced is None else str(self.enforced), "basis": self.basis}


def enforced_bankroll(configured: Decimal, exchange_cash: Decimal | None) -> Decimal | None:
    """THE definition: the configured bankroll, never more than the exchange's cash; None when cash is unknown."""
    if exchange_cash is None:
        return None
    return min(configured, exchange_cash)


def plausible_cash(value: Any) -> Decimal | None:
    """The exchange's cash as an exact Decimal, or None when it is not a finite amount >= 0."""
    try:
        cash = value if isinstance(value, Decimal) else Decimal(str(value))
    except (InvalidOperation, ValueError, TypeError):
        return None
    return cash if cash.is_finite() and cash >= 0 else None


class BankrollTracker:
    """The daemon's view: the configured bankroll plus the last plausible cash the exchange reported."""

    def __init__(self, configured: Decimal) -> None:
        self._current = Bankroll(configured, None)

    def observe(self, cash: Any, at: datetime) -> bool:
        """Record a balance read; False (and the last known cash kept) when the value is implausible."""
        value = plausible_cash(cash)
        if value is None:
            return False
        self._current = Bankroll(self._current.configured, value, at)
        return True

    @property
    def current(self) -> Bankroll:
        return self._current

    def enforced(self) -> Decimal | None:
        return self._current.enforced


def from_heartbeat(configured: Decimal, detail: dict[str, Any] | None) -> Bankroll:
    """The bankroll as the daemon last enforced it, from its heartbeat detail (unknown when it never read cash)."""
    recorded = (detail or {}).get("bankroll") or {}
    cash = plausible_cash(recorded.get("exchange_cash")) if recorded.get("exchange_cash") is not None else None
    at = recorded.get("cash_read_at")
    read_at = datetime.fromisoformat(at) if isinstance(at, str) else None
    return Bankroll(configured, cash, read_at)
