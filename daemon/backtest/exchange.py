"""`TapeExchange`: the recorded tape behind the Kalshi client's interface, point-in-time, for backtests.

Same method names, signatures and return types as `daemon.exchange.client.KalshiClient` for everything the
daemon, the order manager and the reconciler call; the outcome of each call is what the client would return
against the simulator (`daemon/exchange/sim`): the same JSON shapes (built with the simulator's own wire
functions), the same refusals (a duplicate client order id is a 409 that the client resolves to the existing
order; a closed market a 409; too little cash a 400), the same money model (netting YES against NO for $1,
resting orders reserving their cost, balance = cash − reserved, floored to the cent).

Point-in-time: every call first advances the exchange to `clock.now()`; only trades with created_time < now
exist. A resting order is filled only by trades with created_time ≥ its creation, by the injected fill rule
(`daemon.backtest.fills`), at its own limit price (maker), paying the maker fee of the series' fee type (zero for
the weather series' plain `quadratic`). An order that crosses the modelled book is a taker at the modelled far
side, never better than its limit, at most `depth` contracts per level over `levels` levels (used depth stays
used until the market's next recorded trade), paying the taker fee rounded per order.

The modelled book: with L the sweep-resolved last trade and s the spread model's spread at L, the last sweep's
side is the touch it hit — after a YES-taker sweep the YES ask is L and the bid L − s; after a NO-taker sweep the
bid is L and the ask L + s — then `levels` levels 1 ¢ apart, `depth` contracts each (default 3 × 30: the study's
fills come from sweeps of a thin book, median 80–100 contracts). No trade yet: no book. Our resting orders are
shown in it, and modelled levels that would cross them are not. Resting orders are cancelled at close_time;
markets settle from the record at the tape's `settles_at`; a market without a recorded result never settles
(`unsettled()` lists such positions).

Speed: advancing touches only markets with our resting orders and only their new trades; settlement only
markets we hold. Deterministic: no randomness; ids derive from a counter. Never reads the wall clock.
"""

from __future__ import annotations

import functools
import hashlib
import heapq
import json
import threading
import uuid
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal, Self, TypeVar

import numpy as np

from daemon.backtest.fills import FillRule, RestingFillState, Strict
from daemon.backtest.spread import SpreadModel, SpreadSource, WalkForwardSpread
from daemon.backtest.tape import Tape, TapeMarket, from_us, to_us
from daemon.clock import Clock, ensure_utc
from daemon.economics import fees
from daemon.exchange.errors import (
    AuthError,
    ConfigError,
    DuplicateOrderError,
    ExchangeError,
    RejectedError,
    error_from_response,
)
from daemon.exchange.models import (
    Balance,
    Event,
    ExchangeStatus,
    Fill,
    Market,
    Order,
    OrderAck,
    OrderBook,
    Position,
    Series,
    Settlement,
)
from daemon.exchange.orders import CreateOrderOutcome, OrderRequest, order_from_ack
from daemon.exchange.sim import wire
from daemon.exchange.sim.state import (
    SimAccount,
    SimError,
    SimFill,
    SimOrder,
    SimPosition,
    SimSettlement,
    side_price,
)
from daemon.money import CENT, ONE, ZERO, dollars_from_cents, floor_cent, parse_decimal

