"""Plain views of what the exchange client returns, so the OMS depends on one narrow shape.

The client's pydantic models (`daemon.exchange.models`) are read through attribute names from CONTRACTS.md with
tolerant fallbacks (legacy names, cents vs dollars), and every price/count becomes a Decimal here. If the client's
models drift, only this module changes. Pure: no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.money import dollars_from_cents, parse_decimal
from daemon.trading.intents import book_side_and_yes_price


def _get(obj: Any, *names: str, default: Any = None) -> Any:
    for name in names:
        value = obj.get(name) if isinstance(obj, dict) else getattr(obj, name, None)
        if value is not None:
            return value
    return default


def _dec(value: Any, default: str = "0") -> Decimal:
    if value is None or value == "":
        return Decimal(default)
    if isinstance(value, float):
        value = repr(value)  # never expected: the client parses exact strings; refuse silent float maths
    return parse_decimal(value)


@dataclass(frozen=True)
class ExOrder:
    order_id: str
    client_order_id: str | None
    ticker: str
    side: str  # yes | no  (outcome side)
    action: str  # buy | sell
    status: str  # resting | canceled | executed
    yes_price: Decimal
    initial_count: Decimal
    fill_count: Decimal
    remaining_count: Decimal
    fees: Decimal
    created_time: datetime | None

    @property
    def book_side(self) -> str:
        return book_side_and_yes_price(self.side, self.action, Decimal("0.5"))[0]

    @property
    def side_price(self) -> Decimal:
        """The limit price of the side traded (what ops.orders.limit_price stores)."""
        return self.yes_price if self.side == "yes" else Decimal(1) - self.yes_price


def order_from(model: Any) -> ExOrder:
    side = str(_get(model, "side", "outcome_side", default="yes"))
    action = _get(model, "action")
    if action is None:  # V2 orders carry only book_side: bid = buy YES / sell NO, ask = buy NO / sell YES
        book = _get(model, "book_side", default="bid")
        action = "buy" if (book == "bid") == (side == "yes") else "sell"
    yes_price = _get(model, "price", "yes_price", "yes_price_dollars")
    if yes_price is None and _get(model, "no_price", "no_price_dollars") is not None:
        yes_price = Decimal(1) - _dec(_get(model, "no_price", "no_price_dollars"))
    fees = _dec(_get(model, "taker_fees", "taker_fees_dollars")) + _dec(_get(model, "maker_fees", "maker_fees_dollars"))
    return ExOrder(
        order_id=str(_get(model, "order_id")),
        client_order_id=_get(model, "client_order_id") or None,
        ticker=str(_get(model, "ticker")),
        side=side,
        action=str(action),
        status=str(_get(model, "status", default="resting")),
        yes_price=_dec(yes_price),
        initial_count=_dec(_get(model, "initial_count", "initial_count_fp", "count")),
        fill_count=_dec(_get(model, "fill_count", "fill_count_fp")),
        remaining_count=_dec(_get(model, "remaining_count", "remaining_count_fp")),
        fees=fees,
        created_time=_get(model, "created_time"),
    )


@dataclass(frozen=True)
class ExFill:
    fill_id: str
    order_id: str
    ticker: str
    side: str
    action: str
    count: Decimal
    price: Decimal  # price of the side traded
    is_taker: bool
    fee: Decimal
    created_time: datetime


def fill_from(model: Any) -> ExFill:
    side = str(_get(model, "side", "outcome_side", default="yes"))
    action = _get(model, "action")
    if action is None:
        book = _get(model, "book_side", default="bid")
        action = "buy" if (book == "bid") == (side == "yes") else "sell"
    yes_price = _get(model, "yes_price", "yes_price_dollars")
    no_price = _get(model, "no_price", "no_price_dollars")
    if side == "yes":
        price = _dec(yes_price) if yes_price is not None else Decimal(1) - _dec(no_price)
    else:
        price = _dec(no_price) if no_price is not None else Decimal(1) - _dec(yes_price)
    return ExFill(
        fill_id=str(_get(model, "fill_id", "trade_id")),
        order_id=str(_get(model, "order_id")),
        ticker=str(_get(model, "ticker", "market_ticker")),
        side=side,
        action=str(action),
        count=_dec(_get(model, "count", "count_fp")),
        price=price,
        is_taker=bool(_get(model, "is_taker", default=False)),
        fee=_dec(_get(model, "fee", "fee_cost")),
        created_time=_get(model, "created_time"),
    )


@dataclass(frozen=True)
class ExPosition:
    ticker: str
    position: Decimal  # signed: + YES, − NO
    market_exposure: Decimal
    realized_pnl: Decimal
    fees_paid: Decimal


def position_from(model: Any) -> ExPosition:
    return ExPosition(
        ticker=str(_get(model, "ticker")),
        position=_dec(_get(model, "position", "position_fp")),
        market_exposure=_dec(_get(model, "market_exposure", "market_exposure_dollars")),
        realized_pnl=_dec(_get(model, "realized_pnl", "realized_pnl_dollars")),
        fees_paid=_dec(_get(model, "fees_paid", "fees_paid_dollars")),
    )


@dataclass(frozen=True)
class ExSettlement:
    ticker: str
    event_ticker: str | None
    market_result: str
    yes_count: Decimal
    no_count: Decimal
    revenue: Decimal  # dollars
    settled_time: datetime
    value: Any
    raw: dict[str, Any]


def settlement_from(model: Any) -> ExSettlement:
    revenue_cents = _get(model, "revenue_cents", "revenue")
    revenue = dollars_from_cents(int(revenue_cents)) if revenue_cents is not None else Decimal(0)
    raw = model.model_dump(mode="json") if hasattr(model, "model_dump") else dict(model)
    return ExSettlement(
        ticker=str(_get(model, "ticker")),
        event_ticker=_get(model, "event_ticker"),
        market_result=str(_get(model, "market_result", default="void") or "void"),
        yes_count=_dec(_get(model, "yes_count", "yes_count_fp")),
        no_count=_dec(_get(model, "no_count", "no_count_fp")),
        revenue=revenue,
        settled_time=_get(model, "settled_time"),
        value=_get(model, "value"),
        raw=raw,
    )


@dataclass(frozen=True)
class BookQuote:
    """Top of book from an order book (bids only per side): YES ask = 1 − best NO bid. None = no market."""

    yes_bid: Decimal | None
    yes_ask: Decimal | None
    yes_bid_size: Decimal | None
    yes_ask_size: Decimal | None


def quote_from_book(book: Any) -> BookQuote:
    yes_levels, no_levels = list(_get(book, "yes", default=[])), list(_get(book, "no", default=[]))
    best_yes = yes_levels[-1] if yes_levels else None     # sides sorted ascending: best bid last
    best_no = no_levels[-1] if no_levels else None
    return BookQuote(
        yes_bid=_dec(best_yes.price) if best_yes else None,
        yes_ask=Decimal(1) - _dec(best_no.price) if best_no else None,
        yes_bid_size=_dec(best_yes.count) if best_yes else None,
        yes_ask_size=_dec(best_no.count) if best_no else None,
    )
