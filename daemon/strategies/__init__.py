"""Strategies: one module each behind `base.Strategy`, selected by name in `[strategies] enabled`."""

from __future__ import annotations

from daemon.strategies.base import Strategy
from daemon.strategies.config import StrategiesConfig
from daemon.strategies.fixed_offset_maker import FixedOffsetMaker
from daemon.strategies.model_maker import ModelMaker
from daemon.strategies.taker import TakerStrategy
from daemon.trading.config import TradingConfig


def build_strategies(config: StrategiesConfig, policy: TradingConfig) -> tuple[Strategy, ...]:
    """The enabled strategies, in config order (the order their decisions are acted on)."""
    out: list[Strategy] = []
    for name in config.enabled:
        if name == "taker":
            out.append(TakerStrategy(policy))
        elif name == "fixed_offset_maker":
            out.append(FixedOffsetMaker(config.fixed_offset_maker))
        elif name == "model_maker":
            out.append(ModelMaker(config.model_maker))
    return tuple(out)
