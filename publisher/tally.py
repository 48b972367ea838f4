"""Running totals over the public trades (one pass, oldest first): markets, cities, strategies, days, calibration.

Pure arithmetic on rows the database already delayed; P&L is exact Decimal. A market counts as won when its
settled P&L (all fills, after fees) is positive; void markets are excluded from win rates. Per strategy, the
same rule is applied to each strategy's own fills in each market, so the strategies' P&L adds up to the total.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from publisher.queries import PublicTrade

ZERO = Decimal(0)
CALIBRATION_BINS = 10


@dataclass
class MarketTally:
    ticker: str
    city_code: str
    net_yes: Decimal = ZERO          # signed YES contracts: NO held counts negative
    pnl: Decimal = ZERO
    result: str | None = None
    settled_day: date | None = None


@dataclass
class CityTally:
    trades: int = 0
    pnl: Decimal = ZERO
    settled: int = 0
    wins: int = 0
    active: int = 0
    daily_pnl: dict[date, Decimal] = field(default_factory=lambda: defaultdict(lambda: ZERO))


@dataclass
class StrategyTally:
    trades: int = 0
    pnl: Decimal = ZERO
    settled: int = 0
    wins: int = 0


@dataclass
class CalibrationTally:
    p: list[list[float]] = field(default_factory=lambda: [[] for _ in range(CALIBRATION_BINS)])
    won: list[int] = field(default_factory=lambda: [0] * CALIBRATION_BINS)
    squared_errors: list[float] = field(default_factory=list)

    def add(self, p_side: float, won: bool) -> None:
        if not 0.0 <= p_side <= 1.0:   # NaN or out of range: a broken model row is not evidence
            return
        index = min(int(p_side * CALIBRATION_BINS), CALIBRATION_BINS - 1)
        self.p[index].append(p_side)
        self.won[index] += int(won)
        self.squared_errors.append((p_side - float(won)) ** 2)

    def brier(self) -> float | None:
        n = len(self.squared_errors)
        return None if n == 0 else round(math.fsum(self.squared_errors) / n, 4)


def signed_yes(trade: PublicTrade) -> Decimal:
    direction = 1 if (trade.side == "yes") == (trade.action == "buy") else -1
    return trade.count * direction


@dataclass
class Tally:
    cutoff: datetime
    total_trades: int = 0
    trades_today: int = 0
    markets: dict[str, MarketTally] = field(default_factory=dict)
    city_trades: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    strategy_trades: dict[str | None, int] = field(default_factory=lambda: defaultdict(int))
    # (strategy, ticker) → that strategy's fills in that market
    strategy_markets: dict[tuple[str | None, str], MarketTally] = field(default_factory=dict)
    calibration: CalibrationTally = field(default_factory=CalibrationTally)

    def add(self, trade: PublicTrade) -> None:
        self.total_trades += 1
        self.city_trades[trade.city_code] += 1
        if trade.trade_time.date() == self.cutoff.date():
            self.trades_today += 1
        market = self.markets.get(trade.ticker)
        if market is None:
            market = self.markets[trade.ticker] = MarketTally(trade.ticker, trade.city_code)
        market.net_yes += signed_yes(trade)
        self.strategy_trades[trade.strategy] += 1
        own = self.strategy_markets.get((trade.strategy, trade.ticker))
        if own is None:
            own = self.strategy_markets[(trade.strategy, trade.ticker)] = MarketTally(trade.ticker, trade.city_code)
        own.net_yes += signed_yes(trade)
        if trade.market_result is not None:
            for tallied in (market, own):
                tallied.result = trade.market_result
                tallied.settled_day = trade.settled_at.date() if trade.settled_at else None
                tallied.pnl += trade.pnl if trade.pnl is not None else ZERO
            if trade.action == "buy" and trade.p_side is not None and trade.market_result in ("yes", "no"):
                self.calibration.add(trade.p_side, trade.side == trade.market_result)

    # -- derived -------------------------------------------------------------------------------------
    def cities(self) -> dict[str, CityTally]:
        out: dict[str, CityTally] = defaultdict(CityTally)
        for code, trades in self.city_trades.items():
            out[code].trades = trades
        for market in self.markets.values():
            city = out[market.city_code]
            if market.result is None:
                city.active += int(market.net_yes != 0)
                continue
            city.pnl += market.pnl
            if market.settled_day is not None:
                city.daily_pnl[market.settled_day] += market.pnl
            if market.result in ("yes", "no"):
                city.settled += 1
                city.wins += int(market.pnl > 0)
        return out

    def strategies(self) -> dict[str | None, StrategyTally]:
        """Per strategy (None: not recorded), in order of first public trade."""
        out: dict[str | None, StrategyTally] = {s: StrategyTally(trades=n) for s, n in self.strategy_trades.items()}
        for (strategy, _ticker), market in self.strategy_markets.items():
            if market.result is None:
                continue
            tallied = out[strategy]
            tallied.pnl += market.pnl
            if market.result in ("yes", "no"):
                tallied.settled += 1
                tallied.wins += int(market.pnl > 0)
        return out
