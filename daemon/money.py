"""Exact money and count values. Prices are Decimal dollars (Kalshi quotes up to 6 decimals);
counts are Decimal contracts (0.01 granularity). Never floats."""

from __future__ import annotations

from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

CENT = Decimal("0.01")
CENTICENT = Decimal("0.0001")
ONE = Decimal(1)
ZERO = Decimal(0)


class MoneyFormatError(ValueError):
    """A price, amount or count string that is not an exact finite decimal."""


def parse_decimal(value: object, *, field: str = "value") -> Decimal:
    """Parse a fixed-point string (or int) exactly. Floats are refused: they are already inexact."""
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyFormatError(f"{field}: refusing inexact {type(value).__name__} {value!r}")
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise MoneyFormatError(f"{field}: {value!r} is not a decimal number") from None
    else:
        raise MoneyFormatError(f"{field}: expected a decimal string, got {type(value).__name__}")
    if not result.is_finite():
        raise MoneyFormatError(f"{field}: {value!r} is not finite")
    return result


def dollars_from_cents(cents: int) -> Decimal:
    return (Decimal(cents) * CENT).quantize(CENTICENT)


def to_cents(dollars: Decimal) -> int:
    """Whole cents; refuses a value that is not on the cent grid (use ceil/floor explicitly)."""
    cents = dollars * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{dollars} is not a whole number of cents")
    return int(cents)


def ceil_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_CEILING)


def floor_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_FLOOR)


def round_cent(amount: Decimal) -> Decimal:
    return amount.quantize(CENT, rounding=ROUND_HALF_EVEN)


def fmt_dollars(amount: Decimal, places: int = 4) -> str:
    """Wire format for a dollar amount, e.g. Decimal('0.56') -> '0.5600'."""
    return str(amount.quantize(Decimal(1).scaleb(-places)))


def fmt_count(count: Decimal) -> str:
    """Wire format for a count, always two decimals: Decimal(10) -> '10.00'."""
    return str(count.quantize(CENT))
