"""The public JSON feeds as pydantic models; their JSON Schemas are generated from these (publisher/schemas/).

Money is a decimal string (exact, invariant 6); probabilities and rates are numbers rounded to 4 places.
Times are ISO-8601 UTC truncated to the minute ("2026-01-15T11:00Z"-style with seconds: "…T11:00:00Z").
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

Money = Annotated[str, Field(pattern=r"^-?\d+\.\d{2,4}$", description="US dollars, exact decimal string")]
Count = Annotated[str, Field(pattern=r"^\d+(\.\d+)?$", description="contracts, exact decimal string")]
Minute = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:00Z$", description="UTC, to the minute")]
Day = Annotated[str, Field(pattern=r"^\d{4}-\d{2}-\d{2}$")]
Rate = Annotated[float, Field(ge=0, le=1)]

# The strategies the trade record can name: analytics.public_trades publishes exactly these (migration 0041),
# any other intent key as null. A new strategy is added there, here and in STRATEGY_LABELS together.
STRATEGIES = ("taker", "fixed_offset_maker", "model_maker")
StrategyName = Literal["taker", "fixed_offset_maker", "model_maker"]
STRATEGY_LABELS = {"taker": "Taker", "fixed_offset_maker": "Fixed-offset maker", "model_maker": "Model maker"}


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class _Feed(_Strict):
    schema_version: Literal["1.0"] = SCHEMA_VERSION
    as_of: Minute = Field(description="the cut-off: everything shown is at least delay_minutes old")
    published_at: Minute
    delay_minutes: int = Field(ge=60)


class Hero(_Feed):
    total_pnl: Money = Field(description="realised P&L of settled markets, after fees")
    win_rate: Rate | None = Field(description="share of settled markets (voids excluded) with positive P&L")
    settled_markets: int
    trades_today: int = Field(description="fills on the UTC day of the cut-off, up to the cut-off")
    active_positions: int = Field(description="markets held and not yet settled at the cut-off")
    total_trades: int
    mode: Literal["shadow", "demo", "live"] | None
    trading_state: Literal["ACTIVE", "REDUCING", "HALTED"] | None


class City(_Strict):
    code: str
    name: str
    climate_day: Day | None
    observed_high_f: float | None = Field(description="highest temperature observed so far on climate_day")
    forecast_high_f: float | None
    active_positions: int
    total_pnl: Money
    win_rate: Rate | None
    settled_markets: int
    trades: int
    status: Literal["ACTIVE", "IDLE", "STALE", "HALTED", "NO_DATA"]
    data_age_seconds: int | None = Field(description="age of the latest observation at the cut-off")


class Cities(_Feed):
    cities: list[City]


class Trade(_Strict):
    seq: int = Field(description="public trade number, oldest first")
    trade_time: Minute
    city: str
    ticker: str
    climate_day: Day
    side: Literal["yes", "no"]
    action: Literal["buy", "sell"]
    count: Count
    price: Money
    fee: Money
    liquidity: Literal["maker", "taker"]
    strategy: StrategyName | None = Field(description="the strategy that made the trade; null when unrecorded")
    model_probability: Rate | None = Field(description="the model's probability that the traded side wins")
    result: Literal["yes", "no", "void"] | None
    pnl: Money | None
    status: Literal["open", "won", "lost", "void"]


class RecentTrades(_Feed):
    total_trades: int
    trades: list[Trade] = Field(description="the newest trades at the cut-off, newest first")
    archives: list[str] = Field(description="monthly archive files, e.g. trades/2026-01.json")


class MonthlyTrades(_Strict):
    """No as_of here: a closed month's file does not change with each publish."""

    schema_version: Literal["1.0"] = SCHEMA_VERSION
    month: Annotated[str, Field(pattern=r"^\d{4}-\d{2}$")]
    complete: bool = Field(description="the month is over at the cut-off and all its markets have settled")
    delay_minutes: int = Field(ge=60)
    trades: list[Trade]


class EquityPoint(_Strict):
    date: Day
    daily_pnl: Money
    cumulative_pnl: Money
    settled_markets: int


class Equity(_Feed):
    basis: Literal["realised"] = "realised"
    total_pnl: Money
    points: list[EquityPoint] = Field(description="one point per UTC day of settlement, gaps filled with zero")


class StrategyResult(_Strict):
    strategy: StrategyName | None = Field(description="null: trades whose strategy was not recorded")
    trades: int
    settled_markets: int = Field(description="settled markets (voids excluded) this strategy traded in")
    total_pnl: Money = Field(description="realised P&L of this strategy's fills in settled markets, after fees")
    win_rate: Rate | None = Field(description="share of its settled markets where its own P&L is positive")


class Strategies(_Feed):
    basis: Literal["realised"] = "realised"
    strategies: list[StrategyResult] = Field(description="every strategy with a public trade; totals add up to "
                                                         "the hero's P&L")


class CalibrationBin(_Strict):
    lo: float
    hi: float
    trades: int
    mean_predicted: Rate | None
    realised_rate: Rate | None
    enough_data: bool


class Calibration(_Feed):
    settled_trades: int
    min_trades_per_bin: int
    brier_score: float | None
    bins: list[CalibrationBin]


class Component(_Strict):
    name: str
    status: Literal["ok", "stale", "missing"]
    last_seen: Minute | None
    age_seconds: int | None


class Health(_Feed):
    status: Literal["ok", "degraded", "halted", "unknown"]
    mode: Literal["shadow", "demo", "live"] | None
    trading_state: Literal["ACTIVE", "REDUCING", "HALTED"] | None
    kill_switch: bool | None
    decisions_24h: int
    risk_warnings_24h: int
    risk_critical_24h: int
    components: list[Component]


FEEDS: dict[str, type[BaseModel]] = {
    "hero": Hero,
    "cities": Cities,
    "trades_recent": RecentTrades,
    "trades_month": MonthlyTrades,
    "equity": Equity,
    "strategies": Strategies,
    "calibration": Calibration,
    "health": Health,
}