BookSide = Literal["bid", "ask"]
DEFAULT_DEPTH = Decimal(30)
DEFAULT_LEVELS = 3
_TIF = {"good_till_canceled": "gtc", "immediate_or_cancel": "ioc", "fill_or_kill": "fok"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PAGE = 200
ORDER_STATUSES = ("resting", "canceled", "executed")
EVENT_STATUSES = ("unopened", "open", "closed", "settled")


@dataclass
class _Resting:
    order: SimOrder
    start: int                       # first index in the ticker's trades this order may be filled by
    state: RestingFillState = field(default_factory=RestingFillState)


@dataclass
class _Taken:
    """Modelled depth we took since the market's last recorded trade (index), per (side, YES cents)."""

    index: int
    used: dict[tuple[str, int], Decimal] = field(default_factory=dict)


F = TypeVar("F", bound=Callable[..., Any])


def _locked(method: F) -> F:
    """One caller at a time (the simulator's rule): the daemon's loops never overlap, other threads may read."""
    @functools.wraps(method)
    def wrapper(self: TapeExchange, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            return method(self, *args, **kwargs)
    return wrapper  # type: ignore[return-value]


def _unix(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp())


def _dollars(cents: int) -> str:
    return wire.fmt_dollars(Decimal(cents) / 100)


def _pages(n: int, limit: int) -> int:
    return max(1, -(-n // max(1, limit)))


class TapeExchange:
    def __init__(self, tape: Tape, clock: Clock, *, fill_rule: FillRule | None = None, spread: SpreadSource | None = None,
                 balance_cents: int = 100_000, depth: Decimal = DEFAULT_DEPTH, levels: int = DEFAULT_LEVELS,
                 fee_type: fees.FeeType = fees.FeeType.QUADRATIC, fee_multiplier: Decimal = ONE,
                 key_id: str = "backtest") -> None:
        if levels < 1 or depth <= ZERO:
            raise ValueError("the modelled book needs at least one level of positive depth")
        self.tape = tape
        self.clock = clock
        self.fill_rule = fill_rule or Strict()
        self.spread = spread if spread is not None else WalkForwardSpread(tape)
        self.depth = Decimal(depth)
        self.levels = levels
        self.fee_type = fees.FeeType(fee_type)
        self.fee_multiplier = fee_multiplier
        self.key_id = key_id
        self._lock = threading.RLock()
        cash = dollars_from_cents(balance_cents)
        self.account = SimAccount(key_id, None, cash=cash, deposits=cash)
        self.orders: dict[str, SimOrder] = {}
        self.request_count = 0
        self.base_url: str | None = None        # in-process: no network, so the daemon allows it in SHADOW only
        self.fees_collected = ZERO
        self._seq = 0
        self._now: datetime | None = None
        self._order_created_s: list[int] = []          # parallel to account.order_ids (creation order)
        self._fill_s: list[int] = []                   # parallel to account.fills (time order)
        self._resting: dict[str, list[_Resting]] = {}
        self._cursor: dict[str, int] = {}
        self._taken: dict[str, _Taken] = {}
        self._book_version: dict[str, int] = {}
        self._to_settle: list[tuple[datetime, str]] = []
        self._queued: set[str] = set()
        self._unsettled: set[str] = set()
        self._models: dict[str, tuple[tuple, Any]] = {}
        self._order_models: dict[str, tuple[tuple, Order]] = {}
        self._books: dict[str, tuple[tuple, OrderBook]] = {}
        self._events: dict[str, tuple[tuple, Event]] = {}
        self._fill_models: dict[str, Fill] = {}        # fills never change: one model each
        self._visible: dict[str, int] = {}             # ticker → trades visible at self._now (memo per instant)
        # Per series: events by first open time, and the longest event life, so "open now" is a bisect.
        self._by_open: dict[str, tuple[list[datetime], list[str], timedelta]] = {}
        for series in tape.series:
            events = sorted((min(m.open_time for m in tape.events[e]), e) for e in tape.events_of(series))
            longest = max((max(m.close_time for m in tape.events[e]) - opened for opened, e in events),
                          default=timedelta(0))
            self._by_open[series] = ([o for o, _ in events], [e for _, e in events], longest)

    def __repr__(self) -> str:
        return f"TapeExchange(markets={len(self.tape.markets)}, rule={self.fill_rule.name}, now={self._now})"

    # -- client-compatible housekeeping -----------------------------------------------------------------
    @property
    def has_credentials(self) -> bool:
        return True

    def close(self) -> None:
        return None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- time -------------------------------------------------------------------------------------------
    @_locked
    def advance(self) -> datetime:
        """Bring the exchange to clock.now(): fills from new trades, closes, settlements. Returns now."""
        now = ensure_utc(self.clock.now())
        if self._now is not None and now <= self._now:
            return self._now
        now_us = to_us(now)
        batch: list[SimFill] = []
        for ticker in sorted(self._resting):
            self._fill_from_tape(ticker, now_us, batch)
        batch.sort(key=lambda f: f.created_time)          # stable: same-instant fills keep their order
        for fill in batch:
            self._append_fill(fill)
        self._settle(now)
        self._now = now
        self._visible.clear()
        return now

    def _seen(self, ticker: str, now: datetime) -> int:
        """How many of the ticker's trades are visible at `now` (created_time < now), memoised per instant."""
        if now != self._now:
            return self.tape.trades(ticker).index_before(to_us(now))
        count = self._visible.get(ticker)
        if count is None:
            count = self._visible[ticker] = self.tape.trades(ticker).index_before(to_us(now))
        return count

    def _next_id(self, kind: str) -> str:
        self._seq += 1
        digest = hashlib.sha256(f"tape:{kind}:{self._seq}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    def _bump(self, ticker: str) -> None:
        self._book_version[ticker] = self._book_version.get(ticker, 0) + 1

    # -- market state -----------------------------------------------------------------------------------
    def market_status(self, market: TapeMarket, now: datetime) -> str:
        if now < market.open_time:
            return "initialized"
        if now < market.close_time:
            return "active"
        recorded = self.tape.results[market.ticker]
        if recorded.result is not None and now >= recorded.settles_at:
            return "finalized"
        return "closed"

    def _spread_model(self, now: datetime) -> SpreadModel:
        return self.spread.model_at(now)

    def _modelled_levels(self, ticker: str, now: datetime) -> tuple[list[list[Any]], list[list[Any]], int]:
        """(bids high→low, asks low→high) as [YES cents, contracts left], and the last-trade index they hang on."""
        trades = self.tape.trades(ticker)
        j = self._seen(ticker, now)
        if j == 0:
            return [], [], 0
        last, taker_yes = int(trades.sweep_price[j - 1]), bool(trades.taker_yes[j - 1])
        s = self._spread_model(now).spread_cents(last)
        bid0, ask0 = (last - s, last) if taker_yes else (last, last + s)
        taken = self._taken.get(ticker)
        used = taken.used if taken is not None and taken.index == j else {}
        bids = [[p, self.depth - used.get(("bid", p), ZERO)] for p in range(bid0, bid0 - self.levels, -1) if p >= 1]
        asks = [[p, self.depth - used.get(("ask", p), ZERO)] for p in range(ask0, ask0 + self.levels) if p <= 99]
        own = self._resting.get(ticker, [])
        own_asks = [int(r.order.price * 100) for r in own if r.order.book_side == "ask"]
        own_bids = [int(r.order.price * 100) for r in own if r.order.book_side == "bid"]
        if own_asks:
            bids = [lv for lv in bids if lv[0] < min(own_asks)]
        if own_bids:
            asks = [lv for lv in asks if lv[0] > max(own_bids)]
        return [lv for lv in bids if lv[1] > ZERO], [lv for lv in asks if lv[1] > ZERO], j

    def _book_sides(self, ticker: str, now: datetime) -> tuple[dict[int, Decimal], dict[int, Decimal]]:
        """The displayed YES bids and YES asks by cents: modelled levels plus our resting orders."""
        bids, asks, _ = self._modelled_levels(ticker, now)
        yes = {p: q for p, q in bids}
        no_as_yes = {p: q for p, q in asks}
        for r in self._resting.get(ticker, []):
            side = yes if r.order.book_side == "bid" else no_as_yes
            cents = int(r.order.price * 100)
            side[cents] = side.get(cents, ZERO) + r.order.remaining_count
        return yes, no_as_yes

    def _market_json(self, market: TapeMarket, now: datetime) -> dict[str, Any]:
        status = self.market_status(market, now)
        out: dict[str, Any] = {
            "ticker": market.ticker, "event_ticker": market.event_ticker, "series_ticker": market.series_ticker,
            "market_type": "binary", "status": status, "strike_type": market.strike_type,
            "floor_strike": None if market.floor_strike is None else str(market.floor_strike),
            "cap_strike": None if market.cap_strike is None else str(market.cap_strike),
            "title": market.title, "subtitle": market.subtitle, "yes_sub_title": market.yes_sub_title,
            "no_sub_title": market.no_sub_title, "rules_primary": market.rules_primary,
            "rules_secondary": market.rules_secondary, "open_time": wire.ts(market.open_time),
            "close_time": wire.ts(market.close_time),
            "expected_expiration_time": wire.ts(market.expected_expiration_time),
            "latest_expiration_time": wire.ts(market.latest_expiration_time),
            "settlement_timer_seconds": market.settlement_timer_seconds, "can_close_early": True,
            "price_level_structure": "linear_cent", "notional_value_dollars": "1.0000",
            "price_ranges": [{"start": "0.0000", "end": "1.0000", "step": "0.0100"}],
            "volume_fp": wire.fmt_count(Decimal(self.tape.volume_before(market.ticker, now))),
        }
        last = self.tape.last_trade_before(market.ticker, now)
        if last is not None:
            out["last_price_dollars"] = wire.fmt_dollars(Decimal(last.price_cents) / 100)
        if status == "active":
            yes, no_as_yes = self._book_sides(market.ticker, now)
            if yes:
                best = max(yes)
                out["yes_bid_dollars"], out["yes_bid_size_fp"] = _dollars(best), wire.fmt_count(yes[best])
            if no_as_yes:
                best = min(no_as_yes)
                out["yes_ask_dollars"], out["yes_ask_size_fp"] = _dollars(best), wire.fmt_count(no_as_yes[best])
        if status == "finalized":
            recorded = self.tape.results[market.ticker]
            out["result"] = recorded.result
            out["settlement_value_dollars"] = "1.0000" if recorded.result == "yes" else "0.0000"
            out["settlement_ts"] = wire.ts(recorded.settles_at)
        return out

    def _market_model(self, market: TapeMarket, now: datetime) -> Market:
        key = (self.market_status(market, now), self._seen(market.ticker, now),
               self._spread_model(now).cents, self._book_version.get(market.ticker, 0))
        cached = self._models.get(market.ticker)
        if cached is not None and cached[0] == key:
            return cached[1]
        model = Market.model_validate(self._market_json(market, now))
        self._models[market.ticker] = (key, model)
        return model

    def _event_model(self, event_ticker: str, now: datetime) -> Event:
        markets = self.tape.events[event_ticker]
        first = markets[0]
        nested = [self._market_model(m, now) for m in markets]
        key = tuple(self._models[m.ticker][0] for m in markets)      # the nested markets' own cache keys
        cached = self._events.get(event_ticker)
        if cached is not None and cached[0] == key:
            return cached[1]
        event = Event.model_validate({
            "event_ticker": event_ticker, "series_ticker": first.series_ticker, "title": first.event_title,
            "sub_title": first.event_sub_title, "category": "Climate and Weather", "mutually_exclusive": True,
            "collateral_return_type": "MECNET", "strike_date": wire.ts(first.close_time), "markets": nested})
        self._events[event_ticker] = (key, event)
        return event

    def _event_status(self, event_ticker: str, now: datetime) -> str:
        statuses = {self.market_status(m, now) for m in self.tape.events[event_ticker]}
        if "active" in statuses:
            return "open"
        if statuses == {"initialized"}:
            return "unopened"
        if statuses == {"finalized"}:
            return "settled"
        return "closed"

    # -- market data reads ------------------------------------------------------------------------------
    @_locked
    def get_exchange_status(self) -> ExchangeStatus:
        self.advance()
        self.request_count += 1
        return ExchangeStatus(exchange_active=True, trading_active=True)

    @_locked
    def get_series(self, ticker: str) -> Series:
        self.request_count += 1
        if ticker.upper() not in self.tape.series:
            raise error_from_response(404, json.dumps({"error": {"code": "not_found", "message": ticker}}))
        return Series(ticker=ticker.upper(), category="Climate and Weather", frequency="daily",
                      fee_type=self.fee_type.value, fee_multiplier=self.fee_multiplier)

    @_locked
    def iter_events(self, *, series_ticker: str | None = None, status: str | None = None,
                    with_nested_markets: bool = True, min_close_ts: datetime | int | None = None,
                    limit: int = 200) -> Iterator[Event]:
        if status is not None and status not in EVENT_STATUSES:
            raise ValueError(f"event status filter must be one of {EVENT_STATUSES}")
        now = self.advance()
        low = _unix(min_close_ts)
        if status == "open":
            tickers = self._open_candidates(series_ticker, now)
        else:
            tickers = self.tape.events_of(series_ticker) if series_ticker else list(self.tape.events)
        chosen = []
        for event_ticker in tickers:
            first = self.tape.events[event_ticker][0]
            if now < first.open_time - timedelta(days=7) or (low is not None and wire.unix_s(first.close_time) < low):
                continue           # far-future events are not listed yet
            if status is None or self._event_status(event_ticker, now) == status:
                chosen.append(event_ticker)
        self.request_count += _pages(len(chosen), limit)
        return iter([self._event_model(e, now) for e in chosen])

    def _open_candidates(self, series_ticker: str | None, now: datetime) -> list[str]:
        """Events that opened before now and may not have closed yet (a superset of the open ones)."""
        out: list[str] = []
        for series in [series_ticker.upper()] if series_ticker else sorted(self._by_open):
            opens, events, longest = self._by_open.get(series, ([], [], timedelta(0)))
            end = bisect_right(opens, now)
            begin = bisect_left(opens, now - longest)
            out.extend(events[begin:end])
        return out

    @_locked
    def discover_events(self, series_tickers: Iterable[str], *, status: str = "open") -> dict[str, list[Event]]:
        """Events with nested markets per series, as of now (point-in-time quotes, never recorded ones)."""
        return {s: list(self.iter_events(series_ticker=s, status=status)) for s in dict.fromkeys(series_tickers)}

    @_locked
    def get_event(self, event_ticker: str, *, with_nested_markets: bool = True) -> Event:
        now = self.advance()
        self.request_count += 1
        if event_ticker not in self.tape.events:
            raise error_from_response(404, json.dumps({"error": {"code": "not_found", "message": event_ticker}}))
        return self._event_model(event_ticker, now)

    @_locked
    def get_market(self, ticker: str) -> Market:
        now = self.advance()
        self.request_count += 1
        market = self.tape.markets.get(ticker)
        if market is None:
            raise error_from_response(404, json.dumps({"error": {"code": "not_found", "message": ticker}}))
        return self._market_model(market, now)

    def select_markets(self, now: datetime, *, event_ticker: str | None, series_ticker: str | None,
                       tickers: set[str] | None, low: int | None, high: int | None,
                       status: str | None) -> list[TapeMarket]:
        """The markets a `/markets` listing returns at `now` (shared with the replaying server)."""
        status_map = {"unopened": "initialized", "open": "active", "closed": "closed", "settled": "finalized"}
        chosen = []
        for m in self.tape.markets.values():
            if (event_ticker and m.event_ticker != event_ticker) \
                    or (series_ticker and m.series_ticker != series_ticker) \
                    or (tickers is not None and m.ticker not in tickers):
                continue
            close_s = wire.unix_s(m.close_time)
            if (low is not None and close_s < low) or (high is not None and close_s > high):
                continue
            if now < m.open_time - timedelta(days=7):
                continue
            if status is not None and self.market_status(m, now) != status_map.get(status, status):
                continue
            chosen.append(m)
        return chosen

    @_locked
    def iter_markets(self, *, event_ticker: str | None = None, series_ticker: str | None = None,
                     tickers: Iterable[str] | None = None, status: str | None = None,
                     min_close_ts: datetime | int | None = None, max_close_ts: datetime | int | None = None,
                     limit: int = 1000) -> Iterator[Market]:
        now = self.advance()
        chosen = self.select_markets(now, event_ticker=event_ticker, series_ticker=series_ticker,
                                     tickers=set(tickers) if tickers is not None else None,
                                     low=_unix(min_close_ts), high=_unix(max_close_ts), status=status)
        out = [self._market_model(m, now) for m in chosen]
        self.request_count += _pages(len(out), limit)
        return iter(out)

    def _book_model(self, ticker: str, now: datetime, depth: int | None = None) -> OrderBook:
        market = self.tape.markets[ticker]
        status = self.market_status(market, now)
        if status != "active":
            return OrderBook(market_ticker=ticker, received_at=now)
        key = (self._seen(ticker, now), self._spread_model(now).cents,
               self._book_version.get(ticker, 0), depth)
        cached = self._books.get(ticker)
        if cached is not None and cached[0] == key:
            return cached[1].model_copy(update={"received_at": now})
        yes, no_as_yes = self._book_sides(ticker, now)
        yes_levels = sorted(yes.items())
        no_levels = sorted((100 - p, q) for p, q in no_as_yes.items())
        if depth:
            yes_levels, no_levels = yes_levels[-depth:], no_levels[-depth:]
        book = OrderBook.model_validate({
            "market_ticker": ticker, "received_at": now,
            "orderbook_fp": {"yes_dollars": [[_dollars(p), wire.fmt_count(q)] for p, q in yes_levels],
                             "no_dollars": [[_dollars(p), wire.fmt_count(q)] for p, q in no_levels]}})
        self._books[ticker] = (key, book)
        return book

    @_locked
    def get_orderbook(self, ticker: str, depth: int | None = None) -> OrderBook:
        now = self.advance()
        self.request_count += 1
        if ticker not in self.tape.markets:
            raise error_from_response(404, json.dumps({"error": {"code": "not_found", "message": ticker}}))
        return self._book_model(ticker, now, depth)

    @_locked
    def get_orderbooks(self, tickers: Iterable[str]) -> list[OrderBook]:
        now = self.advance()
        wanted = [t for t in dict.fromkeys(tickers) if t in self.tape.markets]
        self.request_count += _pages(len(wanted), 100)
        return [self._book_model(t, now) for t in wanted]

    # -- portfolio reads --------------------------------------------------------------------------------
    @_locked
    def get_balance(self) -> Balance:
        now = self.advance()
        self.request_count += 1
        available = floor_cent(self.account.available)
        value = floor_cent(self.portfolio_value(now))
        return Balance.model_validate({"balance": int(available * 100), "portfolio_value": int(value * 100),
                                       "updated_ts": wire.unix_s(self.account.updated or now)})

    def portfolio_value(self, now: datetime) -> Decimal:
        """Open positions marked at the best bid of the held side in the displayed book (0 without one)."""
        value = ZERO
        for pos in self.account.positions.values():
            if pos.settled or pos.position == ZERO:
                continue
            market = self.tape.markets[pos.ticker]
            if self.market_status(market, now) != "active":
                continue
            yes, no_as_yes = self._book_sides(pos.ticker, now)
            if pos.position > ZERO and yes:
                value += pos.position * Decimal(max(yes)) / 100
            elif pos.position < ZERO and no_as_yes:
                value += -pos.position * (ONE - Decimal(min(no_as_yes)) / 100)
        return value

    def _order_model(self, order: SimOrder) -> Order:
        key = (order.status, order.fill_count, order.remaining_count, order.last_update_time,
               order.taker_fees, order.maker_fees)
        cached = self._order_models.get(order.order_id)
        if cached is not None and cached[0] == key:
            return cached[1]
        model = Order.model_validate(wire.order_json(order))
        self._order_models[order.order_id] = (key, model)
        return model

    def _not_found(self, what: str) -> ExchangeError:
        return error_from_response(404, json.dumps({"error": {"code": "not_found", "message": f"{what} not found"}}))

    @_locked
    def get_order(self, order_id: str) -> Order:
        self.advance()
        self.request_count += 1
        order = self.orders.get(order_id)
        if order is None:
            raise self._not_found(f"order {order_id}")
        return self._order_model(order)

    @_locked
    def iter_orders(self, *, ticker: str | None = None, event_ticker: str | None = None,
                    status: str | None = None, min_ts: datetime | int | None = None,
                    max_ts: datetime | int | None = None, limit: int = 200) -> Iterator[Order]:
        if status is not None and status not in ORDER_STATUSES:
            raise ValueError(f"order status must be one of {ORDER_STATUSES}")
        self.advance()
        low, high = _unix(min_ts), _unix(max_ts)
        if status == "resting":
            ids = sorted((r.order.seq, r.order.order_id) for rs in self._resting.values() for r in rs)
            candidates = [self.orders[i] for _, i in ids]
        else:
            first = 0 if low is None else bisect_left(self._order_created_s, low)
            candidates = [self.orders[i] for i in self.account.order_ids[first:]]
        chosen = [o for o in reversed(candidates)
                  if (not ticker or o.ticker == ticker) and (status is None or o.status == status)
                  and (not event_ticker or self.tape.markets[o.ticker].event_ticker == event_ticker)
                  and (low is None or wire.unix_s(o.created_time) >= low)
                  and (high is None or wire.unix_s(o.created_time) <= high)]
        self.request_count += _pages(len(chosen), limit)
        return iter([self._order_model(o) for o in chosen])

    @_locked
    def find_order_by_client_id(self, client_order_id: str, *, ticker: str | None = None,
                                min_ts: datetime | int | None = None) -> Order | None:
        """What the client's list-and-filter finds: our order with that client id, or None."""
        self.advance()
        self.request_count += 1
        order_id = self.account.client_order_ids.get(client_order_id)
        if order_id is None:
            return None
        order = self.orders[order_id]
        low = _unix(min_ts)
        if (ticker and order.ticker != ticker) or (low is not None and wire.unix_s(order.created_time) < low):
            return None
        return self._order_model(order)

    @_locked
    def iter_fills(self, *, ticker: str | None = None, order_id: str | None = None,
                   min_ts: datetime | int | None = None, max_ts: datetime | int | None = None,
                   limit: int = 200) -> Iterator[Fill]:
        self.advance()
        low, high = _unix(min_ts), _unix(max_ts)
        first = 0 if low is None else bisect_left(self._fill_s, low)
        chosen = [f for f in reversed(self.account.fills[first:])
                  if (not ticker or f.ticker == ticker) and (not order_id or f.order_id == order_id)
                  and (high is None or wire.unix_s(f.created_time) <= high)]
        self.request_count += _pages(len(chosen), limit)
        return iter([self._fill_model(f) for f in chosen])

    def _fill_model(self, fill: SimFill) -> Fill:
        model = self._fill_models.get(fill.fill_id)
        if model is None:
            model = self._fill_models[fill.fill_id] = Fill.model_validate(wire.fill_json(fill))
        return model

    @_locked
    def iter_positions(self, *, ticker: str | None = None, event_ticker: str | None = None,
                       count_filter: str | None = None, limit: int = 200) -> Iterator[Position]:
        """Unsettled positions (non-zero, or with resting orders), like Kalshi since 2025-12-11."""
        self.advance()
        resting = {t: len(rs) for t, rs in self._resting.items() if rs}
        chosen = [p for p in self.account.positions.values()
                  if not p.settled and (p.position != ZERO or p.ticker in resting)
                  and (not ticker or p.ticker == ticker)
                  and (not event_ticker or self.tape.markets[p.ticker].event_ticker == event_ticker)]
        self.request_count += _pages(len(chosen), limit)
        return iter([Position.model_validate(wire.position_json(p, resting.get(p.ticker, 0))) for p in chosen])

    @_locked
    def iter_settlements(self, *, ticker: str | None = None, event_ticker: str | None = None,
                         min_ts: datetime | int | None = None, max_ts: datetime | int | None = None,
                         limit: int = 200) -> Iterator[Settlement]:
        self.advance()
        low, high = _unix(min_ts), _unix(max_ts)
        chosen = [s for s in reversed(self.account.settlements)
                  if (not ticker or s.ticker == ticker) and (not event_ticker or s.event_ticker == event_ticker)
                  and (low is None or wire.unix_s(s.settled_time) >= low)
                  and (high is None or wire.unix_s(s.settled_time) <= high)]
        self.request_count += _pages(len(chosen), limit)
        return iter([Settlement.model_validate(wire.settlement_json(s)) for s in chosen])

    @_locked
    def unsettled(self) -> list[str]:
        """Markets we hold whose settlement time has passed but whose record has no result (never settled)."""
        self.advance()
        return sorted(self._unsettled)

    # -- order writes -----------------------------------------------------------------------------------
    @_locked
    def create_order(self, request: OrderRequest) -> CreateOrderOutcome:
        """One limit order. Never raises for exchange-side refusals: the outcome the client would return."""
        now = self.advance()
        self.request_count += 1
        cid = request.client_order_id
        try:
            ack = OrderAck.model_validate(self._create(request.to_wire_v2(), now))
        except SimError as refusal:
            exc = error_from_response(refusal.status, json.dumps(refusal.body()))
            if isinstance(exc, DuplicateOrderError) or exc.http_status == 409:
                existing = self.find_order_by_client_id(cid, ticker=request.ticker)
                if existing is None:
                    return CreateOrderOutcome("unknown", cid, error=exc)
                return CreateOrderOutcome("accepted", cid, order=existing, error=exc, duplicate=True)
            if isinstance(exc, (RejectedError, AuthError, ConfigError)):
                return CreateOrderOutcome("rejected", cid, error=exc)
            return CreateOrderOutcome("unknown", cid, error=exc)
        return CreateOrderOutcome("accepted", cid, order=order_from_ack(request, ack, now), ack=ack)

    @_locked
    def cancel_order_ack(self, order_id: str) -> OrderAck:
        now = self.advance()
        self.request_count += 1
        order = self.orders.get(order_id)
        try:
            if order is None:
                raise SimError(404, "not_found", f"order {order_id} not found")
            if self.market_status(self.tape.markets[order.ticker], now) != "active":
                raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
            if not order.is_open:
                raise SimError(404, "not_found", f"order {order_id} is not resting")
        except SimError as refusal:
            raise error_from_response(refusal.status, json.dumps(refusal.body())) from None
        reduced = self._close_order(order, now, "Canceled")
        return OrderAck.model_validate({"client_order_id": order.client_order_id, "order_id": order.order_id,
                                        "reduced_by": f"{reduced:.2f}", "ts_ms": wire.unix_ms(now)})

    @_locked
    def cancel_order(self, order_id: str) -> Order:
        """Cancel, then read the order back (as the client does)."""
        self.cancel_order_ack(order_id)
        return self.get_order(order_id)

    def _create(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        side: BookSide = body["side"]
        tif = _TIF.get(body.get("time_in_force", ""))
        if side not in ("bid", "ask") or tif is None:
            raise SimError(400, "invalid_parameters", "side must be bid/ask with a known time_in_force")
        price = parse_decimal(body["price"])
        if not ZERO < price < ONE or price != price.quantize(CENT):
            raise SimError(400, "invalid_order", f"price {body['price']} is not on the market's price grid")
        price = price.quantize(CENT)
        count = parse_decimal(body["count"]).quantize(CENT)
        market = self.tape.markets.get(body["ticker"])
        if market is None:
            raise SimError(404, "not_found", f"market {body['ticker']} not found")
        if self.market_status(market, now) != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        cid = body.get("client_order_id") or ""
        if cid and cid in self.account.client_order_ids:
            existing = self.account.client_order_ids[cid]
            raise SimError(409, "order_already_exists", "order with this client_order_id already exists",
                           f"order_id={existing}")
        if body.get("reduce_only"):
            held = self.account.position(market.ticker).position
            closable = -held if side == "bid" else held
            if closable <= ZERO:
                raise SimError(400, "invalid_order", "reduce_only order would increase the position")
            count = min(count, closable)
        bids, asks, index = self._modelled_levels(market.ticker, now)
        limit = int(price * 100)
        crossing = [lv for lv in (asks if side == "bid" else bids)
                    if (lv[0] <= limit if side == "bid" else lv[0] >= limit)]
        own_cross = [r for r in self._resting.get(market.ticker, []) if r.order.book_side != side
                     and (r.order.price <= price if side == "bid" else r.order.price >= price)]
        if body.get("post_only") and (crossing or own_cross):
            raise SimError(400, "invalid_order", "post only cross", "post only cross")
        cost = count * side_price(side, price)
        if self.account.available < cost + fees.taker_fee(count, Decimal("0.50"), self.fee_multiplier):
            raise SimError(400, "available_balance_too_low", "insufficient balance for this order")
        self._seq += 1
        order = SimOrder(
            order_id=self._next_id("order"), account=self.key_id, client_order_id=cid, ticker=market.ticker,
            book_side=side, price=price, initial_count=count, remaining_count=count, time_in_force=tif,
            self_trade_prevention_type=str(body.get("self_trade_prevention_type") or "taker_at_cross"),
            created_time=now, last_update_time=now, seq=self._seq,
            cancel_order_on_pause=bool(body.get("cancel_order_on_pause")))
        self.orders[order.order_id] = order
        self.account.order_ids.append(order.order_id)
        self._order_created_s.append(wire.unix_s(now))
        if cid:
            self.account.client_order_ids[cid] = order.order_id
        if tif == "fok" and sum((lv[1] for lv in crossing), ZERO) < count:
            order.status, order.remaining_count = "canceled", ZERO
            return self._ack(order, now)
        own_best = None
        if own_cross:
            own_best = (min if side == "bid" else max)(int(r.order.price * 100) for r in own_cross)
        fills: list[tuple[int, Decimal]] = []
        for level_cents, available in crossing:
            if order.remaining_count <= ZERO:
                break
            if own_best is not None and (level_cents >= own_best if side == "bid" else level_cents <= own_best):
                break                                   # our own order is better: self-trade prevention below
            quantity = min(order.remaining_count, available)
            fills.append((level_cents, quantity))
            order.remaining_count -= quantity
            order.fill_count += quantity
        if fills:
            self._take(order, fills, index, now)
        if order.remaining_count > ZERO and own_best is not None:
            self._close_order(order, now, "SelfTradePrevention")
        elif order.remaining_count > ZERO and tif == "gtc":
            self._rest(order, now)
        elif order.remaining_count > ZERO:
            self._close_order(order, now, "IOC")
        else:
            order.status = "executed"
        return self._ack(order, now)

    def _ack(self, order: SimOrder, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {"client_order_id": order.client_order_id, "fill_count": f"{order.fill_count:.2f}",
                                "order_id": order.order_id, "remaining_count": f"{order.remaining_count:.2f}",
                                "ts_ms": wire.unix_ms(now)}
        if order.fill_count > ZERO:
            cost = order.taker_fill_cost + order.maker_fill_cost
            body["average_fill_price"] = f"{(cost / order.fill_count).quantize(Decimal('0.0001')):f}"
            paid = (order.taker_fees + order.maker_fees) / order.fill_count
            body["average_fee_paid"] = f"{paid.quantize(Decimal('0.0001')):f}"
        return body

    def _take(self, order: SimOrder, fills: list[tuple[int, Decimal]], index: int, now: datetime) -> None:
        """Our taker fills against the modelled book: one fee for the order, rounded once (Kalshi per order)."""
        taken = self._taken.get(order.ticker)
        if taken is None or taken.index != index:
            taken = self._taken[order.ticker] = _Taken(index)
        far = "ask" if order.book_side == "bid" else "bid"
        priced = [(q, Decimal(c) / 100) for c, q in fills]
        charged = ZERO
        trade_id = self._next_id("trade")
        for n, (cents, quantity) in enumerate(fills):
            taken.used[(far, cents)] = taken.used.get((far, cents), ZERO) + quantity
            # Rounded per order: each fill pays what the order's rounded fee so far grew by (as the simulator).
            fee = fees.order_taker_fee(priced[:n + 1], self.fee_multiplier) - charged
            charged += fee
            yes_price = Decimal(cents) / 100
            order.taker_fill_cost += quantity * side_price(order.book_side, yes_price)
            self._record_fill(order, quantity, yes_price, fee, True, now, trade_id, immediate=True)
        order.taker_fees += charged
        self._bump(order.ticker)

    def _rest(self, order: SimOrder, now: datetime) -> None:
        order.reserved = order.remaining_count * side_price(order.book_side, order.price)
        self.account.reserved += order.reserved
        trades = self.tape.trades(order.ticker)
        start = trades.index_before(to_us(now))
        resting = self._resting.setdefault(order.ticker, [])
        if not resting:
            self._cursor[order.ticker] = start
        resting.append(_Resting(order, start))
        self._bump(order.ticker)

    def _release(self, order: SimOrder, count: Decimal) -> None:
        amount = min(order.reserved, count * side_price(order.book_side, order.price))
        order.reserved -= amount
        self.account.reserved -= amount

    def _close_order(self, order: SimOrder, when: datetime, reason: str) -> Decimal:
        cancelled = order.remaining_count
        self._release(order, cancelled)
        order.remaining_count = ZERO
        order.status = "canceled" if cancelled > ZERO or order.fill_count == ZERO else "executed"
        order.last_update_time, order.last_update_reason = when, reason
        self._drop_resting(order)
        return cancelled

    def _drop_resting(self, order: SimOrder) -> None:
        resting = self._resting.get(order.ticker)
        if resting is None:
            return
        kept = [r for r in resting if r.order is not order]
        if len(kept) != len(resting):
            self._bump(order.ticker)
        if kept:
            self._resting[order.ticker] = kept
        else:
            del self._resting[order.ticker]
            self._cursor.pop(order.ticker, None)

    # -- fills from the tape ----------------------------------------------------------------------------
    def _fill_from_tape(self, ticker: str, now_us: int, batch: list[SimFill]) -> None:
        market = self.tape.markets[ticker]
        close_us = to_us(market.close_time)
        trades = self.tape.trades(ticker)
        end = trades.index_before(min(now_us, close_us))
        begin = self._cursor.get(ticker, end)
        if end > begin:
            resting = self._resting[ticker]
            asks = [int(r.order.price * 100) for r in resting if r.order.book_side == "ask"]
            bids = [int(r.order.price * 100) for r in resting if r.order.book_side == "bid"]
            prices = trades.price[begin:end]
            inclusive = self.fill_rule.inclusive
            mask = np.zeros(end - begin, dtype=bool)
            if asks:
                mask |= (prices >= min(asks)) if inclusive else (prices > min(asks))
            if bids:
                mask |= (prices <= max(bids)) if inclusive else (prices < max(bids))
            for offset in np.flatnonzero(mask).tolist():
                i = begin + offset
                self._on_trade(ticker, i, int(trades.price[i]), Decimal(int(trades.count[i])),
                               from_us(int(trades.time_us[i])), batch)
                if ticker not in self._resting:
                    break
            if ticker in self._resting:
                self._cursor[ticker] = end
        if now_us >= close_us and ticker in self._resting:
            for r in list(self._resting[ticker]):
                self._close_order(r.order, market.close_time, "MarketClosed")

    def _on_trade(self, ticker: str, i: int, cents: int, printed: Decimal, when: datetime,
                  batch: list[SimFill]) -> None:
        """One recorded trade offered to our resting orders in price, then time, priority."""
        rule = self.fill_rule
        crossed = [r for r in self._resting[ticker]
                   if r.start <= i and rule.crosses(r.order.book_side, int(r.order.price * 100), cents)]
        crossed.sort(key=lambda r: (r.order.price if r.order.book_side == "ask" else -r.order.price, r.order.seq))
        available = printed
        for r in crossed:
            quantity = rule.on_print(r.state, r.order.remaining_count, printed, available)
            available = max(ZERO, available - quantity)
            if quantity > ZERO:
                self._maker_fill(r.order, quantity, when, batch)

    def _maker_fill(self, order: SimOrder, quantity: Decimal, when: datetime, batch: list[SimFill]) -> None:
        self._release(order, quantity)
        fee = fees.maker_fee(quantity, order.price, self.fee_type, self.fee_multiplier)
        order.maker_fees += fee
        order.maker_fill_cost += quantity * side_price(order.book_side, order.price)
        order.fill_count += quantity
        order.remaining_count -= quantity
        batch.append(self._record_fill(order, quantity, order.price, fee, False, when, self._next_id("trade")))
        if order.remaining_count <= ZERO:
            order.status = "executed"
            self._drop_resting(order)
        else:
            self._bump(order.ticker)

    def _record_fill(self, order: SimOrder, quantity: Decimal, yes_price: Decimal, fee: Decimal, is_taker: bool,
                     when: datetime, trade_id: str, *, immediate: bool = False) -> SimFill:
        self._apply_fill(order.ticker, order.book_side, quantity, yes_price, fee, when)
        order.last_update_time = max(order.last_update_time, when)
        fill = SimFill(self._next_id("fill"), trade_id, order.order_id, self.key_id, order.ticker, order.book_side,
                       quantity, yes_price, is_taker, fee, when, order.price)
        if immediate:
            self._append_fill(fill)
        return fill

    def _append_fill(self, fill: SimFill) -> None:
        self.account.fills.append(fill)
        self._fill_s.append(wire.unix_s(fill.created_time))
        if fill.ticker not in self._queued:
            self._queued.add(fill.ticker)
            heapq.heappush(self._to_settle, (self.tape.results[fill.ticker].settles_at, fill.ticker))

    def _apply_fill(self, ticker: str, book_side: BookSide, quantity: Decimal, yes_price: Decimal, fee: Decimal,
                    when: datetime) -> None:
        """Cash and position (the simulator's money model): a fill against an opposite holding redeems pairs."""
        pos = self.account.position(ticker)
        held_against = -pos.position if book_side == "bid" else pos.position
        closing = min(quantity, max(held_against, ZERO))
        opening = quantity - closing
        paid = side_price(book_side, yes_price)
        if closing > ZERO:
            average_cost = pos.cost / abs(pos.position)
            proceeds = closing * (ONE - paid)
            released = average_cost * closing if closing < abs(pos.position) else pos.cost
            pos.realized_pnl += proceeds - released
            pos.cost -= released
            self.account.cash += proceeds
        self.account.cash -= opening * paid + fee
        pos.cost += opening * paid
        pos.position += quantity if book_side == "bid" else -quantity
        pos.fees_paid += fee
        pos.realized_pnl -= fee
        pos.total_traded += quantity * paid
        pos.last_updated = self.account.updated = when
        self.fees_collected += fee

    # -- settlement -------------------------------------------------------------------------------------
    def _settle(self, now: datetime) -> None:
        while self._to_settle and self._to_settle[0][0] <= now:
            when, ticker = heapq.heappop(self._to_settle)
            result = self.tape.results[ticker].result
            pos = self.account.positions.get(ticker)
            if pos is None or pos.settled:
                continue
            if result is None:
                self._unsettled.add(ticker)     # no recorded result: the position stays open, reported
                continue
            self._finalize(ticker, pos, result, when)

    def _finalize(self, ticker: str, pos: SimPosition, result: str, when: datetime) -> None:
        held = abs(pos.position)
        wins = (pos.position > ZERO and result == "yes") or (pos.position < ZERO and result == "no")
        revenue = held if wins else ZERO
        yes_count = max(ZERO, pos.position)
        no_count = -pos.position if pos.position < ZERO else ZERO
        self.account.settlements.append(SimSettlement(
            ticker, self.tape.markets[ticker].event_ticker, self.key_id, result, yes_count,
            pos.cost if yes_count else ZERO, no_count, pos.cost if no_count else ZERO, int(revenue * 100),
            100 if result == "yes" else 0, pos.fees_paid, when))
        self.account.cash += revenue
        pos.realized_pnl += revenue - pos.cost
        pos.position, pos.cost, pos.settled, pos.last_updated = ZERO, ZERO, True, when
        self.account.updated = when


def check_consistency(exchange: TapeExchange) -> list[str]:
    """Cash, positions, reserves and fees recomputed from the fills and settlements; each disagreement, exactly.

    cash = deposits − Σ fees − Σ price paid × count + Σ_markets min(YES bought, NO bought) × $1 (netted pairs)
    + Σ settlement revenue; positions = YES bought − NO bought until settled; reserved = Σ resting cost."""
    problems: list[str] = []
    account = exchange.account
    bought: dict[str, list[Decimal]] = {}
    cash = account.deposits
    fees_by_order: dict[str, Decimal] = {}
    filled_by_order: dict[str, Decimal] = {}
    for f in account.fills:
        yes_no = bought.setdefault(f.ticker, [ZERO, ZERO])
        yes_no[0 if f.book_side == "bid" else 1] += f.count
        cash -= f.fee + f.count * side_price(f.book_side, f.yes_price)
        fees_by_order[f.order_id] = fees_by_order.get(f.order_id, ZERO) + f.fee
        filled_by_order[f.order_id] = filled_by_order.get(f.order_id, ZERO) + f.count
    for yes, no in bought.values():
        cash += min(yes, no)
    settled = {s.ticker: s for s in account.settlements}
    for s in account.settlements:
        cash += Decimal(s.revenue_cents) / 100
    if cash != account.cash:
        problems.append(f"cash {account.cash} != {cash} recomputed from fills and settlements")
    for ticker, (yes, no) in sorted(bought.items()):
        pos = account.positions.get(ticker)
        held = pos.position if pos is not None else ZERO
        if ticker in settled:
            s = settled[ticker]
            if (s.yes_count - s.no_count) != yes - no or held != ZERO:
                problems.append(f"{ticker}: settled {s.yes_count}/{s.no_count}, fills imply {yes - no}, holds {held}")
            wins = s.yes_count if s.market_result == "yes" else s.no_count
            if Decimal(s.revenue_cents) / 100 != wins:
                problems.append(f"{ticker}: revenue {s.revenue_cents}c for {wins} winning contracts")
        elif held != yes - no:
            problems.append(f"{ticker}: position {held} != {yes - no} from fills")
    reserved = sum((r.order.remaining_count * side_price(r.order.book_side, r.order.price)
                    for rs in exchange._resting.values() for r in rs), ZERO)
    if reserved != account.reserved:
        problems.append(f"reserved {account.reserved} != {reserved} for resting orders")
    for order in exchange.orders.values():
        if fees_by_order.get(order.order_id, ZERO) != order.taker_fees + order.maker_fees:
            problems.append(f"order {order.order_id}: fees {order.taker_fees + order.maker_fees} != fills' "
                            f"{fees_by_order.get(order.order_id, ZERO)}")
        if filled_by_order.get(order.order_id, ZERO) != order.fill_count:
            problems.append(f"order {order.order_id}: fill_count {order.fill_count} != fills' "
                            f"{filled_by_order.get(order.order_id, ZERO)}")
        if order.fill_count + order.remaining_count > order.initial_count:
            problems.append(f"order {order.order_id}: filled + remaining exceeds its size")
        if order.status == "resting" and order.remaining_count <= ZERO:
            problems.append(f"order {order.order_id}: resting with nothing left")
    if account.cash < ZERO or account.available < ZERO:
        problems.append(f"cash {account.cash} / available {account.available} negative")
    if exchange.fees_collected != sum(fees_by_order.values(), ZERO):
        problems.append("fees collected differ from the fills' fees")
    return problems
