"""Typed Kalshi wire objects, parsed exactly at the boundary.

Accepts both the current schema (`*_dollars` price strings, `*_fp` count strings, since 2026-03) and the
legacy one (integer cents, integer counts). Rule for an un-suffixed money field: an `int` is legacy
cents, a `Decimal`/`str` is already dollars (so our own code can construct models in dollars).
Prices are Decimal dollars, counts Decimal contracts; floats are refused (parse JSON with `loads`,
which turns JSON numbers with a fraction into Decimal). An empty book side is "no market" (None),
never a price of 0 or 1. Unknown wire fields are ignored so additions upstream never break parsing.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from daemon.clock import UTC, ensure_utc
from daemon.money import ONE, ZERO, dollars_from_cents, parse_decimal


def loads(raw: bytes | str) -> Any:
    """JSON → Python with every non-integer number as an exact Decimal (never float)."""
    return json.loads(raw, parse_float=Decimal)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# -- field types --------------------------------------------------------------------------------------

def _decimal(value: Any) -> Any:
    return None if value is None else parse_decimal(value)


def _blank_none(value: Any) -> Any:
    return None if value == "" else value


def _opt_decimal(value: Any) -> Any:
    return None if value is None or value == "" else parse_decimal(value)


def _strike(value: Any) -> Any:
    # Strikes are temperatures, not money: a float from a plain json.loads is converted via its repr.
    if value is None or value == "":
        return None
    if isinstance(value, float):
        return Decimal(repr(value))
    return parse_decimal(value, field="strike")


def _aware(value: datetime | None) -> datetime | None:
    return None if value is None else ensure_utc(value)


def _unix_seconds(value: Any) -> Any:
    if isinstance(value, (int, Decimal)) and not isinstance(value, bool):
        return _EPOCH + timedelta(seconds=int(value))
    return _blank_none(value)


def _price_range(value: Decimal) -> Decimal:
    if not ZERO <= value <= ONE:
        raise ValueError(f"price {value} outside [0, 1] dollars")
    return value


def _opt_price(value: Decimal | None) -> Decimal | None:
    return None if value is None else _price_range(value)


def _non_negative(value: Decimal) -> Decimal:
    if value < ZERO:
        raise ValueError(f"count {value} is negative")
    return value


Dollars = Annotated[Decimal, BeforeValidator(_decimal)]
Price = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_price_range)]
Count = Annotated[Decimal, BeforeValidator(_decimal), AfterValidator(_non_negative)]
Strike = Annotated[Decimal | None, BeforeValidator(_strike)]
Time = Annotated[datetime | None, BeforeValidator(_blank_none), AfterValidator(_aware)]
UnixTime = Annotated[datetime | None, BeforeValidator(_unix_seconds), AfterValidator(_aware)]
BlankStr = Annotated[str | None, BeforeValidator(_blank_none)]


# -- legacy normalisation -----------------------------------------------------------------------------

def _money(data: Mapping[str, Any], name: str, wire_dollars: str | None = None) -> Any:
    """`<name>_dollars` if present, else `<name>` (int = legacy cents, Decimal/str = dollars)."""
    dollars = data.get(wire_dollars or f"{name}_dollars")
    if dollars is not None and dollars != "":
        return dollars
    value = data.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        return dollars_from_cents(value)
    return value


def _count(data: Mapping[str, Any], name: str) -> Any:
    value = data.get(f"{name}_fp")
    return value if value is not None and value != "" else data.get(name)


def _normalise(data: Any, money: tuple[str, ...] = (), counts: tuple[str, ...] = (),
               renames: Mapping[str, tuple[str, ...]] | None = None,
               extra: Callable[[dict[str, Any], Mapping[str, Any]], None] | None = None) -> Any:
    if not isinstance(data, Mapping):
        return data
    out = dict(data)
    for name, pick in [(n, _money) for n in money] + [(n, _count) for n in counts]:
        value = pick(data, name)
        if value is None:
            out.pop(name, None)        # absent → the field's default, not an explicit None
        else:
            out[name] = value
    for target, sources in (renames or {}).items():
        if out.get(target) in (None, ""):
            out[target] = next((data[s] for s in sources if data.get(s) not in (None, "")), out.get(target))
    if extra:
        extra(out, data)
    return out


class WireModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


# -- market data --------------------------------------------------------------------------------------

class SettlementSource(WireModel):
    name: str = ""
    url: str = ""


class Series(WireModel):
    ticker: str
    title: str = ""
    category: str = ""
    frequency: str = ""
    tags: list[str] = Field(default_factory=list)
    fee_type: str = ""
    fee_multiplier: Dollars = Decimal(1)
    settlement_sources: list[SettlementSource] = Field(default_factory=list)
    contract_terms_url: str = ""
    contract_url: str = ""
    last_updated_ts: Time = None


class PriceRange(WireModel):
    start: Price
    end: Price
    step: Dollars


_MARKET_MONEY = ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "previous_yes_bid",
                 "previous_yes_ask", "previous_price", "notional_value")
_MARKET_COUNTS = ("volume", "volume_24h", "open_interest", "yes_bid_size", "yes_ask_size")


def _market_extra(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    out["settlement_value"] = _money(data, "settlement_value")
    if not out.get("series_ticker") and isinstance(data.get("event_ticker"), str):
        out["series_ticker"] = data["event_ticker"].split("-", 1)[0]


class Market(WireModel):
    ticker: str
    event_ticker: str
    series_ticker: str | None = None
    market_type: str = "binary"
    status: str
    strike_type: str | None = None
    floor_strike: Strike = None
    cap_strike: Strike = None
    title: str = ""
    subtitle: BlankStr = None
    yes_sub_title: BlankStr = None
    no_sub_title: BlankStr = None
    rules_primary: str = ""
    rules_secondary: str = ""
    created_time: Time = None
    updated_time: Time = None
    open_time: Time = None
    close_time: Time = None
    expected_expiration_time: Time = None
    expiration_time: Time = None
    latest_expiration_time: Time = None
    settlement_ts: Time = None
    settlement_timer_seconds: int | None = None
    result: BlankStr = None
    expiration_value: Annotated[Decimal | None, BeforeValidator(_opt_decimal)] = None
    settlement_value: Annotated[Decimal | None, BeforeValidator(_opt_decimal), AfterValidator(_opt_price)] = None
    yes_bid: Price | None = None
    yes_ask: Price | None = None
    no_bid: Price | None = None
    no_ask: Price | None = None
    yes_bid_size: Count | None = None
    yes_ask_size: Count | None = None
    last_price: Price | None = None
    previous_yes_bid: Price | None = None
    previous_yes_ask: Price | None = None
    previous_price: Price | None = None
    volume: Count | None = None
    volume_24h: Count | None = None
    open_interest: Count | None = None
    notional_value: Dollars | None = None
    can_close_early: bool | None = None
    price_level_structure: str | None = None
    price_ranges: list[PriceRange] = Field(default_factory=list)
    exchange_index: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, _MARKET_MONEY, _MARKET_COUNTS, extra=_market_extra)

    @model_validator(mode="after")
    def _absent_quotes(self) -> Market:
        # The snapshot shows "no bid" as 0.00 and "no ask" as 1.00 (size 0.00): absence, not a price.
        updates: dict[str, None] = {}
        if self.yes_bid is not None and (self.yes_bid == ZERO or self.yes_bid_size == ZERO):
            updates["yes_bid"] = None
        if self.yes_ask is not None and (self.yes_ask == ONE or self.yes_ask_size == ZERO):
            updates["yes_ask"] = None
        if self.no_bid is not None and (self.no_bid == ZERO or "yes_ask" in updates):
            updates["no_bid"] = None       # NO bid = 1 − YES ask
        if self.no_ask is not None and (self.no_ask == ONE or "yes_bid" in updates):
            updates["no_ask"] = None       # NO ask = 1 − YES bid
        for name, value in updates.items():
            object.__setattr__(self, name, value)
        return self

    @property
    def label(self) -> str:
        return self.yes_sub_title or self.subtitle or self.title

    @property
    def is_open(self) -> bool:
        return self.status in ("active", "open")


class Event(WireModel):
    event_ticker: str
    series_ticker: str = ""
    title: str = ""
    sub_title: str = ""
    category: str = ""
    mutually_exclusive: bool | None = None
    collateral_return_type: str | None = None
    strike_date: Time = None
    strike_period: BlankStr = None
    settlement_sources: list[SettlementSource] = Field(default_factory=list)
    markets: list[Market] = Field(default_factory=list)

    @classmethod
    def from_response(cls, body: Mapping[str, Any]) -> Event:
        """`GET /events/{t}` body: markets nested in `event.markets`, or (deprecated) top-level."""
        event = dict(body["event"])
        if not event.get("markets") and body.get("markets"):
            event["markets"] = body["markets"]
        return cls.model_validate(event)


class PriceLevel(WireModel):
    price: Price
    count: Count

    @model_validator(mode="before")
    @classmethod
    def _pair(cls, data: Any) -> Any:
        if isinstance(data, (list, tuple)) and len(data) == 2:
            price, count = data
            if isinstance(price, int) and not isinstance(price, bool):
                price = dollars_from_cents(price)      # legacy [[cents, n]]
            return {"price": price, "count": count}
        return data


def _levels(side: Any) -> list[Any]:
    return [] if side is None else list(side)


class OrderBook(WireModel):
    """Bids only, per side, sorted ascending by price (best bid last). Empty side = no market."""

    market_ticker: str
    yes: list[PriceLevel] = Field(default_factory=list)
    no: list[PriceLevel] = Field(default_factory=list)
    received_at: Time = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        if "market_ticker" not in out and "ticker" in out:
            out["market_ticker"] = out["ticker"]
        book = data.get("orderbook_fp")
        if isinstance(book, Mapping):
            out["yes"], out["no"] = _levels(book.get("yes_dollars")), _levels(book.get("no_dollars"))
        elif isinstance(data.get("orderbook"), Mapping):      # legacy shape (pre 2026-03-12)
            legacy = data["orderbook"]
            if legacy.get("yes_dollars") is not None or legacy.get("no_dollars") is not None:
                out["yes"], out["no"] = _levels(legacy.get("yes_dollars")), _levels(legacy.get("no_dollars"))
            else:
                out["yes"], out["no"] = _levels(legacy.get("yes")), _levels(legacy.get("no"))
        for side in ("yes", "no"):
            out[side] = _levels(out.get(side))
        return out

    @model_validator(mode="after")
    def _sorted(self) -> OrderBook:
        for side in ("yes", "no"):
            levels = [lv for lv in getattr(self, side) if lv.count > ZERO]
            levels.sort(key=lambda lv: lv.price)
            for a, b in zip(levels, levels[1:]):
                if a.price == b.price:
                    raise ValueError(f"{side} book repeats price level {a.price}")
            for lv in levels:
                if not ZERO < lv.price < ONE:
                    raise ValueError(f"{side} book level at impossible price {lv.price}")
            object.__setattr__(self, side, levels)
        return self

    @property
    def best_yes_bid(self) -> Decimal | None:
        return self.yes[-1].price if self.yes else None

    @property
    def best_no_bid(self) -> Decimal | None:
        return self.no[-1].price if self.no else None

    @property
    def best_yes_ask(self) -> Decimal | None:
        return ONE - self.no[-1].price if self.no else None

    @property
    def best_no_ask(self) -> Decimal | None:
        return ONE - self.yes[-1].price if self.yes else None

    def yes_asks(self) -> list[PriceLevel]:
        """YES offers implied by NO bids, best (lowest) first."""
        return [PriceLevel(price=ONE - lv.price, count=lv.count) for lv in reversed(self.no)]

    def no_asks(self) -> list[PriceLevel]:
        return [PriceLevel(price=ONE - lv.price, count=lv.count) for lv in reversed(self.yes)]

    @property
    def is_empty(self) -> bool:
        return not self.yes and not self.no


def _trade_extra(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    out["taker_side"] = data.get("taker_outcome_side") or data.get("taker_side")


class Trade(WireModel):
    trade_id: str
    ticker: str
    count: Count
    yes_price: Price
    no_price: Price | None = None
    taker_side: str | None = None
    taker_book_side: str | None = None
    created_time: Time = None
    is_block_trade: bool | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("yes_price", "no_price"), ("count",), extra=_trade_extra)


class ExchangeStatus(WireModel):
    exchange_active: bool
    trading_active: bool
    exchange_estimated_resume_time: Time = None


# -- portfolio ----------------------------------------------------------------------------------------

class Balance(WireModel):
    balance_cents: int
    portfolio_value_cents: int | None = None
    updated_ts: UnixTime = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        if isinstance(data, Mapping) and "balance_cents" not in data:
            out = dict(data)
            out["balance_cents"] = data.get("balance")
            out["portfolio_value_cents"] = data.get("portfolio_value")
            return out
        return data

    @property
    def balance(self) -> Decimal:
        return dollars_from_cents(self.balance_cents)


def _sides(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    """side/action: legacy fields when sent, else derived from book_side (bid = buy YES, ask = buy NO).

    Kalshi nets YES and NO in one market, so 'sell NO' and 'buy YES' are the same book action."""
    side, action = data.get("side"), data.get("action")
    if side in ("yes", "no") and action in ("buy", "sell"):
        return
    book_side = data.get("book_side")
    if book_side in ("bid", "ask"):
        out["side"], out["action"] = ("yes" if book_side == "bid" else "no"), "buy"
    elif data.get("outcome_side") in ("yes", "no"):
        out["side"], out["action"] = data["outcome_side"], "buy"


def _order_extra(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    _sides(out, data)
    out["price"] = _money(data, "yes_price") if data.get("price") is None else data["price"]
    out["no_price"] = _money(data, "no_price")
    if out.get("initial_count") in (None, "") and out.get("fill_count") is not None \
            and out.get("remaining_count") is not None:
        out["initial_count"] = parse_decimal(out["fill_count"]) + parse_decimal(out["remaining_count"])
    if out.get("client_order_id") == "":
        out["client_order_id"] = None


class Order(WireModel):
    order_id: str
    client_order_id: str | None = None
    ticker: str
    side: str                     # 'yes' | 'no' (outcome bought or sold)
    action: str                   # 'buy' | 'sell'
    status: str                   # 'resting' | 'canceled' | 'executed' ('pending' is legacy)
    price: Price                  # YES-side limit price, dollars
    no_price: Price | None = None
    initial_count: Count
    fill_count: Count = ZERO
    remaining_count: Count = ZERO
    taker_fees: Dollars = ZERO
    maker_fees: Dollars = ZERO
    taker_fill_cost: Dollars | None = None
    maker_fill_cost: Dollars | None = None
    outcome_side: str | None = None
    book_side: str | None = None
    created_time: Time = None
    last_update_time: Time = None
    expiration_time: Time = None
    self_trade_prevention_type: str | None = None
    order_group_id: BlankStr = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("taker_fees", "maker_fees", "taker_fill_cost", "maker_fill_cost"),
                          ("initial_count", "fill_count", "remaining_count"), extra=_order_extra)

    @property
    def side_price(self) -> Decimal:
        """Limit price of the side this order trades (NO price for a NO order)."""
        return self.price if self.side == "yes" else ONE - self.price

    @property
    def is_open(self) -> bool:
        return self.status in ("resting", "pending")


def _fill_extra(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    _sides(out, data)
    out["fill_id"] = data.get("fill_id") or data.get("trade_id")
    out["ticker"] = data.get("ticker") or data.get("market_ticker")
    fee = data.get("fee_cost")
    out["fee"] = dollars_from_cents(fee) if isinstance(fee, int) and not isinstance(fee, bool) else fee
    if out.get("yes_price") is None and data.get("yes_price_fixed") is not None:
        out["yes_price"] = data["yes_price_fixed"]


class Fill(WireModel):
    fill_id: str
    trade_id: str | None = None
    order_id: str
    ticker: str
    side: str
    action: str
    count: Count
    yes_price: Price
    no_price: Price | None = None
    is_taker: bool | None = None
    fee: Dollars | None = None
    created_time: Time = None
    ts: UnixTime = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("yes_price", "no_price"), ("count",), extra=_fill_extra)

    @property
    def side_price(self) -> Decimal:
        return self.yes_price if self.side == "yes" else (self.no_price if self.no_price is not None
                                                          else ONE - self.yes_price)


class Position(WireModel):
    ticker: str
    position: Annotated[Decimal, BeforeValidator(_decimal)]      # signed: + YES, − NO
    market_exposure: Dollars = ZERO
    realized_pnl: Dollars = ZERO
    fees_paid: Dollars = ZERO
    total_traded: Dollars | None = None
    resting_orders_count: int | None = None
    last_updated_ts: Time = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("market_exposure", "realized_pnl", "fees_paid", "total_traded"),
                          ("position",))


def _settlement_extra(out: dict[str, Any], data: Mapping[str, Any]) -> None:
    out["revenue_cents"] = data.get("revenue_cents", data.get("revenue"))
    out["value_cents"] = data.get("value_cents", data.get("value"))
    fee = data.get("fee_cost")
    out["fee_cost"] = dollars_from_cents(fee) if isinstance(fee, int) and not isinstance(fee, bool) else fee


class Settlement(WireModel):
    ticker: str
    event_ticker: str | None = None
    market_result: str
    yes_count: Count = ZERO
    no_count: Count = ZERO
    yes_total_cost: Dollars | None = None
    no_total_cost: Dollars | None = None
    revenue_cents: int
    value_cents: int | None = None
    fee_cost: Dollars | None = None
    settled_time: Time = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("yes_total_cost", "no_total_cost"), ("yes_count", "no_count"),
                          extra=_settlement_extra)


# -- order write acknowledgements (V2 lean responses) ----------------------------------------------------

class OrderAck(WireModel):
    """201 body of `POST /portfolio/events/orders` (and amend/decrease). Not the full order."""

    order_id: str
    client_order_id: BlankStr = None
    fill_count: Count | None = None
    remaining_count: Count | None = None
    average_fill_price: Price | None = None
    average_fee_paid: Dollars | None = None
    reduced_by: Count | None = None
    ts_ms: int | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        out = _normalise(data, ("average_fill_price", "average_fee_paid"),
                         ("fill_count", "remaining_count", "reduced_by"))
        if isinstance(out, dict):
            for name in ("average_fill_price", "average_fee_paid"):
                if out.get(name) == "":
                    out[name] = None
        return out

    @property
    def acknowledged_at(self) -> datetime | None:
        return None if self.ts_ms is None else _EPOCH + timedelta(milliseconds=self.ts_ms)


# -- candles ------------------------------------------------------------------------------------------

class PriceOHLC(WireModel):
    open: Price | None = None
    high: Price | None = None
    low: Price | None = None
    close: Price | None = None
    mean: Price | None = None
    previous: Price | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, ("open", "high", "low", "close", "mean", "previous"))


class Candlestick(WireModel):
    """One period; emitted only when something changed (carry values forward)."""

    end_period_ts: UnixTime
    yes_bid: PriceOHLC | None = None
    yes_ask: PriceOHLC | None = None
    price: PriceOHLC | None = None
    volume: Count | None = None
    open_interest: Count | None = None

    @model_validator(mode="before")
    @classmethod
    def _wire(cls, data: Any) -> Any:
        return _normalise(data, (), ("volume", "open_interest"))
