"""Formatting shared by feeds and pages: exact money strings, minute timestamps, rates."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import ROUND_HALF_EVEN, Decimal

FOUR = Decimal("0.0001")
CENT = Decimal("0.01")


def money(value: Decimal) -> str:
    """Exact dollars with 4 places (Kalshi quotes sub-cent prices): Decimal('1.5') → '1.5000'."""
    if not isinstance(value, Decimal):
        raise TypeError(f"money must be Decimal, got {type(value).__name__}")
    return str(value.quantize(FOUR, rounding=ROUND_HALF_EVEN) + 0)


def count(value: Decimal) -> str:
    return str(value.quantize(CENT) + 0)


def dollars(value: Decimal) -> str:
    """Display form for pages: '+$12.34' / '−$3.00' (rounded to the cent for reading; feeds stay exact)."""
    cents = value.quantize(CENT, rounding=ROUND_HALF_EVEN)
    sign = "+" if cents > 0 else ("−" if cents < 0 else "")
    return f"{sign}${abs(cents):,.2f}"


def minute(value: datetime) -> str:
    v = value if value.tzinfo is UTC else value.astimezone(UTC)
    return f"{v.year:04d}-{v.month:02d}-{v.day:02d}T{v.hour:02d}:{v.minute:02d}:00Z"


def human_minute(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def day(value: date) -> str:
    return value.isoformat()


def rate(numerator: int, denominator: int) -> float | None:
    return None if denominator == 0 else round(numerator / denominator, 4)


def percent(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.1f}%"
