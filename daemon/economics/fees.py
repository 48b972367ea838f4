"""Kalshi's trading fee, exactly as published (fee schedule effective 2026-07-07).

fee = ceil_to_cent(multiplier * rate * C * P * (1 - P)), computed in Decimal, per order or fill.
Rates: taker 0.07; maker 0.0175 (x0.25) for `quadratic_with_maker_fees`, 0.035 for
`quadratic_with_combo_maker_fees`; weather series are `quadratic` (taker pays, maker pays nothing).
Shared by the daemon, the simulator, backtests and reports: never re-implement it elsewhere.
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from enum import Enum

from daemon.money import ONE, ZERO, ceil_cent

TAKER_RATE = Decimal("0.07")


class FeeType(str, Enum):
    QUADRATIC = "quadratic"
    QUADRATIC_WITH_MAKER_FEES = "quadratic_with_maker_fees"
    QUADRATIC_WITH_COMBO_MAKER_FEES = "quadratic_with_combo_maker_fees"


MAKER_RATES = {
    FeeType.QUADRATIC: ZERO,
    FeeType.QUADRATIC_WITH_MAKER_FEES: Decimal("0.0175"),
    FeeType.QUADRATIC_WITH_COMBO_MAKER_FEES: Decimal("0.035"),
}


def _check(count: Decimal, price: Decimal) -> None:
    if not isinstance(count, Decimal) or not isinstance(price, Decimal):
        raise TypeError("fees are computed on Decimal count and price only")
    if count < ZERO:
        raise ValueError(f"negative contract count {count}")
    if not ZERO <= price <= ONE:
        raise ValueError(f"price {price} outside [0, 1] dollars")


def quadratic_fee(count: Decimal, price: Decimal, rate: Decimal, multiplier: Decimal = ONE) -> Decimal:
    _check(count, price)
    return ceil_cent(multiplier * rate * count * price * (ONE - price))


def taker_fee(count: Decimal, price: Decimal, multiplier: Decimal = ONE) -> Decimal:
    """Taker fee in dollars for `count` contracts at `price` dollars (YES or NO price: symmetric)."""
    return quadratic_fee(count, price, TAKER_RATE, multiplier)


def maker_fee(
    count: Decimal, price: Decimal, fee_type: FeeType = FeeType.QUADRATIC, multiplier: Decimal = ONE
) -> Decimal:
    """Maker fee in dollars; zero for weather's plain `quadratic` fee type."""
    return quadratic_fee(count, price, MAKER_RATES[FeeType(fee_type)], multiplier)


def fee(
    count: Decimal,
    price: Decimal,
    *,
    is_taker: bool,
    fee_type: FeeType = FeeType.QUADRATIC,
    multiplier: Decimal = ONE,
) -> Decimal:
    if is_taker:
        return taker_fee(count, price, multiplier)
    return maker_fee(count, price, fee_type, multiplier)


def taker_fee_per_contract(price: Decimal, count: Decimal = ONE, multiplier: Decimal = ONE) -> Decimal:
    """The fee per contract when buying `count` at `price` in one order (rounding spread over the order)."""
    if count <= ZERO:
        raise ValueError("count must be positive")
    return taker_fee(count, price, multiplier) / count


def order_taker_fee(fills: Iterable[tuple[Decimal, Decimal]], multiplier: Decimal = ONE) -> Decimal:
    """The taker fee of ONE order filled at several prices: Kalshi rounds per order, so the exact fees of its
    (count, price) fills are summed first and rounded up to the cent once (equal to `taker_fee` for one fill)."""
    exact = ZERO
    for count, price in fills:
        _check(count, price)
        exact += multiplier * TAKER_RATE * count * price * (ONE - price)
    return ceil_cent(exact)
