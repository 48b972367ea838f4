"""Edge after fees for one market, and the execution gates (minimum edge, spread, depth, time to close).

Buying YES at the ask `a`:      edge = p_yes − a − fee(a)
Buying NO  at 1 − the YES bid:  edge = (1 − p_yes) − (1 − b) − fee(1 − b)
`fee` is Kalshi's taker fee for ONE contract (`taker_fee_per_contract`): the cent rounding makes it the
largest per-contract fee any order at that price pays, so the edge is never overstated.
The limit price is the price we take at; the edge gate makes it no worse than fair value − fee − min edge.
An empty book side is "no market", never a zero price. Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Literal

from daemon.economics.fees import taker_fee_per_contract
from daemon.money import CENTICENT, ONE, ZERO
from daemon.trading.config import TradingConfig

Side = Literal["yes", "no"]

# Reason codes (stable strings: stored in ops.decisions.reason_codes).
INVALID_PROBABILITY = "invalid_probability"
INVALID_QUOTE = "invalid_quote"
NO_MARKET = "no_market"
NO_YES_BID = "no_yes_bid"
NO_YES_ASK = "no_yes_ask"
SPREAD_TOO_WIDE = "spread_too_wide"
TOO_CLOSE_TO_CLOSE = "too_close_to_close"
EDGE_BELOW_MIN = "edge_below_min"
DEPTH_BELOW_MIN = "depth_below_min"
EDGE_OK = "edge_ok"


@dataclass(frozen=True)
class Quote:
    """Top of the YES book in dollars; sizes in contracts. None = that side is empty."""

    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None = None
    yes_ask_size: Decimal | None = None


@dataclass(frozen=True)
class SideEdge:
    side: Side
    price: Decimal
    fee_per_contract: Decimal
    edge: Decimal
    depth: Decimal | None


@dataclass(frozen=True)
class EdgeDecision:
    side: Side | None                 # None = no trade
    price: Decimal | None             # limit price of the side bought
    fee_per_contract: Decimal | None
    edge: Decimal | None              # dollars per contract after the fee (best side, even when not traded)
    reasons: tuple[str, ...]

    @property
    def trade(self) -> bool:
        return self.side is not None


def side_edge(side: Side, p_yes: Decimal, price: Decimal, depth: Decimal | None) -> SideEdge:
    """The edge of buying one contract of `side` at `price` (that side's price)."""
    fee = taker_fee_per_contract(price)
    p_win = p_yes if side == "yes" else ONE - p_yes
    edge = (p_win - price - fee).quantize(CENTICENT, rounding=ROUND_FLOOR)
    return SideEdge(side, price, fee, edge, depth)


def evaluate_edge(p_yes: float, quote: Quote, policy: TradingConfig, *, minutes_to_close: float) -> EdgeDecision:
    """Which side (if any) to buy, at what limit price, and every reason a trade is refused."""
    p = _probability(p_yes)
    if p is None:
        return EdgeDecision(None, None, None, None, (INVALID_PROBABILITY,))
    quote_problem = _quote_problem(quote)
    if quote_problem:
        return EdgeDecision(None, None, None, None, (INVALID_QUOTE,))
    candidates = _candidates(p, quote)
    reasons: list[str] = []
    if quote.yes_bid is None or quote.yes_ask is None:
        reasons.append(NO_MARKET)
        reasons.append(NO_YES_BID if quote.yes_bid is None else NO_YES_ASK)
    elif quote.yes_ask - quote.yes_bid > policy.max_spread:
        reasons.append(SPREAD_TOO_WIDE)
    if not math.isfinite(minutes_to_close) or minutes_to_close < policy.no_trade_minutes_before_close:
        reasons.append(TOO_CLOSE_TO_CLOSE)
    best = max(candidates, key=lambda c: (c.edge, c.side == "yes"), default=None)
    if best is None:
        return EdgeDecision(None, None, None, None, tuple(reasons))
    if best.edge < policy.min_edge:
        reasons.append(EDGE_BELOW_MIN)
    if best.depth is None or best.depth < policy.min_depth:
        reasons.append(DEPTH_BELOW_MIN)
    if reasons:
        return EdgeDecision(None, None, best.fee_per_contract, best.edge, tuple(reasons))
    return EdgeDecision(best.side, best.price, best.fee_per_contract, best.edge, (EDGE_OK,))


def max_price_for(side: Side, p_yes: float, min_edge: Decimal) -> Decimal | None:
    """The highest price (cent grid) of `side` whose edge after the fee still reaches `min_edge`; None if none."""
    p = _probability(p_yes)
    if p is None:
        return None
    for cents in range(99, 0, -1):
        price = Decimal(cents) / 100
        if side_edge(side, p, price, None).edge >= min_edge:
            return price.quantize(CENTICENT)
    return None


def _candidates(p: Decimal, quote: Quote) -> list[SideEdge]:
    out = []
    if quote.yes_ask is not None:
        out.append(side_edge("yes", p, quote.yes_ask, quote.yes_ask_size))
    if quote.yes_bid is not None:
        out.append(side_edge("no", p, ONE - quote.yes_bid, quote.yes_bid_size))
    return out


def _probability(p_yes: float) -> Decimal | None:
    if isinstance(p_yes, bool) or not isinstance(p_yes, (int, float, Decimal)):
        return None
    if isinstance(p_yes, float) and not math.isfinite(p_yes):
        return None
    p = Decimal(repr(p_yes)) if isinstance(p_yes, float) else Decimal(p_yes)
    if not p.is_finite() or not ZERO <= p <= ONE:
        return None
    return p


def _quote_problem(quote: Quote) -> bool:
    for price in (quote.yes_bid, quote.yes_ask):
        if price is not None and (not isinstance(price, Decimal) or not price.is_finite() or not ZERO < price < ONE):
            return True
    for size in (quote.yes_bid_size, quote.yes_ask_size):
        if size is not None and (not isinstance(size, Decimal) or not size.is_finite() or size < ZERO):
            return True
    # a crossed book is not a real quote
    return quote.yes_bid is not None and quote.yes_ask is not None and quote.yes_bid > quote.yes_ask
