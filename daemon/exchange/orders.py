"""Order intents as the daemon thinks of them, and their mapping to Kalshi's V2 wire format.

`OrderRequest` speaks in (side, action, price of that side); the V2 API speaks in the YES book
(`bid` = buy YES / sell NO, `ask` = sell YES / buy NO) with the YES price. `CreateOrderOutcome` is the
only thing `KalshiClient.create_order` returns: accepted, rejected, or *unknown* (the order may or may
not exist; resolve with `find_order_by_client_id`, never by blindly resending a new id).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from daemon.clock import ensure_utc
from daemon.exchange.errors import ExchangeError
from daemon.exchange.models import Order, OrderAck, PriceRange
from daemon.money import CENT, ONE, ZERO, fmt_count, fmt_dollars, parse_decimal

_TIF_WIRE = {"gtc": "good_till_canceled", "ioc": "immediate_or_cancel", "fok": "fill_or_kill"}
_MAX_PRICE_PLACES = 4    # requests accept 2–4 decimals
_CLIENT_ORDER_ID_MAX = 64


class OrderRequest(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    ticker: str = Field(min_length=1)
    side: Literal["yes", "no"]
    action: Literal["buy", "sell"]
    count: Decimal                        # contracts, > 0, on the 0.01 grid
    price: Decimal                        # dollars, of the side being traded (NO price for side='no')
    client_order_id: str = Field(min_length=1, max_length=_CLIENT_ORDER_ID_MAX)
    time_in_force: Literal["gtc", "ioc", "fok"] = "gtc"
    post_only: bool = False
    reduce_only: bool = False
    expiration_time: datetime | None = None
    self_trade_prevention: Literal["taker_at_cross", "maker"] = "taker_at_cross"
    cancel_order_on_pause: bool = True    # a paused exchange should not leave our quotes stale

    @field_validator("count", "price", mode="before")
    @classmethod
    def _exact(cls, value: Any) -> Decimal:
        return parse_decimal(value)

    @field_validator("count")
    @classmethod
    def _count_grid(cls, value: Decimal) -> Decimal:
        if value <= ZERO or value != value.quantize(CENT):
            raise ValueError(f"count {value} must be positive with at most 2 decimals")
        return value

    @field_validator("price")
    @classmethod
    def _price_grid(cls, value: Decimal) -> Decimal:
        if not ZERO < value < ONE:
            raise ValueError(f"price {value} must be strictly between 0 and 1 dollars")
        if value != value.quantize(Decimal(1).scaleb(-_MAX_PRICE_PLACES)):
            raise ValueError(f"price {value} has more than {_MAX_PRICE_PLACES} decimals")
        return value

    @field_validator("expiration_time")
    @classmethod
    def _aware(cls, value: datetime | None) -> datetime | None:
        return None if value is None else ensure_utc(value)

    @model_validator(mode="after")
    def _consistent(self) -> OrderRequest:
        if self.expiration_time is not None and self.time_in_force != "gtc":
            raise ValueError("expiration_time is only allowed with time_in_force 'gtc'")
        if self.post_only and self.time_in_force != "gtc":
            raise ValueError("post_only orders must rest: use time_in_force 'gtc'")
        if self.reduce_only and self.time_in_force != "ioc":
            raise ValueError("Kalshi rejects reduce_only orders unless they are IOC")
        return self

    @property
    def yes_price(self) -> Decimal:
        return self.price if self.side == "yes" else ONE - self.price

    @property
    def book_side(self) -> Literal["bid", "ask"]:
        # buy YES ≡ sell NO → bid; sell YES ≡ buy NO → ask.
        return "bid" if (self.side == "yes") == (self.action == "buy") else "ask"

    def to_wire_v2(self) -> dict[str, Any]:
        """Body of `POST /portfolio/events/orders`."""
        body: dict[str, Any] = {
            "ticker": self.ticker,
            "side": self.book_side,
            "count": fmt_count(self.count),
            "price": fmt_dollars(self.yes_price),
            "time_in_force": _TIF_WIRE[self.time_in_force],
            "self_trade_prevention_type": self.self_trade_prevention,
            "client_order_id": self.client_order_id,
            "cancel_order_on_pause": self.cancel_order_on_pause,
        }
        if self.post_only:
            body["post_only"] = True
        if self.reduce_only:
            body["reduce_only"] = True
        if self.expiration_time is not None:
            body["expiration_time"] = int(self.expiration_time.timestamp())
        return body


def check_price_grid(price: Decimal, ranges: list[PriceRange]) -> bool:
    """True if a YES price lies on the market's tick grid (read `price_ranges`, not the label)."""
    for band in ranges:
        if band.start <= price <= band.end and band.step > ZERO:
            steps = (price - band.start) / band.step
            if steps == steps.to_integral_value():
                return True
    return False


def order_from_ack(request: OrderRequest, ack: OrderAck, now: datetime) -> Order:
    """A best-effort `Order` from the lean V2 201 body plus the request (reconcile later via GET)."""
    fill = ack.fill_count if ack.fill_count is not None else ZERO
    remaining = ack.remaining_count if ack.remaining_count is not None else request.count - fill
    if remaining > ZERO:
        status = "resting"
    else:
        status = "executed" if fill >= request.count else "canceled"
    fees = (ack.average_fee_paid or ZERO) * fill
    created = ack.acknowledged_at or now
    return Order(
        order_id=ack.order_id, client_order_id=ack.client_order_id or request.client_order_id,
        ticker=request.ticker, side=request.side, action=request.action, status=status,
        price=request.yes_price, initial_count=request.count, fill_count=fill, remaining_count=remaining,
        taker_fees=fees, maker_fees=ZERO, book_side=request.book_side, created_time=created,
        last_update_time=created, expiration_time=request.expiration_time,
        self_trade_prevention_type=request.self_trade_prevention)


@dataclass(frozen=True)
class CreateOrderOutcome:
    """Result of one create attempt. `unknown` ⇒ the order may exist: look it up by client_order_id."""

    status: Literal["accepted", "rejected", "unknown"]
    client_order_id: str
    order: Order | None = None
    error: ExchangeError | None = None
    ack: OrderAck | None = None
    duplicate: bool = False        # accepted by resolving a 409 duplicate to the existing order

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def rejected(self) -> bool:
        return self.status == "rejected"

    @property
    def unknown(self) -> bool:
        return self.status == "unknown"
