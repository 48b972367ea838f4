"""Trading policy: edge thresholds, sizing, risk caps, loss limits, breakers and order-replacement limits.

Defaults are the owner's risk policy (specs 16/19): bankroll $5,000; open risk 10 %, per trade 2 %, per city 3 %,
per cluster 5 %; daily loss 5 % → pause 24 h, weekly 12 % → half size, monthly 20 % → no new positions;
spread ≤ 3¢; at most 95 contracts per order; reprice at most every 120 s, never chase more than 3¢.
Fractions of the bankroll and money are Decimal so that caps are computed exactly.
Every amount, count and duration has a finite, sane upper bound (e.g. a pause ≤ 30 days): a limit that cannot
be evaluated (`inf`, 1e300 hours) is refused at config load, never discovered at the first loss.
"""

from __future__ import annotations

import math
from decimal import Decimal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_BANKROLL = Decimal(10_000_000)  # dollars; far above any bankroll this system is meant for
MAX_PAUSE_DAYS = 30                 # the longest automatic pause (the monthly loss limit's)
DAY_MINUTES = 24 * 60
DAY_SECONDS = 24 * 3600


class TradingConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    # -- bankroll + sizing ----------------------------------------------------------------------
    bankroll: Decimal = Field(Decimal(5000), gt=0, le=MAX_BANKROLL)  # dollars; caps + loss limits scale with it
    kelly_fraction: Decimal = Field(Decimal("0.25"), gt=0, le=1)  # fraction of full Kelly staked
    max_contracts: Decimal = Field(Decimal(95), gt=0, le=10_000)  # per order (owner: min(95, trade risk / $1))

    # -- edge gates -----------------------------------------------------------------------------
    min_edge: Decimal = Field(Decimal("0.03"), ge=0, lt=1)     # dollars per contract, after the taker fee
    max_spread: Decimal = Field(Decimal("0.03"), gt=0, le=1)   # yes_ask − yes_bid, dollars
    min_depth: Decimal = Field(Decimal(10), ge=0, le=1_000_000)  # contracts at the top of the side we take
    no_trade_minutes_before_close: float = Field(30.0, ge=0, le=DAY_MINUTES)

    # -- exposure caps (fractions of bankroll; exposure = worst-case loss, see daemon/trading/risk.py) ----
    max_per_trade_pct: Decimal = Field(Decimal("0.02"), gt=0, le=1)
    max_per_event_pct: Decimal = Field(Decimal("0.03"), gt=0, le=1)   # all brackets of one city-day
    max_per_city_pct: Decimal = Field(Decimal("0.03"), gt=0, le=1)
    max_per_cluster_pct: Decimal = Field(Decimal("0.05"), gt=0, le=1)
    max_open_risk_pct: Decimal = Field(Decimal("0.10"), gt=0, le=1)

    # -- loss limits (realized + settled P&L over rolling windows) --------------------------------
    daily_loss_pct: Decimal = Field(Decimal("0.05"), gt=0, le=1)
    daily_pause_hours: float = Field(24.0, gt=0, le=MAX_PAUSE_DAYS * 24)
    weekly_loss_pct: Decimal = Field(Decimal("0.12"), gt=0, le=1)
    weekly_size_multiplier: Decimal = Field(Decimal("0.5"), gt=0, le=1)
    monthly_loss_pct: Decimal = Field(Decimal("0.20"), gt=0, le=1)

    # -- breakers -------------------------------------------------------------------------------
    reject_breaker_count: int = Field(5, ge=1, le=1000)                 # N rejects ...
    reject_breaker_minutes: float = Field(10.0, gt=0, le=DAY_MINUTES)   # ... within M minutes → HALTED
    reject_pause_minutes: float = Field(60.0, gt=0, le=MAX_PAUSE_DAYS * DAY_MINUTES)  # then resume
    max_market_data_age_seconds: float = Field(180.0, gt=0, le=3600)   # an older book is stale: no order
    halt_on_db_failure: bool = True
    halt_on_auth_failure: bool = True

    # -- order replacement (read by OmsPolicy.from_config) -----------------------------------------
    reprice_seconds: float = Field(120.0, ge=0, le=DAY_SECONDS)
    max_chase_cents: int = Field(3, ge=0, le=99)
    stale_intent_seconds: float = Field(600.0, gt=0, le=DAY_SECONDS)
    client_id_namespace: str = Field("milkbot", min_length=1)

    @field_validator("*", mode="before")
    @classmethod
    def _no_nan(cls, value: object) -> object:
        if isinstance(value, float) and not math.isfinite(value):
            raise ValueError(f"{value} is not a valid setting: every limit must be a finite number")
        return value

    @model_validator(mode="after")
    def _consistent(self) -> TradingConfig:
        if self.max_per_trade_pct > self.max_open_risk_pct:
            raise ValueError("max_per_trade_pct may not exceed max_open_risk_pct")
        if not self.max_per_city_pct <= self.max_per_cluster_pct <= self.max_open_risk_pct:
            raise ValueError("caps must nest: per city <= per cluster <= open risk")
        if not self.daily_loss_pct <= self.weekly_loss_pct <= self.monthly_loss_pct:
            raise ValueError("loss limits must nest: daily <= weekly <= monthly")
        return self

    def cap(self, pct: Decimal, bankroll: Decimal | None = None) -> Decimal:
        """A fraction of the bankroll in dollars."""
        return pct * (self.bankroll if bankroll is None else bankroll)
