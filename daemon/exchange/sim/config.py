"""Local exchange simulator settings: balances, liquidity agents, faults."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class AgentConfig(BaseModel):
    """Seeded background liquidity: makers quote around a biased fair value, takers trade through."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    enabled: bool = True
    tick_seconds: int = Field(60, ge=1)             # agents act on ticks aligned to this period
    max_ticks_per_step: int = Field(5, ge=1)        # a long clock jump only simulates the last few ticks
    maker_half_spread_cents: int = Field(2, ge=1, le=20)
    maker_levels: int = Field(3, ge=1, le=10)
    maker_size: int = Field(40, ge=1)               # contracts at the best level; deeper levels get more
    noise_logit_sd: float = Field(0.25, ge=0)       # maker's belief noise around the truth distribution
    longshot_bias: float = Field(0.15, ge=0, lt=1)  # logit shrink toward 0.5: cheap contracts overpriced
    taker_rate_per_tick: float = Field(0.3, ge=0)   # expected taker orders per market per tick
    taker_max_size: int = Field(20, ge=1)
    agent_balance_cents: int = Field(10_000_000_000, ge=0)


class FaultConfig(BaseModel):
    """Random faults injected by the HTTP server (tests use `SimServer.faults.fail_next` instead)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    latency_ms: int = Field(0, ge=0)
    error_500_rate: float = Field(0.0, ge=0, le=1)
    rate_429_rate: float = Field(0.0, ge=0, le=1)
    drop_after_accept_rate: float = Field(0.0, ge=0, le=1)   # order accepted, response lost
    reject_rate: float = Field(0.0, ge=0, le=1)              # order creates refused with a 400
    stale_book_seconds: int = Field(0, ge=0)                 # serve order books this old (0 = live)
    timeout_hold_seconds: float = Field(30.0, gt=0)          # how long a 'timeout' fault holds the socket


class SimConfig(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seed: int = 7
    default_balance_cents: int = Field(100_000, ge=0)       # $1,000 per registered account
    backfill_days: int = Field(0, ge=0, le=30)              # list (and settle) this many past climate days
    days_ahead: int = Field(1, ge=0, le=3)                  # list tomorrow's event once created (D-1 09:30Z)
    settle_delay_seconds: int = Field(6 * 3600, ge=0)       # close → determined (final climate report)
    settlement_timer_seconds: int = Field(300, ge=0)        # determined → finalized (TWC era: 300)
    auth_max_skew_seconds: int = Field(60, ge=1)            # |server time − signed timestamp| tolerated
    client_order_id_scope: Literal["forever", "open"] = "forever"   # reuse rejected: always / while open
    legacy_order_writes: bool = False                        # False: legacy writes answer deprecated_v1_order_endpoint
    maintenance_pause: bool = False                          # Kalshi's Thursday 03:00–05:00 ET trading pause
    rate_limits_enabled: bool = False
    read_tokens_per_s: float = Field(200.0, gt=0)
    read_capacity: float = Field(400.0, gt=0)
    write_tokens_per_s: float = Field(100.0, gt=0)
    write_capacity: float = Field(100.0, gt=0)
    agents: AgentConfig = Field(default_factory=AgentConfig)
    faults: FaultConfig = Field(default_factory=FaultConfig)
