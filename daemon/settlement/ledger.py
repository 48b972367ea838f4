"""Realized P&L per settled position, from the ledger's own fills and the exchange's settlement rows.

Recording settlements is NOT done here: `daemon/trading/reconcile.py` (`_ingest_settlements`) already copies
`GET /portfolio/settlements` into ops.settlements (revenue in dollars) through `OrderStore.insert_settlement` and
zeroes the position. This module only reads ops.fills + ops.settlements and computes, per ticker:

    realized = Σ YES-book cash flows − Σ fees + final YES position × value of one YES contract

Every fill is first put in YES-book terms (buy NO at p = sell YES at 1 − p; `book_side_and_yes_price`), so a YES
position closed by buying NO nets correctly. One YES contract is worth $1 on `yes`, $0 on `no`, and the exchange's
`value` (cents) on a `scalar` settlement; anything else (void without a value) is refused, never guessed.
The exchange's revenue is cross-checked against the payout the ledger's fills imply.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.trading.intents import book_side_and_yes_price

__all__ = [
    "SettledPnl", "SettlementError", "YesBook", "pnl_for_position", "realized_pnl", "scalar_value", "yes_book",
    "yes_value",
]

ZERO = Decimal(0)
ONE = Decimal(1)


class SettlementError(ValueError):
    """A settlement row cannot be valued (unknown result, missing scalar value, bad fill)."""


@dataclass(frozen=True)
class SettledPnl:
    ticker: str
    city_code: str | None
    climate_day: date | None
    market_result: str
    position: (
        Decimal  # signed YES contracts held at settlement implied by the fills (NO = negative)
    )
    cash: Decimal  # Σ YES-book trade cash flows, fees excluded (negative = paid)
    fees: Decimal
    payout: Decimal  # what the final position is worth at settlement (dollars)
    realized_pnl: Decimal  # cash + payout − fees
    exchange_revenue: Decimal | None  # ops.settlements.revenue, when a settlement row exists
    exchange_position: Decimal | None  # yes_count − no_count from the settlement row
    mismatches: tuple[str, ...] = ()


def yes_value(market_result: str, value_cents: Any = None) -> Decimal:
    """Dollar value of one YES contract at settlement."""
    result = (market_result or "").strip().lower()
    if result == "yes":
        return ONE
    if result == "no":
        return ZERO
    if value_cents is not None and not isinstance(value_cents, bool):
        try:
            cents = Decimal(str(value_cents))
        except ArithmeticError:
            cents = Decimal("NaN")
        if cents.is_finite() and ZERO <= cents <= 100:
            return cents / 100
    raise SettlementError(
        f"cannot value a {market_result!r} settlement without a 0..100 cent value"
    )


def _fill_cash(fill: Mapping[str, Any]) -> tuple[Decimal, Decimal]:
    """(signed YES position change, YES-book cash flow) of one fill."""
    side, action = str(fill["side"]).lower(), str(fill["action"]).lower()
    if side not in ("yes", "no") or action not in ("buy", "sell"):
        raise SettlementError(
            f"fill {fill.get('exchange_fill_id')}: bad side/action {side}/{action}"
        )
    count, price = Decimal(fill["count"]), Decimal(fill["price"])
    book_side, yes_price = book_side_and_yes_price(side, action, price)
    if book_side == "bid":  # bought YES exposure
        return count, -count * yes_price
    return -count, count * yes_price


@dataclass(frozen=True)
class YesBook:
    """One market's fills in YES-book terms: signed YES position, trade cash (fees excluded), fees."""

    position: Decimal
    cash: Decimal
    fees: Decimal
    city_code: str | None = None
    climate_day: date | None = None


def yes_book(fills: Iterable[Mapping[str, Any]]) -> YesBook:
    """Sum one market's fills in YES-book terms (a YES + NO pair nets to a flat position, as Kalshi nets it)."""
    position = cash = fees = ZERO
    city = day = None
    for fill in fills:
        delta, flow = _fill_cash(fill)
        position += delta
        cash += flow
        fees += Decimal(fill["fee"])
        city, day = fill.get("city_code", city), fill.get("climate_day", day)
    return YesBook(position, cash, fees, city, day)


def pnl_for_position(
    ticker: str,
    fills: Iterable[Mapping[str, Any]],
    market_result: str,
    value_cents: Any = None,
    *,
    settlement: Mapping[str, Any] | None = None,
) -> SettledPnl:
    """Realized P&L of one market's fills at settlement; `settlement` (an ops.settlements row) is cross-checked."""
    book = yes_book(fills)
    position, cash, fees, city, day = book.position, book.cash, book.fees, book.city_code, book.climate_day
    unit = yes_value(market_result, value_cents)
    # a NO contract is worth 1 − unit; in YES-book terms that is already in the cash flows
    payout_yes_book = position * unit
    held_payout = position * unit if position >= 0 else -position * (ONE - unit)
    revenue = ex_position = None
    mismatches: list[str] = []
    if settlement is not None:
        revenue = Decimal(settlement["revenue"])
        ex_position = Decimal(settlement["yes_count"]) - Decimal(settlement["no_count"])
        city, day = settlement.get("city_code") or city, settlement.get("climate_day") or day
        if ex_position != position:
            mismatches.append(f"exchange held {ex_position} at settlement, fills imply {position}")
        if revenue != held_payout:
            mismatches.append(f"exchange paid {revenue}, fills imply {held_payout}")
    return SettledPnl(
        ticker=ticker,
        city_code=city,
        climate_day=day,
        market_result=market_result,
        position=position,
        cash=cash,
        fees=fees,
        payout=held_payout,
        realized_pnl=cash + payout_yes_book - fees,
        exchange_revenue=revenue,
        exchange_position=ex_position,
        mismatches=tuple(mismatches),
    )


def scalar_value(payload: Any) -> Any:
    """Cents per YES contract of a scalar settlement from the stored payload (the dumped Settlement model keeps
    it as `value_cents`; a raw wire row as `value`)."""
    if isinstance(payload, str):
        try:
            payload = json.loads(payload)
        except ValueError:
            return None
    if not isinstance(payload, Mapping):
        return None
    value = payload.get("value_cents")
    return payload.get("value") if value is None else value


def realized_pnl(db: Database, as_of: datetime | None = None) -> list[SettledPnl]:
    """Realized P&L of every settled market we traded, as the ledger knew it at `as_of` (None = everything)."""
    params: list[Any] = []
    where = ""
    if as_of is not None:
        where = " WHERE s.settled_at <= ? AND s.received_at <= ?"
        params = [as_of, as_of]
    settlements = db.query(f"SELECT s.* FROM ops.settlements s{where} ORDER BY s.ticker", params)
    out = []
    for row in settlements:
        fill_sql = "SELECT * FROM ops.fills WHERE ticker = ?"
        fill_params: list[Any] = [row["ticker"]]
        if as_of is not None:
            fill_sql += " AND received_at <= ?"
            fill_params.append(as_of)
        fills = db.query(fill_sql + " ORDER BY filled_at, id", fill_params)
        if not fills and Decimal(row["yes_count"]) == 0 and Decimal(row["no_count"]) == 0:
            continue  # a settlement of a market we never held
        out.append(
            pnl_for_position(
                row["ticker"],
                fills,
                row["market_result"],
                scalar_value(row.get("payload")),
                settlement=row,
            )
        )
    return out
