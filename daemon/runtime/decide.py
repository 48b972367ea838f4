"""The decisions for one event: a pure function of stored inputs, shared by the daemon and `milkbot replay`.

Inputs are exactly what the ledger keeps (market snapshot rows of the event's ladder, one weather snapshot
row, model parameters, the trading and strategy policy from the config version, and the few scalars recorded
in the decision's features: bankroll, size multiplier, blocks, each strategy's footprint in the event).
Same inputs → same probability, edge, size, price, for every strategy.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

from daemon.runtime import parts
from daemon.strategies.base import EventView as StrategyEventView
from daemon.strategies.base import MarketDecision, MarketView, OwnState, Strategy, event_blocks

Q4 = Decimal("0.0001")
Q2 = Decimal("0.01")

__all__ = ["DecisionInputError", "EventInputs", "MarketDecision", "decide_event", "price_ladder", "quote_of"]


class DecisionInputError(ValueError):
    """Inputs a decision cannot be computed from (no ladder, brackets that do not tile, NaN)."""


@dataclass(frozen=True)
class EventInputs:
    city_code: str
    climate_day: date
    decided_at: datetime
    ladder: tuple[dict[str, Any], ...]          # ops.market_snapshots rows (payload holds the strike fields)
    weather: dict[str, Any] | None              # ops.weather_snapshots row
    bankroll: Decimal
    size_multiplier: Decimal = Decimal(1)
    blocked_by: tuple[str, ...] = ()            # blocks every strategy (trading state, risk city blocks)
    weather_blocked_by: tuple[str, ...] = ()    # blocks strategies that use the weather (stale / missing)
    # (ticker, strategy) → that strategy's footprint; ticker → signed YES position of the account
    own: dict[tuple[str, str], OwnState] = field(default_factory=dict)
    positions: dict[str, Decimal] = field(default_factory=dict)
    day_end: datetime | None = None             # end of the LST climate day (observations past it decide nothing)
    lst_offset_hours: int | None = None         # the city's City.lst_offset_hours (recorded, replayed)

    def own_json(self) -> dict[str, Any]:
        """The footprint as stored in a decision's features (replay reads it back with `own_from_json`)."""
        return {"own": {f"{t}|{s}": st.to_json() for (t, s), st in sorted(self.own.items())},
                "positions": {t: str(p) for t, p in sorted(self.positions.items()) if p}}


def own_from_json(features: dict[str, Any]) -> tuple[dict[tuple[str, str], OwnState], dict[str, Decimal]]:
    own = {}
    for key, value in (features.get("own") or {}).items():
        ticker, _, strategy = key.partition("|")
        own[(ticker, strategy)] = OwnState.from_json(value)
    positions = {t: Decimal(p) for t, p in (features.get("positions") or {}).items()}
    return own, positions


def _dec(value: Any) -> Decimal | None:
    if value is None or type(value) is Decimal:  # Decimal(str(d)) is d: same digits and exponent
        return value
    return Decimal(str(value))


def quote_of(row: dict[str, Any]) -> Any:
    return parts.edge.Quote(yes_bid=_dec(row["yes_bid"]), yes_ask=_dec(row["yes_ask"]),
                            yes_bid_size=_dec(row["yes_bid_size"]), yes_ask_size=_dec(row["yes_ask_size"]))


def _mid(row: dict[str, Any]) -> Decimal | None:
    bid, ask = _dec(row["yes_bid"]), _dec(row["yes_ask"])
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return _dec(row.get("last_price"))


_STRIKE_KEYS = ("strike_type", "floor_strike", "cap_strike", "subtitle", "yes_sub_title")


def _ladder_of(rows: tuple[dict[str, Any], ...]) -> tuple[tuple[str, Any], ...]:
    """The event's (ticker, bracket) ladder, parsed once per distinct set of strike fields."""
    key = tuple((row["ticker"], *((row.get("payload") or {}).get(k) for k in _STRIKE_KEYS))
                for row in rows)
    try:
        return _cached_ladder(key)
    except TypeError:  # an unhashable strike value: parse it without the cache
        return _parsed_ladder(key)


def _parsed_ladder(key: tuple[tuple[Any, ...], ...]) -> tuple[tuple[str, Any], ...]:
    markets = [dict(zip(("ticker", *_STRIKE_KEYS), fields)) for fields in key]
    return tuple(parts.brackets.event_brackets(markets))


_cached_ladder = lru_cache(maxsize=4096)(_parsed_ladder)  # a BracketError is never cached


def _float_or_none(value: Any) -> float | None:
    if value is None:
        return None
    number = float(value)
    if math.isnan(number):
        raise DecisionInputError("NaN in weather inputs")
    return number


def price_ladder(inputs: EventInputs, params: Any) -> tuple[Any, dict[str, Any]]:
    """The model's forecast for the event and the weather features it used."""
    if not inputs.ladder:
        raise DecisionInputError("event has no markets")
    if inputs.lst_offset_hours is None:
        raise DecisionInputError(f"no LST offset for city {inputs.city_code}: not in the registry")
    try:
        ladder = _ladder_of(inputs.ladder)
    except parts.brackets.BracketError as exc:
        raise DecisionInputError(f"brackets: {exc}") from exc
    w = inputs.weather or {}
    model_in = parts.model_inputs(
        city_code=inputs.city_code, climate_day=inputs.climate_day, decided_at=inputs.decided_at,
        forecast_high_f=_float_or_none(w.get("forecast_high_f")), forecast_issued_at=w.get("issued_at"),
        observed_max_f=_float_or_none(w.get("observed_max_f")), observed_until=w.get("observed_until"),
        brackets=ladder,
        market_yes_prices=tuple((r["ticker"], _mid(r)) for r in inputs.ladder),
        lst_offset_hours=inputs.lst_offset_hours,
    )
    features = {"forecast_high_f": model_in.forecast_high_f, "observed_max_f": model_in.observed_max_f,
                "brackets": {t: [b.lo, b.hi] for t, b in ladder}, "ladder": dict(ladder)}
    return parts.model_api.price_event(model_in, params), features


