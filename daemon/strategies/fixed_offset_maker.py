"""`fixed_offset_maker`: the edge study's baseline rule, as a strategy.

At close − `hours_before_close`, in every open market whose last YES trade is at most `max_last_yes`, rest a
YES ask at last + `ask_offset` (a NO bid at 1 − that) for `order_size` contracts, and leave it until close: no
reprice, no re-entry once placed. The rule decides once, at its entry instant: a market that does not qualify
then (no trade yet, last too high) is not quoted later; `entry_window_minutes` only absorbs the fast loop's
cadence (a cycle that runs a little after the instant still counts; one a whole window later does not). It reads no weather and no model, so it is the control that proves the
backtest's fills, fees and point-in-time discipline against `../shared/reference/edge_study.md` §3.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field

from daemon.strategies.base import EventView, MarketDecision, MarketView, decision, event_blocks

CENT = Decimal("0.01")


class FixedOffsetMakerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    hours_before_close: float = Field(18.0, gt=0, le=72)
    max_last_yes: Decimal = Field(Decimal("0.50"), gt=0, lt=1)     # dollars
    ask_offset: Decimal = Field(Decimal("0.20"), gt=0, lt=1)       # dollars above the last YES trade
    order_size: Decimal = Field(Decimal(10), gt=0, le=1000)        # contracts
    entry_window_minutes: float = Field(1.0, gt=0, le=120)          # after the entry instant, still enter


@dataclass(frozen=True)
class FixedOffsetMaker:
    config: FixedOffsetMakerConfig
    name: str = "fixed_offset_maker"
    uses_weather: bool = False

    def wake_times(self, close_time: datetime) -> tuple[datetime, ...]:
        return (close_time - timedelta(hours=self.config.hours_before_close),)

    def decide(self, event: EventView) -> list[MarketDecision]:
        blocks = event_blocks(self, event)
        return [self._market(m, blocks) for m in event.markets]

    def _market(self, m: MarketView, blocks: list[str]) -> MarketDecision:
        if blocks:
            return decision(self.name, m, "blocked", blocks)
        if m.own.placed:
            return decision(self.name, m, "hold", ["placed"])  # until close, whatever happened to it
        if not m.is_open:
            return decision(self.name, m, "skip", ["market_not_open"])
        entry = self.config.hours_before_close * 60
        if m.minutes_to_close > entry:
            return decision(self.name, m, "skip", ["before_entry_time"])
        if m.minutes_to_close <= entry - self.config.entry_window_minutes:
            return decision(self.name, m, "skip", ["after_entry_time"])
        if m.last_price is None:
            return decision(self.name, m, "skip", ["no_last_trade"])
        if m.last_price > self.config.max_last_yes:
            return decision(self.name, m, "skip", ["last_above_max"])
        ask = m.last_price + self.config.ask_offset
        if ask >= 1:
            return decision(self.name, m, "skip", ["ask_off_grid"])
        no_price = (1 - ask).quantize(CENT)
        return decision(self.name, m, "trade", ["rest_ask"], side="no", price=no_price, fee=Decimal(0),
                        edge=None, size=self.config.order_size, role="make",
                        features={"yes_ask": str(ask), "last_yes": str(m.last_price)})
