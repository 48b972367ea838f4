"""Fractional Kelly for one binary contract after fees, in whole contracts.

A contract costs c = price + fee and pays $1 if it wins (probability p). Full Kelly stakes the bankroll
fraction f* = (p − c) / (1 − c); we stake `kelly_fraction` of that, buy floor(stake / c) contracts and clip to
`max_contracts`. Zero whenever p ≤ c (no edge after fees). The risk engine clips further (caps, half size).
Pure: no I/O, no clock.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

from daemon.money import ONE, ZERO
from daemon.trading.config import TradingConfig


class SizingError(ValueError):
    """Inputs that cannot be sized (NaN probability, negative bankroll, price off the 0–1 range)."""


def kelly_fraction_of_bankroll(p_win: float, cost: Decimal) -> Decimal:
    """Full-Kelly bankroll fraction for a $1 binary costing `cost` all-in; 0 when there is no edge."""
    p = _probability(p_win)
    if cost <= ZERO or cost >= ONE or p <= cost:
        return ZERO
    return (p - cost) / (ONE - cost)


def kelly_count(
    p_win: float, price: Decimal, fee_per_contract: Decimal, bankroll: Decimal, policy: TradingConfig,
    *, multiplier: Decimal = ONE,
) -> Decimal:
    """Whole contracts to buy at `price` (the side's price) given the win probability of that side."""
    _check_money(price, fee_per_contract, bankroll, multiplier)
    cost = price + fee_per_contract
    full = kelly_fraction_of_bankroll(p_win, cost)
    if full <= ZERO or bankroll <= ZERO:
        return ZERO
    stake = full * policy.kelly_fraction * multiplier * bankroll
    count = (stake / cost).to_integral_value(rounding=ROUND_FLOOR)
    return max(ZERO, min(count, policy.max_contracts.to_integral_value(rounding=ROUND_FLOOR)))


def _probability(p_win: float) -> Decimal:
    if isinstance(p_win, bool) or not isinstance(p_win, (int, float, Decimal)):
        raise SizingError(f"probability must be a number, got {type(p_win).__name__}")
    if isinstance(p_win, float) and not math.isfinite(p_win):
        raise SizingError(f"probability {p_win!r} is not finite")
    p = Decimal(repr(p_win)) if isinstance(p_win, float) else Decimal(p_win)
    if not ZERO <= p <= ONE:
        raise SizingError(f"probability {p} outside [0, 1]")
    return p


def _check_money(price: Decimal, fee: Decimal, bankroll: Decimal, multiplier: Decimal) -> None:
    for name, value in (("price", price), ("fee", fee), ("bankroll", bankroll), ("multiplier", multiplier)):
        if not isinstance(value, Decimal) or not value.is_finite():
            raise SizingError(f"{name} must be a finite Decimal, got {value!r}")
    if not ZERO < price < ONE:
        raise SizingError(f"price {price} outside (0, 1) dollars")
    if fee < ZERO or bankroll < ZERO or multiplier < ZERO:
        raise SizingError("fee, bankroll and multiplier must be >= 0")
