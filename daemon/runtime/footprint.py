"""Each strategy's footprint in the markets in play, read from the ledger once per fast cycle.

The footprint is what a strategy is told about itself (filled position, live orders, whether it ever had an
intent in a market) and what its risk budget is measured on (the cost of its filled and resting contracts).
The strategy is the intent key's purpose; the taker's purpose is `entry` (the key it always had).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from daemon.ledger.db import Database
from daemon.strategies.base import OwnState
from daemon.trading.order_state import ON_BOOK_STATES, OPEN_STATES

TAKER_PURPOSE = "entry"


def purpose_of(strategy: str) -> str:
    return TAKER_PURPOSE if strategy == "taker" else strategy


def strategy_of_key(intent_key: str) -> str:
    purpose = intent_key.rsplit(":", 1)[-1]
    return "taker" if purpose == TAKER_PURPOSE else purpose


@dataclass(frozen=True)
class Footprint:
    own: dict[tuple[str, str], OwnState]           # (ticker, strategy) → state
    positions: dict[str, Decimal]                  # ticker → signed YES contracts, all strategies
    at_stake: dict[str, Decimal]                   # strategy → cost of filled + resting contracts

    def for_event(self, tickers: Iterable[str]) -> tuple[dict[tuple[str, str], OwnState], dict[str, Decimal]]:
        wanted = set(tickers)
        return ({k: v for k, v in self.own.items() if k[0] in wanted},
                {t: p for t, p in self.positions.items() if t in wanted})


def read_footprint(db: Database, climate_days: Iterable[date]) -> Footprint:
    days = sorted(set(climate_days))
    if not days:
        return Footprint({}, {}, {})
    marks = ", ".join("?" * len(days))
    orders = db.query(
        "SELECT intent_key, ticker, side, action, state, filled_count, remaining_count, limit_price"
        f" FROM ops.orders WHERE climate_day IN ({marks}) ORDER BY id", days)
    placed = db.query(f"SELECT DISTINCT intent_key, ticker FROM ops.intents WHERE climate_day IN ({marks})", days)
    position: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    resting: dict[tuple[str, str], list[tuple[str, Decimal, Decimal]]] = defaultdict(list)
    positions: dict[str, Decimal] = defaultdict(Decimal)
    at_stake: dict[str, Decimal] = defaultdict(Decimal)
    for row in orders:
        strategy = strategy_of_key(row["intent_key"])
        key = (row["ticker"], strategy)
        filled = Decimal(row["filled_count"])
        sign = 1 if (row["side"] == "yes") == (row["action"] == "buy") else -1
        position[key] += sign * filled
        positions[row["ticker"]] += sign * filled
        remaining = Decimal(row["remaining_count"]) if row["state"] in OPEN_STATES else Decimal(0)
        if row["state"] in ON_BOOK_STATES | {"new", "submitted", "unknown"} and remaining > 0:
            resting[key].append((row["side"], Decimal(row["limit_price"]), remaining))
        if row["action"] == "buy":
            at_stake[strategy] += (filled + remaining) * Decimal(row["limit_price"])
    keys = set(position) | set(resting) | {(r["ticker"], strategy_of_key(r["intent_key"])) for r in placed}
    own = {k: OwnState(position.get(k, Decimal(0)), tuple(resting.get(k, ())), True) for k in keys}
    return Footprint(own, dict(positions), dict(at_stake))
