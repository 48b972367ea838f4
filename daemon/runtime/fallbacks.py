"""Stand-ins the runtime uses only while a part owned by another area is not importable.

Each mirrors the interface in team/CONTRACTS.md so the pipeline runs end to end; `daemon.runtime.parts`
picks the real module whenever it imports. Deliberately simple and deterministic (replay must match).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import ROUND_FLOOR, Decimal
from typing import Any

from daemon.economics.fees import taker_fee
from daemon.ledger.db import Database, Json

ONE = Decimal(1)
CENT = Decimal("0.01")


# -- weather ------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class WeatherSnapshot:
    city_code: str
    climate_day: date
    source: str
    issued_at: datetime | None
    valid_at: datetime | None
    received_at: datetime
    forecast_high_f: float | None
    hourly_max_f: float | None
    observed_max_f: float | None
    observed_until: datetime | None
    payload: dict = field(default_factory=dict)


def store_snapshot(db: Database, snap: Any) -> int:
    row = db.query_one(
        "INSERT INTO ops.weather_snapshots (city_code, climate_day, source, issued_at, valid_at, received_at,"
        " forecast_high_f, hourly_max_f, observed_max_f, observed_until, payload)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
        [snap.city_code, snap.climate_day, snap.source, snap.issued_at, snap.valid_at, snap.received_at,
         snap.forecast_high_f, snap.hourly_max_f, snap.observed_max_f, snap.observed_until, Json(snap.payload)],
    )
    return int(row["id"])


class LookAheadError(RuntimeError):
    pass


class AsOfWeather:
    def __init__(self, db: Database) -> None:
        self.db = db

    def latest(self, city_code: str, climate_day: date, as_of: datetime, source: str | None = None) -> dict | None:
        sql = ("SELECT * FROM ops.weather_snapshots WHERE city_code = ? AND climate_day = ? AND received_at <= ?"
               + (" AND source = ?" if source else "") + " ORDER BY received_at DESC, id DESC LIMIT 1")
        params: list[Any] = [city_code, climate_day, as_of] + ([source] if source else [])
        return self.db.query_one(sql, params)

    def by_id(self, snapshot_id: int, as_of: datetime) -> dict | None:
        row = self.db.query_one("SELECT * FROM ops.weather_snapshots WHERE id = ?", [snapshot_id])
        if row is not None and row["received_at"] > as_of:
            raise LookAheadError(f"weather snapshot {snapshot_id} received after {as_of}")
        return row


@dataclass(frozen=True)
class Freshness:
    state: str
    reasons: list[str]


def assess(row: dict | None, now: datetime, city: Any, max_forecast_age: timedelta,
           max_obs_age: timedelta) -> Freshness:
    if row is None:
        return Freshness("missing", ["no weather snapshot"])
    reasons = []
    age = now - row["received_at"]
    if age > max_forecast_age:
        reasons.append(f"weather snapshot {age} old > {max_forecast_age}")
    if row.get("forecast_high_f") is None and row.get("observed_max_f") is None:
        return Freshness("invalid", ["snapshot has neither forecast nor observation"])
    start, end = city.climate_day_bounds(row["climate_day"])
    if start <= now < end and row.get("observed_until") is not None and now - row["observed_until"] > max_obs_age:
        reasons.append(f"station observation {now - row['observed_until']} old > {max_obs_age}")
    return Freshness("stale" if reasons else "fresh", reasons)


# -- brackets -----------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class Bracket:
    lo: int | None
    hi: int | None

    def contains(self, value: int) -> bool:
        return (self.lo is None or value >= self.lo) and (self.hi is None or value <= self.hi)


class BracketError(ValueError):
    pass


def bracket_for_market(market: Any) -> Bracket:
    kind, floor, cap = market.get("strike_type"), market.get("floor_strike"), market.get("cap_strike")
    if kind == "between" and floor is not None and cap is not None:
        return Bracket(math.ceil(float(floor)), math.floor(float(cap)))
    if kind == "greater" and floor is not None:
        return Bracket(math.floor(float(floor)) + 1, None)
    if kind == "less" and cap is not None:
        return Bracket(None, math.ceil(float(cap)) - 1)
    raise BracketError(f"{market.get('ticker')}: cannot read strike ({kind}, {floor}, {cap})")


def event_brackets(markets: Any) -> list[tuple[str, Bracket]]:
    pairs = sorted(((m["ticker"], bracket_for_market(m)) for m in markets),
                   key=lambda tb: (tb[1].lo is not None, tb[1].lo or 0))
    for (_, a), (_, b) in itertools.pairwise(pairs):
        if a.hi is None or b.lo is None or b.lo != a.hi + 1:
            raise BracketError(f"brackets do not tile: {a} then {b}")
    if not pairs or pairs[0][1].lo is not None or pairs[-1][1].hi is not None:
        raise BracketError("ladder is not closed at both ends")
    return pairs


# -- model ---------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class FallbackParams:
    version: str = "fallback-normal-1"
    sigma_day_f: float = 2.5
    sigma_intraday_f: float = 1.2

    def hash(self) -> str:
        return hashlib.sha256(json.dumps(self.as_dict(), sort_keys=True).encode()).hexdigest()

    def as_dict(self) -> dict[str, Any]:
        return {"version": self.version, "sigma_day_f": self.sigma_day_f, "sigma_intraday_f": self.sigma_intraday_f}


def default_params() -> FallbackParams:
    return FallbackParams()


def save_params(db: Database, params: Any, clock: Any, fit_from: date | None = None, fit_to: date | None = None) -> int:
    existing = db.scalar("SELECT id FROM ops.model_params WHERE params_hash = ?", [params.hash()])
    if existing is not None:
        return int(existing)
    row = db.query_one(
        "INSERT INTO ops.model_params (params_hash, model_version, fitted_at, fit_from, fit_to, params)"
        " VALUES (?, ?, ?, ?, ?, ?) RETURNING id",
        [params.hash(), params.version, clock.now(), fit_from, fit_to, Json(params.as_dict())],
    )
    return int(row["id"])


def load_by_id(db: Database, params_id: int) -> FallbackParams:
    row = db.query_one("SELECT params FROM ops.model_params WHERE id = ?", [params_id])
    if row is None:
        raise KeyError(f"no model params {params_id}")
    return FallbackParams(**row["params"])


def load_latest(db: Database) -> tuple[int, FallbackParams] | None:
    row = db.query_one("SELECT id, params FROM ops.model_params WHERE model_version = ? ORDER BY id DESC LIMIT 1",
                       [FallbackParams.version])
    return None if row is None else (int(row["id"]), FallbackParams(**row["params"]))


@dataclass(frozen=True)
class EventForecast:
    probabilities: dict[str, float]
    pmf: dict[int, float]
    members: tuple = ()
    valid: bool = True
    reasons: tuple[str, ...] = ()


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def price_event(inputs: Any, params: Any) -> EventForecast:
    """A normal around the forecast (intraday: tighter), floored at the observed maximum."""
    centre = inputs.forecast_high_f
    floor_f = inputs.observed_max_f
    if centre is None and floor_f is None:
        return EventForecast({}, {}, valid=False, reasons=("no_forecast_or_observation",))
    sigma = params.sigma_day_f if floor_f is None else params.sigma_intraday_f
    if centre is None:
        centre = floor_f
    floor_int = None if floor_f is None else math.floor(floor_f + 0.5)
    lo, hi = int(centre - 6 * sigma) - 1, int(centre + 6 * sigma) + 2
    if floor_int is not None:
        lo, hi = max(lo, floor_int), max(hi, floor_int + 1)
    mass = {t: _norm_cdf((t + 0.5 - centre) / sigma) - _norm_cdf((t - 0.5 - centre) / sigma) for t in range(lo, hi + 1)}
    total = sum(mass.values())
    if total <= 0:  # forecast far below the observed floor: all mass on the floor
        mass, total = {floor_int: 1.0}, 1.0
    pmf = {t: m / total for t, m in mass.items()}
    probs = {ticker: sum(p for t, p in pmf.items() if bracket.contains(t)) for ticker, bracket in inputs.brackets}
    return EventForecast(probs, pmf, reasons=() if floor_f is None else ("observed_floor",))


# -- economics + risk ----------------------------------------------------------------------------------
POLICY_DEFAULTS: dict[str, Any] = {
    "min_edge": Decimal("0.03"), "max_spread": Decimal("0.10"), "min_depth": Decimal(1),
    "no_trade_minutes_before_close": 30.0, "kelly_fraction": Decimal("0.25"), "max_contracts": Decimal(25),
    "max_trade_fraction": Decimal("0.02"),
}


def policy_value(policy: Any, name: str) -> Any:
    value = getattr(policy, name, None)
    return POLICY_DEFAULTS[name] if value is None else value


@dataclass(frozen=True)
class Quote:
    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask_size: Decimal | None


@dataclass(frozen=True)
class EdgeDecision:
    side: str | None
    price: Decimal | None
    fee_per_contract: Decimal | None
    edge: Decimal | None
    reasons: tuple[str, ...]


def _fee_per_contract(price: Decimal) -> Decimal:
    return taker_fee(Decimal(1), price)


def evaluate_edge(p_yes: float, quote: Quote, policy: Any, *, minutes_to_close: float) -> EdgeDecision:
    if minutes_to_close < float(policy_value(policy, "no_trade_minutes_before_close")):
        return EdgeDecision(None, None, None, None, ("no_trade_window",))
    if quote.yes_bid is not None and quote.yes_ask is not None and \
            quote.yes_ask - quote.yes_bid > Decimal(policy_value(policy, "max_spread")):
        return EdgeDecision(None, None, None, None, ("spread_too_wide",))
    p = Decimal(repr(p_yes)).quantize(Decimal("0.0001"))
    options = []
    if quote.yes_ask is not None and (quote.yes_ask_size or 0) >= Decimal(policy_value(policy, "min_depth")):
        fee = _fee_per_contract(quote.yes_ask)
        options.append(("yes", quote.yes_ask, fee, p - quote.yes_ask - fee))
    if quote.yes_bid is not None and (quote.yes_bid_size or 0) >= Decimal(policy_value(policy, "min_depth")):
        no_price = ONE - quote.yes_bid
        fee = _fee_per_contract(no_price)
        options.append(("no", no_price, fee, (ONE - p) - no_price - fee))
    if not options:
        return EdgeDecision(None, None, None, None, ("no_liquidity",))
    side, price, fee, edge = max(options, key=lambda o: o[3])
    if edge < Decimal(policy_value(policy, "min_edge")):
        return EdgeDecision(None, price, fee, edge, ("edge_below_min",))
    return EdgeDecision(side, price, fee, edge, ("edge_ok",))


def kelly_count(p_win: float, price: Decimal, fee_per_contract: Decimal, bankroll: Decimal, policy: Any) -> Decimal:
    cost = price + fee_per_contract
    if cost <= 0 or cost >= 1:
        return Decimal(0)
    p = Decimal(repr(p_win))
    fraction = (p - cost) / (ONE - cost) * Decimal(policy_value(policy, "kelly_fraction"))
    fraction = min(fraction, Decimal(policy_value(policy, "max_trade_fraction")))
    if fraction <= 0:
        return Decimal(0)
    count = (bankroll * fraction / cost).to_integral_value(rounding=ROUND_FLOOR)
    return min(count, Decimal(policy_value(policy, "max_contracts")))