def decide_event(inputs: EventInputs, params: Any, policy: Any,
                 strategies: Sequence[Strategy] | None = None) -> list[MarketDecision]:
    """One decision per market of the ladder and strategy (strategies in order; the taker alone by default)."""
    if strategies is None:
        from daemon.strategies.taker import TakerStrategy

        strategies = (TakerStrategy(policy),)
    forecast, weather = price_ladder(inputs, params)
    verdicts = parts.nowcast_verdicts(weather["ladder"], weather["observed_max_f"],
                                      (inputs.weather or {}).get("observed_until"), inputs.day_end)
    rows = _market_fields(inputs, forecast, weather, verdicts)
    event = _event_features(inputs)
    out: list[MarketDecision] = []
    for strategy in strategies:
        view = _event_view(inputs, forecast, rows, strategy.name)
        decided = strategy.decide(view)
        if [d.ticker for d in decided] != [m.ticker for m in view.markets]:
            raise DecisionInputError(f"strategy {strategy.name} must decide every market once, in ladder order")
        template = _feature_template(inputs, weather, strategy.name, event)
        applied = event_blocks(strategy, view)
        for d, market in zip(decided, view.markets):
            features = template.copy()   # the same keys in the same order for every decision
            features.update(bracket=weather["brackets"].get(market.ticker),
                            blocked_by=list(inputs.blocked_by),
                            weather_blocked_by=list(inputs.weather_blocked_by),
                            applied_blocks=list(applied),
                            minutes_to_close=round(market.minutes_to_close, 3),
                            nowcast=market.decided)
            features.update(d.features)
            d.features = features
        out.extend(decided)
    return out


def _market_fields(inputs: EventInputs, forecast: Any, weather: dict[str, Any],
                   verdicts: dict[str, str | None]) -> list[dict[str, Any]]:
    """Each market's view fields but the strategy's own footprint (the same for every strategy)."""
    out = []
    for row in inputs.ladder:
        ticker = row["ticker"]
        p_yes = forecast.probabilities.get(ticker) if forecast.valid else None
        if p_yes is not None and math.isnan(p_yes):
            p_yes = None
        close = row.get("close_time")
        minutes = (close - inputs.decided_at).total_seconds() / 60 if close else 1e9
        out.append({
            "ticker": ticker, "snapshot_id": row.get("id"), "status": row.get("status"),
            "bracket": weather["ladder"].get(ticker), "close_time": close,
            "minutes_to_close": minutes,
            "yes_bid": _dec(row["yes_bid"]), "yes_ask": _dec(row["yes_ask"]),
            "yes_bid_size": _dec(row["yes_bid_size"]), "yes_ask_size": _dec(row["yes_ask_size"]),
            "last_price": _dec(row.get("last_price")), "p_yes": p_yes,
            "decided": verdicts.get(ticker),
            "market_position": inputs.positions.get(ticker, Decimal(0))})
    return out


_NO_FOOTPRINT = OwnState()


def _event_view(inputs: EventInputs, forecast: Any, rows: list[dict[str, Any]],
                strategy: str) -> StrategyEventView:
    own = inputs.own
    markets = tuple(MarketView(**fields, own=own.get((fields["ticker"], strategy), _NO_FOOTPRINT))
                    for fields in rows)
    return StrategyEventView(inputs.city_code, inputs.climate_day, inputs.decided_at, markets,
                             inputs.bankroll, inputs.size_multiplier, inputs.blocked_by,
                             inputs.weather_blocked_by, tuple(forecast.reasons) if not forecast.valid else ())


_IMPL_KEYS = ("model", "edge", "sizing", "brackets")


def _event_features(inputs: EventInputs) -> dict[str, Any]:
    """The features every decision of the event shares, computed once per event (read-only)."""
    return {"bankroll": str(inputs.bankroll), "size_multiplier": str(inputs.size_multiplier),
            "impl": {k: parts.IMPL[k] for k in _IMPL_KEYS}, "own_json": inputs.own_json(),
            "day_end": inputs.day_end.isoformat() if inputs.day_end else None}


def _feature_template(inputs: EventInputs, weather: dict[str, Any], strategy: str,
                      event: dict[str, Any]) -> dict[str, Any]:
    """A strategy's decision features in the event; the per-market values are filled in later."""
    return {
        "strategy": strategy,
        "forecast_high_f": weather["forecast_high_f"], "observed_max_f": weather["observed_max_f"],
        "bracket": None, "bankroll": event["bankroll"],
        "size_multiplier": event["size_multiplier"], "blocked_by": None,
        "weather_blocked_by": None, "applied_blocks": None,
        "minutes_to_close": None, "nowcast": None,
        "lst_offset_hours": inputs.lst_offset_hours,
        "impl": event["impl"], "code": parts.CODE_FINGERPRINT, **event["own_json"],
        "day_end": event["day_end"],
    }
