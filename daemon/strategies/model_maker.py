"""`model_maker`: rest YES asks the model thinks overpriced, and withdraw them when a bracket may win.

Where the money is on these markets (`edge_study.md` §3): takers sweep thin books and pay well above the last
trade, so a resting YES ask (a NO bid) well above the last trade earns its offset — except on the brackets
that win, where the fill is certain and total. So this maker
- quotes only inside its window (`start_hours_before_close` … `stop_hours_before_close`), only markets whose
  last YES is at most `max_last_yes`, at an ask of at least `ask_spread` above the last trade and at least
  `min_margin` above the model's fair value;
- never quotes a bracket the model gives more than `max_p_yes`, nor one the observations have already won,
  and withdraws a resting ask the moment either becomes true;
- does not quote again in a market where it was filled (a sweep is the loudest signal that the bracket may
  win), and keeps its inventory per event under `max_event_contracts`;
- reprices only when the wanted ask moved by `order_refresh_tolerance` or more (the order manager's
  reprice-interval and chase limits apply on top);
- optionally asks `decided_lost_ask` on brackets the observations have already decided against.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_CEILING, Decimal

from pydantic import BaseModel, ConfigDict, Field

from daemon.strategies.base import EventView, MarketDecision, MarketView, decision, event_blocks, finite

CENT = Decimal("0.01")


class ModelMakerConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    start_hours_before_close: float = Field(30.0, gt=0, le=72)
    stop_hours_before_close: float = Field(0.0, ge=0, le=72)
    max_last_yes: Decimal = Field(Decimal("0.50"), gt=0, lt=1)
    ask_spread: Decimal = Field(Decimal("0.20"), gt=0, lt=1)          # ask ≥ last YES + this
    min_margin: Decimal = Field(Decimal("0.10"), ge=0, lt=1)          # ask ≥ model fair value + this
    max_p_yes: Decimal = Field(Decimal("0.35"), gt=0, le=1)           # withdraw above this fair value
    max_ask: Decimal = Field(Decimal("0.95"), gt=0, lt=1)
    order_size: Decimal = Field(Decimal(10), gt=0, le=1000)
    max_event_contracts: Decimal = Field(Decimal(40), gt=0, le=10000)
    order_refresh_tolerance: Decimal = Field(Decimal("0.03"), ge=0, lt=1)
    requote_after_fill: bool = False
    decided_lost_ask: Decimal | None = Field(Decimal("0.02"), gt=0, lt=1)  # None: never quote decided brackets


@dataclass(frozen=True)
class ModelMaker:
    config: ModelMakerConfig
    name: str = "model_maker"
    uses_weather: bool = False   # the model falls back to the market member; the nowcast only withdraws

    def wake_times(self, close_time: datetime) -> tuple[datetime, ...]:
        return (close_time - timedelta(hours=self.config.start_hours_before_close),)

    def decide(self, event: EventView) -> list[MarketDecision]:
        blocks = event_blocks(self, event)
        inventory = sum((_no_exposure(m) for m in event.markets), Decimal(0))
        return [self._market(m, blocks, inventory) for m in event.markets]

    def _market(self, m: MarketView, blocks: list[str], inventory: Decimal) -> MarketDecision:
        c = self.config
        if blocks:
            return decision(self.name, m, "blocked", blocks)
        if not m.is_open:
            return decision(self.name, m, "skip", ["market_not_open"])
        if m.decided == "won":
            return decision(self.name, m, "skip", ["nowcast_won"])
        if m.minutes_to_close > c.start_hours_before_close * 60:
            return decision(self.name, m, "skip", ["before_window"])
        if m.minutes_to_close < c.stop_hours_before_close * 60:
            return decision(self.name, m, "skip", ["after_window"])
        if m.own.position < 0 and not c.requote_after_fill:
            return decision(self.name, m, "hold", ["filled_no_requote"])
        if m.decided == "lost" and c.decided_lost_ask is not None:
            return self._quote(m, c.decided_lost_ask, inventory, ["nowcast_lost"])
        if not finite(m.p_yes):
            return decision(self.name, m, "skip", ["model_invalid"])
        fair = Decimal(repr(m.p_yes))
        if fair > c.max_p_yes:
            return decision(self.name, m, "skip", ["fair_above_max"])
        if m.last_price is None:
            return decision(self.name, m, "skip", ["no_last_trade"])
        if m.last_price > c.max_last_yes:
            return decision(self.name, m, "skip", ["last_above_max"])
        ask = max(m.last_price + c.ask_spread, fair + c.min_margin).quantize(CENT, rounding=ROUND_CEILING)
        if ask > c.max_ask:
            return decision(self.name, m, "skip", ["ask_above_max"])
        return self._quote(m, ask, inventory, ["rest_ask"])

    def _quote(self, m: MarketView, ask: Decimal, inventory: Decimal, reasons: list[str]) -> MarketDecision:
        c = self.config
        resting = [(s, p, r) for s, p, r in m.own.resting if s == "no" and r > 0]
        if resting:
            current_ask = 1 - resting[0][1]
            if abs(current_ask - ask) < c.order_refresh_tolerance:
                return decision(self.name, m, "hold", [*reasons, "within_refresh_tolerance"])
        elif inventory + c.order_size > c.max_event_contracts:
            return decision(self.name, m, "skip", [*reasons, "event_inventory_full"])
        fair = Decimal(repr(m.p_yes)) if finite(m.p_yes) else None
        edge = None if fair is None else (ask - fair).quantize(Decimal("0.0001"))
        return decision(self.name, m, "trade", reasons, side="no", price=(1 - ask).quantize(CENT),
                        fee=Decimal(0), edge=edge, size=c.order_size, role="make",
                        features={"yes_ask": str(ask), "last_yes": None if m.last_price is None
                                  else str(m.last_price)})


def _no_exposure(m: MarketView) -> Decimal:
    """NO contracts this strategy holds or has resting in one market."""
    held = -m.own.position if m.own.position < 0 else Decimal(0)
    return held + sum((r for s, _, r in m.own.resting if s == "no"), Decimal(0))
