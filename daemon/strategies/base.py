"""The strategy interface: one small seam between the model's view of an event and the orders we want.

A strategy sees one event (a city's bracket ladder for one climate day) at one decision time: each market's
point-in-time quote and last trade, the model's probability per bracket, what the observations have already
decided, and its own footprint (position and live orders, as the ledger knows it). It answers with one
`MarketDecision` per market: `trade` (want this order: the order manager places, keeps or reprices it),
`hold` (keep whatever of ours rests there, place nothing), `skip` / `blocked` (want nothing there: our live
orders in that market are cancelled).

Strategies are pure: no I/O, no clock, no randomness, so `milkbot replay` recomputes every decision from the
ledger. They never size past the risk engine: the order manager checks every order they want against every cap.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from daemon.settlement.brackets import Bracket

Outcome = Literal["trade", "hold", "skip", "blocked"]
Role = Literal["take", "make"]
Verdict = Literal["lost", "won"]

Q4 = Decimal("0.0001")
Q2 = Decimal("0.01")


@dataclass(frozen=True)
class OwnState:
    """One strategy's footprint in one market: filled position and live orders (ledger view, decision time)."""

    position: Decimal = Decimal(0)                     # signed YES contracts: + YES held, − NO held
    resting: tuple[tuple[str, Decimal, Decimal], ...] = ()   # (side, limit price of that side, remaining)
    placed: bool = False                               # this strategy has had an intent in this market

    def to_json(self) -> dict[str, Any]:
        return {"position": str(self.position), "placed": self.placed,
                "resting": [[s, str(p), str(r)] for s, p, r in self.resting]}

    @classmethod
    def from_json(cls, data: dict[str, Any] | None) -> OwnState:
        if not data:
            return cls()
        return cls(Decimal(data.get("position", "0")),
                   tuple((s, Decimal(p), Decimal(r)) for s, p, r in data.get("resting", [])),
                   bool(data.get("placed", False)))


@dataclass(frozen=True)
class MarketView:
    """What a strategy may know about one market at decision time."""

    ticker: str
    snapshot_id: int | None
    status: str | None
    bracket: Bracket | None
    close_time: datetime | None
    minutes_to_close: float
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask_size: Decimal | None
    last_price: Decimal | None                        # the last trade strictly before the decision time
    p_yes: float | None                               # the model's probability; None when the model is invalid
    decided: Verdict | None                           # what the observations have settled already
    market_position: Decimal                          # all strategies together, signed YES
    own: OwnState

    @property
    def is_open(self) -> bool:
        return self.status in ("active", "open")


@dataclass(frozen=True)
class EventView:
    city_code: str
    climate_day: date
    decided_at: datetime
    markets: tuple[MarketView, ...]
    bankroll: Decimal
    size_multiplier: Decimal
    blocked_by: tuple[str, ...]                        # blocks every strategy (trading state, risk city blocks)
    weather_blocked_by: tuple[str, ...]                # blocks strategies that use the weather
    model_reasons: tuple[str, ...] = ()


@dataclass
class MarketDecision:
    ticker: str
    market_snapshot_id: int | None
    p_yes: float | None
    side: str | None
    price: Decimal | None
    fee_per_contract: Decimal | None
    edge: Decimal | None
    size: Decimal
    outcome: str                                       # trade | hold | skip | blocked
    reasons: list[str]
    features: dict[str, Any] = field(default_factory=dict)
    strategy: str = "taker"
    role: str | None = None                            # take | make, for trade decisions

    def comparable(self) -> dict[str, Any]:
        """The values replay must reproduce, at the ledger's storage precision."""
        return {
            "p_yes": self.p_yes, "side": self.side, "price": _q(self.price, Q4),
            "fee_per_contract": _q(self.fee_per_contract, Q4), "edge": _q(self.edge, Q4),
            "size": _q(self.size, Q2), "outcome": self.outcome,
        }


def _q(value: Decimal | None, quantum: Decimal) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(quantum)


class Strategy(Protocol):
    """A named, configured rule from an event's view to one decision per market."""

    name: str
    uses_weather: bool        # stale or missing weather for the city blocks it

    def decide(self, event: EventView) -> list[MarketDecision]: ...

    def wake_times(self, close_time: datetime) -> tuple[datetime, ...]:
        """Instants this strategy must be asked at for a market closing at `close_time` (backtest schedule)."""
        ...


def decision(strategy: str, market: MarketView, outcome: Outcome, reasons: list[str], *,
             side: str | None = None, price: Decimal | None = None, fee: Decimal | None = None,
             edge: Decimal | None = None, size: Decimal = Decimal(0), role: Role | None = None,
             features: dict[str, Any] | None = None) -> MarketDecision:
    return MarketDecision(ticker=market.ticker, market_snapshot_id=market.snapshot_id, p_yes=market.p_yes,
                          side=side, price=price, fee_per_contract=fee, edge=edge, size=size, outcome=outcome,
                          reasons=reasons, features=dict(features or {}), strategy=strategy, role=role)


def event_blocks(strategy: Strategy, event: EventView) -> list[str]:
    """The blocks that apply to this strategy: every hard block, and the weather's if it uses the weather."""
    return [*event.blocked_by, *(event.weather_blocked_by if strategy.uses_weather else ())]


def finite(p: float | None) -> bool:
    return p is not None and math.isfinite(p)
