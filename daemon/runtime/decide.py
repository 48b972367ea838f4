"""The decision for one event: a pure function of stored inputs, shared by the daemon and `milkbot replay`.

Inputs are exactly what the ledger keeps (market snapshot rows of the event's ladder, one weather snapshot
row, model parameters, the trading policy from the config version, and the few scalars recorded in the
decision's features: bankroll, size multiplier, blocks). Same inputs → same probability, edge, size, price.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from daemon.runtime import parts

Q4 = Decimal("0.0001")
Q2 = Decimal("0.01")


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
    blocked_by: tuple[str, ...] = ()            # city/state blocks decided before pricing (recorded, replayed)
    lst_offset_hours: int | None = None         # the city's City.lst_offset_hours (recorded, replayed)


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
    outcome: str                                 # trade | skip | blocked
    reasons: list[str]
    features: dict[str, Any] = field(default_factory=dict)

    def comparable(self) -> dict[str, Any]:
        """The values replay must reproduce, at the ledger's storage precision."""
        return {
            "p_yes": self.p_yes, "side": self.side, "price": _q(self.price, Q4),
            "fee_per_contract": _q(self.fee_per_contract, Q4), "edge": _q(self.edge, Q4),
            "size": _q(self.size, Q2), "outcome": self.outcome,
        }


def _q(value: Decimal | None, quantum: Decimal) -> Decimal | None:
    return None if value is None else Decimal(value).quantize(quantum)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def quote_of(row: dict[str, Any]) -> Any:
    return parts.edge.Quote(yes_bid=_dec(row["yes_bid"]), yes_ask=_dec(row["yes_ask"]),
                            yes_bid_size=_dec(row["yes_bid_size"]), yes_ask_size=_dec(row["yes_ask_size"]))


def _mid(row: dict[str, Any]) -> Decimal | None:
    bid, ask = _dec(row["yes_bid"]), _dec(row["yes_ask"])
    if bid is not None and ask is not None:
        return (bid + ask) / 2
    return _dec(row.get("last_price"))


def _strike_fields(row: dict[str, Any]) -> dict[str, Any]:
    payload = row.get("payload") or {}
    return {"ticker": row["ticker"], **{k: payload.get(k) for k in
            ("strike_type", "floor_strike", "cap_strike", "subtitle", "yes_sub_title")}}


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
        ladder = parts.brackets.event_brackets([_strike_fields(r) for r in inputs.ladder])
    except parts.brackets.BracketError as exc:
        raise DecisionInputError(f"brackets: {exc}") from exc
    w = inputs.weather or {}
    model_in = parts.model_inputs(
        city_code=inputs.city_code, climate_day=inputs.climate_day, decided_at=inputs.decided_at,
        forecast_high_f=_float_or_none(w.get("forecast_high_f")), forecast_issued_at=w.get("issued_at"),
        observed_max_f=_float_or_none(w.get("observed_max_f")), observed_until=w.get("observed_until"),
        brackets=tuple(ladder),
        market_yes_prices=tuple((r["ticker"], _mid(r)) for r in inputs.ladder),
        lst_offset_hours=inputs.lst_offset_hours,
    )
    features = {"forecast_high_f": model_in.forecast_high_f, "observed_max_f": model_in.observed_max_f,
                "brackets": {t: [b.lo, b.hi] for t, b in ladder}}
    return parts.model_api.price_event(model_in, params), features


def decide_event(inputs: EventInputs, params: Any, policy: Any) -> list[MarketDecision]:
    """One decision per market of the ladder."""
    forecast, weather_features = price_ladder(inputs, params)
    out = []
    for row in inputs.ladder:
        out.append(_decide_market(row, forecast, inputs, policy, weather_features))
    return out


def _decide_market(row: dict[str, Any], forecast: Any, inputs: EventInputs, policy: Any,
                   weather_features: dict[str, Any]) -> MarketDecision:
    ticker = row["ticker"]
    features: dict[str, Any] = {
        "forecast_high_f": weather_features["forecast_high_f"], "observed_max_f": weather_features["observed_max_f"],
        "bracket": weather_features["brackets"].get(ticker), "bankroll": str(inputs.bankroll),
        "size_multiplier": str(inputs.size_multiplier), "blocked_by": list(inputs.blocked_by),
        "lst_offset_hours": inputs.lst_offset_hours,
        "impl": {k: parts.IMPL[k] for k in ("model", "edge", "sizing", "brackets")},
        "code": parts.CODE_FINGERPRINT,
    }
    base = {"ticker": ticker, "market_snapshot_id": row.get("id"), "features": features}
    p_yes = forecast.probabilities.get(ticker) if forecast.valid else None
    if p_yes is None or math.isnan(p_yes):
        reasons = ["model_invalid", *forecast.reasons]
        return MarketDecision(p_yes=None, side=None, price=None, fee_per_contract=None, edge=None, size=Decimal(0),
                              outcome="blocked" if inputs.blocked_by else "skip",
                              reasons=[*inputs.blocked_by, *reasons], **base)
    if row.get("status") not in ("active", "open"):
        return MarketDecision(p_yes=p_yes, side=None, price=None, fee_per_contract=None, edge=None,
                              size=Decimal(0), outcome="skip", reasons=["market_not_open"], **base)
    minutes = (row["close_time"] - inputs.decided_at).total_seconds() / 60 if row.get("close_time") else 1e9
    features["minutes_to_close"] = round(minutes, 3)
    verdict = parts.edge.evaluate_edge(p_yes, quote_of(row), policy, minutes_to_close=minutes)
    reasons = list(verdict.reasons)
    size = Decimal(0)
    if verdict.side is not None:
        p_win = p_yes if verdict.side == "yes" else 1.0 - p_yes
        raw = parts.sizing.kelly_count(p_win, verdict.price, verdict.fee_per_contract, inputs.bankroll, policy)
        features["kelly_count"] = str(raw)
        size = (Decimal(raw) * inputs.size_multiplier).to_integral_value(rounding=ROUND_FLOOR)
        if size <= 0:
            reasons.append("size_zero")
    if inputs.blocked_by:
        outcome, size, reasons = "blocked", Decimal(0), [*inputs.blocked_by, *reasons]
    else:
        outcome = "trade" if verdict.side is not None and size > 0 else "skip"
    return MarketDecision(p_yes=p_yes, side=verdict.side, price=verdict.price,
                          fee_per_contract=verdict.fee_per_contract, edge=verdict.edge, size=size,
                          outcome=outcome, reasons=reasons, **base)
