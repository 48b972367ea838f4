"""The simulator's mutable state objects: markets, events, orders, accounts, positions, fills.

Prices are Decimal YES dollars on the cent grid, counts Decimal contracts (0.01 granularity), cash
Decimal dollars (exact: fractional counts can cost fractions of a cent). Nothing here talks HTTP.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from daemon.money import ONE, ZERO

BookSide = Literal["bid", "ask"]


class SimError(Exception):
    """A Kalshi-style refusal: HTTP status plus `{"error":{"code","message","details"}}`."""

    def __init__(self, status: int, code: str, message: str = "", details: str = "") -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details

    def body(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "details": self.details}}


def side_price(book_side: BookSide, yes_price: Decimal) -> Decimal:
    """What one contract of this order costs when it opens a position: YES price or NO price."""
    return yes_price if book_side == "bid" else ONE - yes_price


@dataclass
class SimMarket:
    ticker: str
    event_ticker: str
    series_ticker: str
    city_code: str
    day: date
    strike_type: str
    floor_strike: int | None
    cap_strike: int | None
    yes_sub_title: str
    title: str
    rules_primary: str
    created_time: datetime
    open_time: datetime
    close_time: datetime
    expected_expiration_time: datetime
    latest_expiration_time: datetime
    occurrence_datetime: datetime
    status: str = "initialized"
    result: str = ""
    expiration_value: str = ""
    determined_time: datetime | None = None
    settlement_ts: datetime | None = None
    updated_time: datetime | None = None
    volume: Decimal = ZERO
    open_interest: Decimal = ZERO
    last_price: Decimal | None = None

    def wins(self, high: int) -> bool:
        """YES iff the settled high is in this bracket ('between' inclusive, tails strict)."""
        if self.strike_type == "between":
            assert self.floor_strike is not None and self.cap_strike is not None
            return self.floor_strike <= high <= self.cap_strike
        if self.strike_type == "greater":
            assert self.floor_strike is not None
            return high > self.floor_strike
        assert self.cap_strike is not None
        return high < self.cap_strike


@dataclass
class SimEvent:
    event_ticker: str
    series_ticker: str
    city_code: str
    day: date
    title: str
    sub_title: str
    strike_date: datetime
    market_tickers: list[str] = field(default_factory=list)


@dataclass
class SimOrder:
    order_id: str
    account: str
    client_order_id: str
    ticker: str
    book_side: BookSide
    price: Decimal                    # YES price
    initial_count: Decimal
    remaining_count: Decimal
    time_in_force: str
    self_trade_prevention_type: str
    created_time: datetime
    last_update_time: datetime
    seq: int                          # time priority: lower is earlier in the queue
    expiration_time: datetime | None = None
    post_only: bool = False
    cancel_order_on_pause: bool = False
    order_group_id: str = ""
    status: str = "resting"
    fill_count: Decimal = ZERO
    taker_fees: Decimal = ZERO
    maker_fees: Decimal = ZERO
    taker_fill_cost: Decimal = ZERO
    maker_fill_cost: Decimal = ZERO
    fee_accrued: Decimal = ZERO       # exact (unrounded) taker fee of all fills; charged = ceil_cent of it
    reserved: Decimal = ZERO          # collateral held for the resting remainder
    last_update_reason: str = ""

    @property
    def is_open(self) -> bool:
        return self.status == "resting"

    @property
    def outcome_side(self) -> str:
        return "yes" if self.book_side == "bid" else "no"


@dataclass
class SimFill:
    fill_id: str
    trade_id: str
    order_id: str
    account: str
    ticker: str
    book_side: BookSide
    count: Decimal
    yes_price: Decimal
    is_taker: bool
    fee: Decimal
    created_time: datetime
    limit_price: Decimal        # the order's YES limit when it filled (amend can change it later)


@dataclass
class SimTrade:
    trade_id: str
    ticker: str
    count: Decimal
    yes_price: Decimal
    taker_book_side: BookSide
    created_time: datetime


@dataclass
class SimPosition:
    ticker: str
    position: Decimal = ZERO          # signed: + YES, − NO
    cost: Decimal = ZERO              # cost basis of the open position (dollars)
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    total_traded: Decimal = ZERO
    settled: bool = False
    last_updated: datetime | None = None


@dataclass
class SimSettlement:
    ticker: str
    event_ticker: str
    account: str
    market_result: str
    yes_count: Decimal
    yes_total_cost: Decimal
    no_count: Decimal
    no_total_cost: Decimal
    revenue_cents: int
    value_cents: int
    fee_cost: Decimal
    settled_time: datetime


@dataclass
class SimAccount:
    key_id: str
    public_key_pem: str | None
    cash: Decimal
    deposits: Decimal
    is_agent: bool = False
    reserved: Decimal = ZERO
    positions: dict[str, SimPosition] = field(default_factory=dict)
    order_ids: list[str] = field(default_factory=list)
    fills: list[SimFill] = field(default_factory=list)
    settlements: list[SimSettlement] = field(default_factory=list)
    client_order_ids: dict[str, str] = field(default_factory=dict)   # client id → order id
    updated: datetime | None = None

    @property
    def available(self) -> Decimal:
        return self.cash - self.reserved

    def position(self, ticker: str) -> SimPosition:
        pos = self.positions.get(ticker)
        if pos is None:
            pos = self.positions[ticker] = SimPosition(ticker)
        return pos

    def __repr__(self) -> str:      # never print key material
        return f"SimAccount({self.key_id!r}, cash={self.cash}, agent={self.is_agent})"
