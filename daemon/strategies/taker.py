"""`taker`: buy the side whose model edge after the taker fee clears the minimum, at the far side of the book.

The rule Milkbot started with, kept as one strategy among others and judged by the same backtest. Two guards
(issue #12 item 5): buying the side opposite to what the account holds in a market is only an exit — at most
the held size, and only when the edge check approves it on its own — never a flip; and a resting order of
ours is re-checked against fresh fair value every cycle: once its own limit price no longer clears the
minimum edge it is withdrawn, even if the book offers no new trade.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from daemon.strategies.base import EventView, MarketDecision, MarketView, decision, event_blocks, finite
from daemon.trading import edge as edge_mod
from daemon.trading import sizing
from daemon.trading.config import TradingConfig

OPPOSITE_SIDE = "opposite_side_of_position"
EXIT = "exit_of_position"
RESTING_EDGE_GONE = "resting_edge_gone"


@dataclass(frozen=True)
class TakerStrategy:
    policy: TradingConfig
    name: str = "taker"
    uses_weather: bool = True

    def wake_times(self, close_time):  # noqa: ANN001, ANN201 - the taker needs no fixed instants
        return ()

    def decide(self, event: EventView) -> list[MarketDecision]:
        blocks = event_blocks(self, event)
        return [self._market(event, m, blocks) for m in event.markets]

    def _market(self, event: EventView, m: MarketView, blocks: list[str]) -> MarketDecision:
        if not finite(m.p_yes):
            return decision(self.name, m, "blocked" if blocks else "skip",
                            [*blocks, "model_invalid", *event.model_reasons])
        if not m.is_open:
            return decision(self.name, m, "skip", ["market_not_open"])
        quote = edge_mod.Quote(m.yes_bid, m.yes_ask, m.yes_bid_size, m.yes_ask_size)
        verdict = edge_mod.evaluate_edge(m.p_yes, quote, self.policy, minutes_to_close=m.minutes_to_close)
        reasons = list(verdict.reasons)
        features: dict = {}
        size = Decimal(0)
        side = verdict.side
        if side is not None:
            p_win = m.p_yes if side == "yes" else 1.0 - m.p_yes
            raw = sizing.kelly_count(p_win, verdict.price, verdict.fee_per_contract, event.bankroll, self.policy)
            features["kelly_count"] = str(raw)
            size = (Decimal(raw) * event.size_multiplier).to_integral_value(rounding=ROUND_FLOOR)
            held_opposite = _held_opposite(side, m.market_position)
            if held_opposite > 0:
                # Buying NO while long YES (or YES while long NO) closes out, at $1 a pair: an exit only.
                size = min(size, held_opposite)
                reasons.append(EXIT)
            elif _holds_opposite_resting(side, m):
                size = Decimal(0)
                reasons.append(OPPOSITE_SIDE)
            if size <= 0:
                reasons.append("size_zero")
        if blocks:
            return decision(self.name, m, "blocked", [*blocks, *reasons], edge=verdict.edge,
                            fee=verdict.fee_per_contract, features=features)
        if side is not None and size > 0:
            return decision(self.name, m, "trade", reasons, side=side, price=verdict.price,
                            fee=verdict.fee_per_contract, edge=verdict.edge, size=size, role="take",
                            features=features)
        out = decision(self.name, m, "skip", reasons, edge=verdict.edge, fee=verdict.fee_per_contract,
                       features=features)
        if m.own.resting and not _resting_still_priced(m, self.policy):
            out.reasons.append(RESTING_EDGE_GONE)
        return out


def _held_opposite(side: str, position: Decimal) -> Decimal:
    """Contracts of the other side held in this market (positive), or 0."""
    if side == "no" and position > 0:
        return position
    if side == "yes" and position < 0:
        return -position
    return Decimal(0)


def _holds_opposite_resting(side: str, m: MarketView) -> bool:
    return any(s != side and remaining > 0 for s, _, remaining in m.own.resting)


def _resting_still_priced(m: MarketView, policy: TradingConfig) -> bool:
    """Whether every resting order of ours still clears the minimum edge at its own limit price."""
    for side, price, _ in m.own.resting:
        p = Decimal(repr(m.p_yes))
        if edge_mod.side_edge(side, p, price, None).edge < policy.min_edge:
            return False
    return True
