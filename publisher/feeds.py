"""Builds the feed models from what the database returned as of the cut-off. Pure: no I/O, no clock."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

from publisher import fmt
from publisher.cities import city_names
from publisher.config import PublisherConfig
from publisher.models import (
    STRATEGIES,
    Calibration,
    CalibrationBin,
    Cities,
    City,
    Component,
    Equity,
    EquityPoint,
    Health,
    Hero,
    Strategies,
    StrategyResult,
    Trade,
)
from publisher.queries import CityWeather, PublicTrade, SystemStatus
from publisher.tally import CALIBRATION_BINS, ZERO, CityTally, Tally


@dataclass(frozen=True)
class Stamp:
    """When and how late: every live feed carries these."""

    published_at: datetime
    cutoff: datetime
    delay_minutes: int

    def fields(self) -> dict:
        return {"as_of": fmt.minute(self.cutoff), "published_at": fmt.minute(self.published_at),
                "delay_minutes": self.delay_minutes}


def trade_status(trade: PublicTrade) -> str:
    if trade.market_result is None:
        return "open"
    if trade.market_result not in ("yes", "no"):
        return "void"
    return "won" if trade.pnl is not None and trade.pnl > 0 else "lost"


def _probability(p: float | None) -> float | None:
    return None if p is None or not 0.0 <= p <= 1.0 else round(p, 4)


def trade(t: PublicTrade) -> Trade:
    return Trade(
        seq=t.seq, trade_time=fmt.minute(t.trade_time), city=t.city_code, ticker=t.ticker,
        climate_day=fmt.day(t.climate_day), side=t.side, action=t.action, count=fmt.count(t.count),
        price=fmt.money(t.price), fee=fmt.money(t.fee), liquidity=t.liquidity, strategy=t.strategy,
        model_probability=_probability(t.p_side),
        result=t.market_result, pnl=None if t.pnl is None else fmt.money(t.pnl), status=trade_status(t),
    )


def _mode(status: SystemStatus) -> str | None:
    return status.mode if status.mode in ("shadow", "demo", "live") else None


def _state(status: SystemStatus) -> str | None:
    return status.trading_state if status.trading_state in ("ACTIVE", "REDUCING", "HALTED") else None


def hero(tally: Tally, cities: dict[str, CityTally], status: SystemStatus, stamp: Stamp) -> Hero:
    settled = sum(c.settled for c in cities.values())
    wins = sum(c.wins for c in cities.values())
    return Hero(
        **stamp.fields(), total_pnl=fmt.money(sum((c.pnl for c in cities.values()), ZERO)),
        win_rate=fmt.rate(wins, settled), settled_markets=settled, trades_today=tally.trades_today,
        active_positions=sum(c.active for c in cities.values()), total_trades=tally.total_trades,
        mode=_mode(status), trading_state=_state(status),
    )


def _city_status(tallied: CityTally, weather: CityWeather | None, halted: bool, age: int | None,
                 config: PublisherConfig) -> str:
    """HALTED > STALE > ACTIVE (positions held) > NO_DATA > IDLE."""
    if halted:
        return "HALTED"
    if age is not None and age > config.stale_data_minutes * 60:
        return "STALE"
    if tallied.active:
        return "ACTIVE"
    return "NO_DATA" if age is None else "IDLE"


def _age(cutoff: datetime, stamp: datetime | None) -> int | None:
    return None if stamp is None else int((cutoff - stamp).total_seconds())


def cities(tallies: dict[str, CityTally], weather: dict[str, CityWeather], status: SystemStatus,
           stamp: Stamp, config: PublisherConfig) -> Cities:
    halted = _state(status) == "HALTED" or bool(status.kill_switch)
    rows = []
    for code, name in city_names(set(tallies) | set(weather)).items():
        tallied, w = tallies.get(code, CityTally()), weather.get(code)
        age = _age(stamp.cutoff, (w.observed_at or w.forecast_at) if w else None)
        rows.append(City(
            code=code, name=name,
            climate_day=fmt.day(w.climate_day or w.forecast_day) if w and (w.climate_day or w.forecast_day) else None,
            observed_high_f=w.observed_max_f if w else None, forecast_high_f=w.forecast_high_f if w else None,
            active_positions=tallied.active, total_pnl=fmt.money(tallied.pnl),
            win_rate=fmt.rate(tallied.wins, tallied.settled), settled_markets=tallied.settled,
            trades=tallied.trades, status=_city_status(tallied, w, halted, age, config), data_age_seconds=age,
        ))
    return Cities(**stamp.fields(), cities=rows)


def daily_points(daily: dict[date, Decimal], through: date) -> list[EquityPoint]:
    """Cumulative P&L per UTC day from the first settlement to `through`, zero-filled."""
    if not daily:
        return []
    points, total, current = [], ZERO, min(daily)
    while current <= through:
        pnl = daily.get(current, ZERO)
        total += pnl
        points.append(EquityPoint(date=fmt.day(current), daily_pnl=fmt.money(pnl),
                                  cumulative_pnl=fmt.money(total), settled_markets=0))
        current += timedelta(days=1)
    return points


def equity(tally: Tally, stamp: Stamp) -> Equity:
    daily: dict[date, Decimal] = {}
    settled_per_day: dict[date, int] = {}
    for market in tally.markets.values():
        if market.result is not None and market.settled_day is not None:
            daily[market.settled_day] = daily.get(market.settled_day, ZERO) + market.pnl
            settled_per_day[market.settled_day] = settled_per_day.get(market.settled_day, 0) + 1
    points = [p.model_copy(update={"settled_markets": settled_per_day.get(date.fromisoformat(p.date), 0)})
              for p in daily_points(daily, stamp.cutoff.date())]
    return Equity(**stamp.fields(), total_pnl=fmt.money(sum(daily.values(), ZERO)), points=points)


def strategies(tally: Tally, stamp: Stamp) -> Strategies:
    """Known strategies in their fixed order, then the trades with no recorded strategy."""
    tallied = tally.strategies()
    order = [s for s in STRATEGIES if s in tallied] + [s for s in tallied if s not in STRATEGIES]
    rows = [StrategyResult(strategy=s, trades=tallied[s].trades, settled_markets=tallied[s].settled,
                           total_pnl=fmt.money(tallied[s].pnl), win_rate=fmt.rate(tallied[s].wins, tallied[s].settled))
            for s in order]
    return Strategies(**stamp.fields(), strategies=rows)


def calibration(tally: Tally, stamp: Stamp, config: PublisherConfig) -> Calibration:
    cal, bins = tally.calibration, []
    for i in range(CALIBRATION_BINS):
        n = len(cal.p[i])
        bins.append(CalibrationBin(
            lo=i / CALIBRATION_BINS, hi=(i + 1) / CALIBRATION_BINS, trades=n,
            mean_predicted=None if n == 0 else round(math.fsum(cal.p[i]) / n, 4),
            realised_rate=fmt.rate(cal.won[i], n), enough_data=n >= config.min_calibration_trades,
        ))
    return Calibration(**stamp.fields(), settled_trades=len(cal.squared_errors),
                       min_trades_per_bin=config.min_calibration_trades, brier_score=cal.brier(), bins=bins)


def _component(name: str, seen: datetime | None, stamp: Stamp, config: PublisherConfig) -> Component:
    age = _age(stamp.cutoff, seen)
    state = "missing" if age is None else ("stale" if age > config.stale_data_minutes * 60 else "ok")
    return Component(name=name, status=state, last_seen=fmt.minute(seen) if seen else None, age_seconds=age)


def health(status: SystemStatus, stamp: Stamp, config: PublisherConfig) -> Health:
    components = [
        _component("weather_data", status.last_weather_at, stamp, config),
        _component("market_data", status.last_market_data_at, stamp, config),
        _component("decisions", status.last_decision_at, stamp, config),
    ]
    if _state(status) == "HALTED" or status.kill_switch:
        overall = "halted"
    elif status.last_decision_at is None:
        overall = "unknown"
    elif status.risk_critical_24h or any(c.status != "ok" for c in components):
        overall = "degraded"
    else:
        overall = "ok"
    return Health(
        **stamp.fields(), status=overall, mode=_mode(status), trading_state=_state(status),
        kill_switch=status.kill_switch, decisions_24h=status.decisions_24h,
        risk_warnings_24h=status.risk_warning_24h, risk_critical_24h=status.risk_critical_24h,
        components=components,
    )
