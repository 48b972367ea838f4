"""Order intents: what the daemon wants to hold, and the client order id derived from it.

An intent is identified by `intent_key` (city, market, side, action, climate day, purpose) and a `version` that
increments on every reprice or resize. The client order id is a pure function of (namespace, intent_key, version),
so a process that crashes and restarts derives the same id and the exchange's duplicate-id check (409) can never
let a second order through for the same intent version. Pure: no I/O, no clock.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from typing import Literal

from daemon.money import parse_decimal

Side = Literal["yes", "no"]
Action = Literal["buy", "sell"]
BookSide = Literal["bid", "ask"]

# Kalshi documents client_order_id as a free string and uses UUID4s in its examples; the safe shape is therefore
# a canonical 36-character UUID (hex + hyphens). We derive a name-based UUID (v5) so it is deterministic.
_ID_NAMESPACE = uuid.UUID("6f1c4d8e-2b7a-5c1e-9a3d-7e5b0c2f4a91")
DEFAULT_ID_NAMESPACE = "milkbot"

_TICKER_DAY = re.compile(r"^[A-Z0-9]+-(?P<yy>\d{2})(?P<mon>[A-Z]{3})(?P<dd>\d{2})(?:-|$)")
_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
_KEY_PART = re.compile(r"^[A-Za-z0-9._\-]+$")


class IntentError(ValueError):
    """An intent is malformed (bad side, price off the 0–1 range, non-positive count, …)."""


def client_order_id_for(intent_key: str, version: int, namespace: str = DEFAULT_ID_NAMESPACE) -> str:
    """The deterministic client order id of one intent version (a UUID string, 36 characters).

    `namespace` separates ledgers that share one exchange account (e.g. a wiped dev ledger), so their ids
    never collide with ids the exchange has already reserved.
    """
    if version < 1:
        raise IntentError(f"intent version must be >= 1, got {version}")
    return str(uuid.uuid5(_ID_NAMESPACE, f"{namespace}|{intent_key}|v{version}"))


def make_intent_key(ticker: str, side: str, action: str, climate_day: date, purpose: str = "entry") -> str:
    """`<ticker>:<side>:<action>:<climate_day>:<purpose>`; the ticker already names city, market and day."""
    for name, part in (("ticker", ticker), ("side", side), ("action", action), ("purpose", purpose)):
        if not part or not _KEY_PART.match(part):
            raise IntentError(f"intent key part {name}={part!r} must be non-empty [A-Za-z0-9._-]")
    return f"{ticker}:{side}:{action}:{climate_day.isoformat()}:{purpose}"


def climate_day_from_ticker(ticker: str) -> date | None:
    """The climate day in a market/event ticker (`KXHIGHNY-26SEP23-B84.5` → 2026-09-23); None if absent."""
    match = _TICKER_DAY.match(ticker.upper())
    if not match or match.group("mon") not in _MONTHS:
        return None
    try:
        return date(2000 + int(match.group("yy")), _MONTHS.index(match.group("mon")) + 1, int(match.group("dd")))
    except ValueError:
        return None


def event_ticker_of(ticker: str) -> str:
    """`KXHIGHNY-26SEP23-B84.5` → `KXHIGHNY-26SEP23`."""
    parts = ticker.split("-")
    return "-".join(parts[:2]) if len(parts) >= 2 else ticker


def book_side_and_yes_price(side: str, action: str, price: Decimal) -> tuple[BookSide, Decimal]:
    """Normalise (side, action, price of that side) to Kalshi's single YES book: buy NO at p = ask at 1 − p."""
    buys_yes_exposure = (side == "yes") == (action == "buy")
    yes_price = price if side == "yes" else Decimal(1) - price
    return ("bid" if buys_yes_exposure else "ask"), yes_price


def yes_position_delta(side: str, action: str, count: Decimal) -> Decimal:
    """Signed change of the YES position (NO held is negative) from one fill."""
    book_side, _ = book_side_and_yes_price(side, action, Decimal("0.5"))
    return count if book_side == "bid" else -count


@dataclass(frozen=True)
class Intent:
    """One wanted order. `count` is the total the intent wants filled across all its versions."""

    intent_key: str
    ticker: str
    city_code: str
    climate_day: date
    side: Side
    action: Action
    count: Decimal
    limit_price: Decimal
    version: int = 1
    decision_id: int | None = None
    reason: str | None = None
    time_in_force: Literal["gtc", "ioc", "fok"] = "gtc"
    post_only: bool = False
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    def __post_init__(self) -> None:
        if self.side not in ("yes", "no"):
            raise IntentError(f"{self.intent_key}: side must be yes|no, got {self.side!r}")
        if self.action not in ("buy", "sell"):
            raise IntentError(f"{self.intent_key}: action must be buy|sell, got {self.action!r}")
        try:
            count = parse_decimal(self.count, field="count")
            price = parse_decimal(self.limit_price, field="limit_price")
        except ValueError as exc:
            raise IntentError(f"{self.intent_key}: {exc}") from exc
        if count <= 0 or count != count.quantize(Decimal("0.01")):
            raise IntentError(f"{self.intent_key}: count must be > 0 in steps of 0.01, got {count}")
        if not Decimal(0) < price < Decimal(1):
            raise IntentError(f"{self.intent_key}: limit_price must be inside (0, 1) dollars, got {price}")
        if self.version < 1:
            raise IntentError(f"{self.intent_key}: version must be >= 1")
        object.__setattr__(self, "count", count)
        object.__setattr__(self, "limit_price", price)

    def with_version(self, version: int) -> Intent:
        return replace(self, version=version)

    def same_terms(self, other: Intent) -> bool:
        """Same market, direction, size and price: re-submitting it is a no-op, not a new version."""
        return (self.ticker, self.side, self.action, self.count, self.limit_price, self.time_in_force) == (
            other.ticker,
            other.side,
            other.action,
            other.count,
            other.limit_price,
            other.time_in_force,
        )
