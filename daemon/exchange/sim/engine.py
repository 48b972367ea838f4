"""`SimExchange`: the pure simulated exchange (no HTTP). Thread-safe via one re-entrant lock.

Markets per city × climate day from the registry, one YES book per market with price-time priority,
accounts with exact Decimal cash, Kalshi's fee with per-order rounding, seeded liquidity agents and
settlement from a `TruthSource`. Time comes only from the injected clock (`step(now)` advances it).

Persistence is a journal of inputs (registrations, steps, order commands with their instant): the engine
is deterministic given seed + inputs, so replaying the journal rebuilds every order, fill and balance.

Money model: buying YES at p costs p, buying NO (a YES `ask` at p) costs 1 − p; a YES+NO pair held by
one account nets out for $1. Resting orders reserve their full cost (`balance` = cash − reserved).
Invariant: Σ cash + fees collected + Σ open interest × $1 = Σ deposits.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from daemon.cities import CityRegistry
from daemon.clock import Clock, ensure_utc
from daemon.economics import fees
from daemon.exchange.sim import agents
from daemon.exchange.sim.book import Book, cents
from daemon.exchange.sim.config import SimConfig
from daemon.exchange.sim.faults import Faults
from daemon.exchange.sim.journal import Journal
from daemon.exchange.sim.listing import build_event, created_time, event_ticker
from daemon.exchange.sim.state import (
    BookSide,
    SimAccount,
    SimError,
    SimEvent,
    SimFill,
    SimMarket,
    SimOrder,
    SimSettlement,
    SimTrade,
    side_price,
)
from daemon.money import CENT, ONE, ZERO, ceil_cent, dollars_from_cents, parse_decimal
from daemon.simulation.truth import TruthSource

_TIF = {"good_till_canceled": "gtc", "immediate_or_cancel": "ioc", "fill_or_kill": "fok"}
_STP = ("taker_at_cross", "maker")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_EASTERN = ZoneInfo("America/New_York")


def _dec(value: Any, name: str) -> Decimal:
    if value is None or value == "":
        raise SimError(400, "invalid_parameters", f"{name} is required")
    try:
        return parse_decimal(value, field=name)
    except ValueError as exc:
        raise SimError(400, "invalid_parameters", str(exc)) from None


def _yes_price(value: Any) -> Decimal:
    price = _dec(value, "price")
    if not ZERO < price < ONE or price != price.quantize(CENT):
        raise SimError(400, "invalid_order", f"price {value} is not on the market's price grid")
    return price.quantize(CENT)


def _count(value: Any, name: str = "count") -> Decimal:
    count = _dec(value, name)
    if count <= ZERO or count != count.quantize(CENT):
        raise SimError(400, "invalid_order_size", f"{name} {value} must be positive with at most 2 decimals")
    return count.quantize(CENT)


class SimExchange:
    def __init__(self, registry: CityRegistry, truth: TruthSource, clock: Clock,
                 config: SimConfig | None = None, store_path: Path | None = None) -> None:
        self.registry = registry
        self.truth = truth
        self.clock = clock
        self.config = config or SimConfig()
        self.lock = threading.RLock()
        self.markets: dict[str, SimMarket] = {}
        self.events: dict[str, SimEvent] = {}
        self.books: dict[str, Book] = {}
        self.orders: dict[str, SimOrder] = {}
        self.accounts: dict[str, SimAccount] = {}
        self.trades: list[SimTrade] = []
        self.fees_collected = ZERO
        self.last_step: datetime | None = None
        self._seq = 0
        self._replaying = False
        self._journal = Journal(store_path, self.config.seed) if store_path is not None else None
        self.faults = Faults(self.config.faults, self.config.seed)      # applied by SimServer's HTTP layer
        for name in agents.MAKER_ACCOUNTS + agents.TAKER_ACCOUNTS:
            self._add_account(name, None, self.config.agents.agent_balance_cents, is_agent=True)
        if self._journal is not None:
            self._replay(self._journal.read())

    # -- persistence ------------------------------------------------------------------------------------

    def _replay(self, entries: Iterable[dict[str, Any]]) -> None:
        self._replaying = True
        try:
            for entry in entries:
                self._apply(entry)
        finally:
            self._replaying = False

    def _apply(self, entry: dict[str, Any]) -> Any:
        op, now = entry["op"], datetime.fromisoformat(entry["now"]) if "now" in entry else None
        try:
            if op == "register":
                return self._register(entry["key_id"], entry["pem"], entry["balance_cents"])
            assert now is not None
            if op == "step":
                return self._step(now)
            if op == "create":
                return self._create(entry["account"], entry["body"], now)
            if op == "cancel":
                return self._cancel(entry["account"], entry["order_id"], now)
            if op == "decrease":
                return self._decrease(entry["account"], entry["order_id"], entry["body"], now)
            if op == "amend":
                return self._amend(entry["account"], entry["order_id"], entry["body"], now)
            if op == "cancel_all":
                return self._cancel_all(entry["account"], now)
        except SimError:
            if self._replaying:
                return None
            raise
        raise ValueError(f"unknown journal op {op!r}")

    def _record(self, entry: dict[str, Any]) -> Any:
        """Journal an input, then apply it (a refused command is journalled too: replay refuses it again)."""
        if self._journal is not None and not self._replaying:
            self._journal.append(entry)
        return self._apply(entry)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    # -- ids ------------------------------------------------------------------------------------------

    def _next_id(self, kind: str) -> str:
        self._seq += 1
        digest = hashlib.sha256(f"{self.config.seed}:{kind}:{self._seq}".encode()).digest()
        return str(uuid.UUID(bytes=digest[:16], version=4))

    # -- accounts -------------------------------------------------------------------------------------

    def _add_account(self, key_id: str, pem: str | None, balance_cents: int, *, is_agent: bool = False) -> SimAccount:
        cash = dollars_from_cents(balance_cents)
        account = SimAccount(key_id, pem, cash=cash, deposits=cash, is_agent=is_agent)
        self.accounts[key_id] = account
        return account

    def register_account(self, key_id: str, public_key_pem: str | None, balance_cents: int | None = None) -> None:
        """Register an API key (its public key PEM) with a starting balance. Idempotent per key id."""
        with self.lock:
            balance = self.config.default_balance_cents if balance_cents is None else balance_cents
            self._record({"op": "register", "key_id": key_id, "pem": public_key_pem, "balance_cents": balance})

    def _register(self, key_id: str, pem: str | None, balance_cents: int) -> None:
        existing = self.accounts.get(key_id)
        if existing is not None:
            existing.public_key_pem = pem        # key rotation keeps the money
            return
        self._add_account(key_id, pem, balance_cents)

    def account(self, key_id: str) -> SimAccount:
        try:
            return self.accounts[key_id]
        except KeyError:
            raise SimError(401, "unauthorized", "unknown API key") from None

    # -- time -----------------------------------------------------------------------------------------

    def _now(self) -> datetime:
        now = ensure_utc(self.clock.now())
        return now if self.last_step is None or now > self.last_step else self.last_step

    def step(self, now: datetime | None = None) -> None:
        """Advance listings, agents, expiries and settlement up to `now` (default: the clock's now)."""
        with self.lock:
            instant = ensure_utc(now) if now is not None else self._now()
            if self.last_step is not None and instant <= self.last_step:
                return
            self._record({"op": "step", "now": instant.isoformat()})

    def _step(self, now: datetime) -> None:
        if self.last_step is not None and now <= self.last_step:
            return
        previous = self.last_step
        self._list_up_to(now)
        if self.config.agents.enabled:
            for tick in self._ticks(previous, now):
                self._lifecycle(tick)
                self._agents_act(tick)
        self._lifecycle(now)
        self.last_step = now

    def _ticks(self, previous: datetime | None, now: datetime) -> list[datetime]:
        period = self.config.agents.tick_seconds
        last = int((now - _EPOCH).total_seconds()) // period
        first = last - self.config.agents.max_ticks_per_step + 1
        if previous is not None:
            first = max(first, int((previous - _EPOCH).total_seconds()) // period + 1)
        return [_EPOCH + timedelta(seconds=k * period) for k in range(first, last + 1)]

    def _list_up_to(self, now: datetime) -> None:
        for city in self.registry:
            today = city.climate_day(now)
            for offset in range(-self.config.backfill_days, self.config.days_ahead + 1):
                day = today + timedelta(days=offset)
                if offset > 0 and created_time(day) > now:
                    continue
                if event_ticker(city.series[0], day) in self.events:
                    continue
                event, markets = build_event(city, day, self.truth)
                self.events[event.event_ticker] = event
                for market in markets:
                    self.markets[market.ticker] = market
                    self.books[market.ticker] = Book()

    def _lifecycle(self, now: datetime) -> None:
        for market in self.markets.values():
            if market.status == "finalized":
                continue
            if market.status == "initialized" and now >= market.open_time:
                market.status, market.updated_time = "active", market.open_time
            if market.status == "active" and now >= market.close_time:
                market.status, market.updated_time = "closed", market.close_time
                self._cancel_book(market, market.close_time, "MarketClosed")
            if market.status == "closed" and now >= market.close_time + timedelta(seconds=self.config.settle_delay_seconds):
                self._determine(market, max(market.close_time + timedelta(seconds=self.config.settle_delay_seconds),
                                            market.close_time))
            if market.status == "determined" and market.determined_time is not None and \
                    now >= market.determined_time + timedelta(seconds=self.config.settlement_timer_seconds):
                self._finalize(market, market.determined_time + timedelta(seconds=self.config.settlement_timer_seconds))
        self._expire_orders(now)
        if self.trading_paused(now):
            for order in [o for o in self._open_orders() if o.cancel_order_on_pause]:
                self._close_order(order, now, "TradingPaused")

    def _expire_orders(self, now: datetime) -> None:
        for order in [o for o in self._open_orders() if o.expiration_time is not None and o.expiration_time <= now]:
            self._close_order(order, order.expiration_time or now, "Expired")

    def _open_orders(self) -> list[SimOrder]:
        return [o for book in self.books.values() for o in book.orders()]

    # -- settlement -----------------------------------------------------------------------------------

    def _determine(self, market: SimMarket, when: datetime) -> None:
        high = self.truth.settled_high(market.city_code, market.day)
        if high is None:
            return              # no official value yet: stay closed (Kalshi waits up to the latest expiration)
        market.status, market.result = "determined", "yes" if market.wins(high) else "no"
        market.expiration_value = f"{high}.00"
        market.determined_time = market.updated_time = when

    def _finalize(self, market: SimMarket, when: datetime) -> None:
        market.status, market.settlement_ts, market.updated_time = "finalized", when, when
        for account in self.accounts.values():
            pos = account.positions.get(market.ticker)
            if pos is None or pos.settled:
                continue
            held = abs(pos.position)
            wins = (pos.position > ZERO and market.result == "yes") or (pos.position < ZERO and market.result == "no")
            revenue = held if wins else ZERO
            yes_count = max(ZERO, pos.position)
            no_count = -pos.position if pos.position < ZERO else ZERO
            account.settlements.append(SimSettlement(
                market.ticker, market.event_ticker, account.key_id, market.result, yes_count,
                pos.cost if yes_count else ZERO, no_count, pos.cost if no_count else ZERO,
                int(revenue * 100), 100 if market.result == "yes" else 0, pos.fees_paid, when))
            account.cash += revenue
            pos.realized_pnl += revenue - pos.cost
            pos.position, pos.cost, pos.settled, pos.last_updated = ZERO, ZERO, True, when
        market.open_interest = ZERO

    # -- order commands -------------------------------------------------------------------------------

    def create_order(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        """V2 create (`POST /portfolio/events/orders` body). Returns the lean 201 body or raises SimError."""
        with self.lock:
            self.step()
            return self._record({"op": "create", "account": key_id, "body": body, "now": self._now().isoformat()})

    def cancel_order(self, key_id: str, order_id: str) -> dict[str, Any]:
        with self.lock:
            self.step()
            return self._record({"op": "cancel", "account": key_id, "order_id": order_id,
                                 "now": self._now().isoformat()})

    def decrease_order(self, key_id: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.step()
            return self._record({"op": "decrease", "account": key_id, "order_id": order_id, "body": body,
                                 "now": self._now().isoformat()})

    def amend_order(self, key_id: str, order_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self.step()
            return self._record({"op": "amend", "account": key_id, "order_id": order_id, "body": body,
                                 "now": self._now().isoformat()})

    def cancel_all(self, key_id: str) -> int:
        with self.lock:
            self.step()
            return self._record({"op": "cancel_all", "account": key_id, "now": self._now().isoformat()})

    def trading_paused(self, now: datetime) -> bool:
        """Kalshi's weekly maintenance: no placing or amending Thursday 03:00–05:00 ET (cancels still work)."""
        if not self.config.maintenance_pause:
            return False
        eastern = now.astimezone(_EASTERN)
        return eastern.weekday() == 3 and 3 <= eastern.hour < 5

    def _check_not_paused(self, now: datetime) -> None:
        if self.trading_paused(now):
            raise SimError(409, "trading_paused", "TRADING_PAUSED: weekly maintenance, cancels only")

    def _market_for_trading(self, ticker: str) -> SimMarket:
        market = self.markets.get(ticker)
        if market is None:
            raise SimError(404, "not_found", f"market {ticker} not found")
        if market.status != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        return market

    def _parse_create(self, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise SimError(400, "invalid_parameters", "body must be a JSON object")
        side = body.get("side")
        if side not in ("bid", "ask"):
            raise SimError(400, "invalid_parameters", "side must be 'bid' or 'ask'")
        tif = _TIF.get(body.get("time_in_force", ""))
        if tif is None:
            raise SimError(400, "invalid_parameters",
                           "time_in_force must be good_till_canceled, immediate_or_cancel or fill_or_kill")
        stp = body.get("self_trade_prevention_type")
        if stp not in _STP:
            raise SimError(400, "invalid_parameters", "self_trade_prevention_type must be taker_at_cross or maker")
        expiration = body.get("expiration_time")
        expires: datetime | None = None
        if expiration not in (None, 0):
            if tif != "gtc":
                raise SimError(400, "invalid_order", "Cannot specify both immediate_or_cancel and expiration_ts")
            if not isinstance(expiration, int) or isinstance(expiration, bool):
                raise SimError(400, "invalid_parameters", "expiration_time must be Unix seconds")
            expires = _EPOCH + timedelta(seconds=expiration)
            if expires <= now:
                raise SimError(400, "invalid_order", "Expiration timestamp must be in the future")
        post_only, reduce_only = bool(body.get("post_only")), bool(body.get("reduce_only"))
        if post_only and tif != "gtc":
            raise SimError(400, "invalid_order", "post_only orders must be good_till_canceled")
        if reduce_only and tif != "ioc":
            raise SimError(400, "invalid_order", "reduce_only orders must be immediate_or_cancel")
        cid = body.get("client_order_id") or ""
        if not isinstance(cid, str) or len(cid) > 64:
            raise SimError(400, "invalid_parameters", "client_order_id must be a string of at most 64 characters")
        return {"ticker": str(body.get("ticker") or ""), "side": side, "price": _yes_price(body.get("price")),
                "count": _count(body.get("count")), "tif": tif, "stp": stp, "expires": expires,
                "post_only": post_only, "reduce_only": reduce_only, "cid": cid,
                "cancel_on_pause": bool(body.get("cancel_order_on_pause")),
                "group": str(body.get("order_group_id") or "")}

    def _check_client_id(self, account: SimAccount, cid: str) -> None:
        if not cid or cid not in account.client_order_ids:
            return
        existing = self.orders[account.client_order_ids[cid]]
        if self.config.client_order_id_scope == "forever" or existing.is_open:
            raise SimError(409, "order_already_exists", "order with this client_order_id already exists",
                           f"order_id={existing.order_id}")

    def _create(self, key_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        account = self.account(key_id)
        req = self._parse_create(body, now)
        self._check_not_paused(now)
        market = self._market_for_trading(req["ticker"])
        self._check_client_id(account, req["cid"])
        book = self.books[market.ticker]
        side: BookSide = req["side"]
        count: Decimal = req["count"]
        if req["reduce_only"]:
            held = account.position(market.ticker).position
            closable = -held if side == "bid" else held
            if closable <= ZERO:
                raise SimError(400, "invalid_order", "reduce_only order would increase the position")
            count = min(count, closable)
        if req["post_only"] and self._would_cross(book, side, req["price"]):
            raise SimError(400, "invalid_order", "post only cross", "post only cross")
        cost = count * side_price(side, req["price"])
        if account.available < cost + max_taker_fee(count):
            raise SimError(400, "available_balance_too_low", "insufficient balance for this order")
        if req["tif"] == "fok" and self._fillable(book, account, side, req["price"]) < count:
            return self._ack(self._new_order(account, req, count, now, status="canceled"), now)
        order = self._new_order(account, req, count, now)
        self._match(order, book, market, now)
        if order.is_open and order.remaining_count > ZERO:
            if req["tif"] == "gtc":
                self._rest(order, book)
            else:
                self._close_order(order, now, "IOC")
        elif order.is_open:
            order.status = "executed"
        return self._ack(order, now)

    def _new_order(self, account: SimAccount, req: dict[str, Any], count: Decimal, now: datetime,
                   status: str = "resting") -> SimOrder:
        self._seq += 1
        order = SimOrder(
            order_id=self._next_id("order"), account=account.key_id, client_order_id=req["cid"],
            ticker=req["ticker"], book_side=req["side"], price=req["price"], initial_count=count,
            remaining_count=ZERO if status == "canceled" else count,
            time_in_force=req["tif"], self_trade_prevention_type=req["stp"], created_time=now,
            last_update_time=now, seq=self._seq, expiration_time=req["expires"], post_only=req["post_only"],
            cancel_order_on_pause=req["cancel_on_pause"], order_group_id=req["group"], status=status)
        self.orders[order.order_id] = order
        account.order_ids.append(order.order_id)
        if req["cid"]:
            account.client_order_ids[req["cid"]] = order.order_id
        return order

    @staticmethod
    def _would_cross(book: Book, side: BookSide, price: Decimal) -> bool:
        best = book.best("ask" if side == "bid" else "bid")
        return best is not None and (best <= cents(price) if side == "bid" else best >= cents(price))

    def _fillable(self, book: Book, account: SimAccount, side: BookSide, price: Decimal) -> Decimal:
        opposite: BookSide = "ask" if side == "bid" else "bid"
        limit = cents(price)
        total = ZERO
        for level_price, _size in book.depth(opposite):
            if (level_price <= limit) if side == "bid" else (level_price >= limit):
                total += sum((o.remaining_count for o in book.orders()
                              if o.book_side == opposite and cents(o.price) == level_price
                              and o.account != account.key_id), ZERO)
        return total

    def _ack(self, order: SimOrder, now: datetime) -> dict[str, Any]:
        body: dict[str, Any] = {"client_order_id": order.client_order_id, "fill_count": f"{order.fill_count:.2f}",
                                "order_id": order.order_id, "remaining_count": f"{order.remaining_count:.2f}",
                                "ts_ms": (now - _EPOCH) // timedelta(milliseconds=1)}
        if order.fill_count > ZERO:
            cost = order.taker_fill_cost + order.maker_fill_cost
            body["average_fill_price"] = f"{(cost / order.fill_count).quantize(Decimal('0.0001')):f}"
            body["average_fee_paid"] = f"{((order.taker_fees + order.maker_fees) / order.fill_count).quantize(Decimal('0.0001')):f}"
        return body

    def _rest(self, order: SimOrder, book: Book) -> None:
        order.reserved = order.remaining_count * side_price(order.book_side, order.price)
        self.accounts[order.account].reserved += order.reserved
        book.add(order)

    def _release(self, order: SimOrder, count: Decimal) -> None:
        amount = min(order.reserved, count * side_price(order.book_side, order.price))
        order.reserved -= amount
        self.accounts[order.account].reserved -= amount

    def _close_order(self, order: SimOrder, now: datetime, reason: str) -> Decimal:
        """Cancel the resting remainder; returns the count cancelled."""
        cancelled = order.remaining_count
        self.books[order.ticker].remove(order)
        self._release(order, cancelled)
        order.remaining_count = ZERO
        order.status = "canceled" if cancelled > ZERO or order.fill_count == ZERO else "executed"
        order.last_update_time, order.last_update_reason = now, reason
        return cancelled

    def _cancel_book(self, market: SimMarket, now: datetime, reason: str) -> None:
        for order in list(self.books[market.ticker].orders()):
            self._close_order(order, now, reason)

    # -- matching -------------------------------------------------------------------------------------

    def _match(self, taker: SimOrder, book: Book, market: SimMarket, now: datetime) -> None:
        for maker in book.crossing(taker.book_side, cents(taker.price)):
            if taker.remaining_count <= ZERO or not taker.is_open:
                return
            if maker.account == taker.account:
                if taker.self_trade_prevention_type == "taker_at_cross":
                    self._close_order(taker, now, "SelfTradePrevention")
                    return
                self._close_order(maker, now, "SelfTradePrevention")
                continue
            quantity = min(taker.remaining_count, maker.remaining_count)
            self._execute(taker, maker, quantity, market, now)
            if maker.remaining_count <= ZERO:
                book.remove(maker)
                maker.status = "executed"
        if taker.remaining_count <= ZERO and taker.is_open:
            taker.status = "executed"

    def _execute(self, taker: SimOrder, maker: SimOrder, quantity: Decimal, market: SimMarket, now: datetime) -> None:
        price = maker.price
        trade_id = self._next_id("trade")
        self._release(maker, quantity)
        opening = ZERO
        for order, is_taker in ((taker, True), (maker, False)):
            account = self.accounts[order.account]
            fee = self._fee(order, quantity, price, is_taker)
            opening += self._apply_fill(account, market.ticker, order.book_side, quantity, price, fee, now)
            order.fill_count += quantity
            order.remaining_count -= quantity
            order.last_update_time = now
            cost = quantity * side_price(order.book_side, price)
            if is_taker:
                order.taker_fill_cost += cost
            else:
                order.maker_fill_cost += cost
            fill = SimFill(self._next_id("fill"), trade_id, order.order_id, account.key_id, market.ticker,
                           order.book_side, quantity, price, is_taker, fee, now, order.price)
            account.fills.append(fill)
        # Each side either opened (adds to open interest) or closed (removes): net change / 2 per pair.
        market.open_interest += (opening - (2 * quantity - opening)) / 2
        market.volume += quantity
        market.last_price, market.updated_time = price, now
        self.trades.append(SimTrade(trade_id, market.ticker, quantity, price, taker.book_side, now))

    def _fee(self, order: SimOrder, quantity: Decimal, price: Decimal, is_taker: bool) -> Decimal:
        """Kalshi's per-order rounding: the order's fees total ceil_cent(Σ exact fee of its fills)."""
        if not is_taker:
            fee = fees.maker_fee(quantity, price)
            order.maker_fees += fee
            return fee
        order.fee_accrued += fees.TAKER_RATE * quantity * price * (ONE - price)
        fee = ceil_cent(order.fee_accrued) - order.taker_fees
        order.taker_fees += fee
        return fee

    def _apply_fill(self, account: SimAccount, ticker: str, book_side: BookSide, quantity: Decimal,
                    price: Decimal, fee: Decimal, now: datetime) -> Decimal:
        """Update cash and position; returns how many of `quantity` opened new exposure."""
        pos = account.position(ticker)
        held_against = -pos.position if book_side == "bid" else pos.position    # contracts this trade closes
        closing = min(quantity, max(held_against, ZERO))
        opening = quantity - closing
        paid = side_price(book_side, price)
        if closing > ZERO:
            average_cost = pos.cost / abs(pos.position)
            proceeds = closing * (ONE - paid)        # buy the other side at `paid`, redeem the pair for $1
            released = average_cost * closing if closing < abs(pos.position) else pos.cost
            pos.realized_pnl += proceeds - released
            pos.cost -= released
            account.cash += proceeds
        account.cash -= opening * paid + fee
        pos.cost += opening * paid
        pos.position += quantity if book_side == "bid" else -quantity
        pos.fees_paid += fee
        pos.realized_pnl -= fee
        pos.total_traded += quantity * paid
        pos.last_updated = account.updated = now
        self.fees_collected += fee
        return opening

    # -- cancel / decrease / amend --------------------------------------------------------------------

    def _own_order(self, account: SimAccount, order_id: str) -> SimOrder:
        order = self.orders.get(order_id)
        if order is None or order.account != account.key_id:
            raise SimError(404, "not_found", f"order {order_id} not found")
        return order

    def _cancel(self, key_id: str, order_id: str, now: datetime) -> dict[str, Any]:
        account = self.account(key_id)
        order = self._own_order(account, order_id)
        if self.markets[order.ticker].status != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        if not order.is_open:
            raise SimError(404, "not_found", f"order {order_id} is not resting")
        reduced = self._close_order(order, now, "Canceled")
        return {"client_order_id": order.client_order_id, "order_id": order.order_id,
                "reduced_by": f"{reduced:.2f}", "ts_ms": (now - _EPOCH) // timedelta(milliseconds=1)}

    def _cancel_all(self, key_id: str, now: datetime) -> int:
        account = self.account(key_id)
        open_orders = [self.orders[i] for i in account.order_ids if self.orders[i].is_open]
        for order in open_orders:
            if self.markets[order.ticker].status == "active":
                self._close_order(order, now, "Canceled")
        return len(open_orders)

    def _decrease(self, key_id: str, order_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        account = self.account(key_id)
        order = self._own_order(account, order_id)
        if self.markets[order.ticker].status != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        if not order.is_open:
            raise SimError(404, "not_found", f"order {order_id} is not resting")
        by, to = body.get("reduce_by"), body.get("reduce_to")
        if (by is None) == (to is None):
            raise SimError(400, "invalid_parameters", "exactly one of reduce_by or reduce_to is required")
        if by is not None:
            reduce = _count(by, "reduce_by")
        else:
            target = _dec(to, "reduce_to")
            if target < ZERO or target != target.quantize(CENT):
                raise SimError(400, "invalid_order_size", "reduce_to must be a non-negative count")
            reduce = order.remaining_count - target
        if reduce <= ZERO:
            raise SimError(400, "invalid_order_size", "decrease must reduce the remaining count")
        if reduce >= order.remaining_count:
            self._close_order(order, now, "Canceled")
        else:
            order.remaining_count -= reduce          # keeps queue priority
            self._release(order, reduce)
            order.last_update_time, order.last_update_reason = now, "Decreased"
        return {"client_order_id": order.client_order_id, "order_id": order.order_id,
                "remaining_count": f"{order.remaining_count:.2f}",
                "ts_ms": (now - _EPOCH) // timedelta(milliseconds=1)}

    def _amend(self, key_id: str, order_id: str, body: dict[str, Any], now: datetime) -> dict[str, Any]:
        account = self.account(key_id)
        order = self._own_order(account, order_id)
        market = self.markets[order.ticker]
        if market.status != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        if not order.is_open:
            raise SimError(404, "not_found", f"order {order_id} is not resting")
        self._check_not_paused(now)
        if body.get("ticker") != order.ticker:
            raise SimError(400, "order_ticker_mismatch", "ticker does not match the order")
        if body.get("side") != order.book_side:
            raise SimError(400, "order_side_mismatch", "side does not match the order")
        cid = body.get("client_order_id")
        if cid and cid != order.client_order_id:
            raise SimError(400, "order_id_and_client_order_id_mismatch", "client_order_id does not match the order")
        price, total = _yes_price(body.get("price")), _count(body.get("count"))
        new_remaining = total - order.fill_count
        if new_remaining <= ZERO:
            raise SimError(400, "invalid_order_size", "count must exceed the filled count")
        new_cid = body.get("updated_client_order_id")
        if new_cid:
            self._check_client_id(account, new_cid)
        extra_cost = new_remaining * side_price(order.book_side, price) - order.reserved
        if extra_cost > ZERO and account.available < extra_cost + max_taker_fee(new_remaining):
            raise SimError(400, "available_balance_too_low", "insufficient balance for this amend")
        if new_cid:
            account.client_order_ids[new_cid] = order.order_id
            order.client_order_id = new_cid
        fills_before = order.fill_count
        book = self.books[order.ticker]
        if price == order.price and new_remaining <= order.remaining_count:
            self._release(order, order.remaining_count - new_remaining)     # size down keeps priority
            order.remaining_count, order.initial_count = new_remaining, total
        else:
            book.remove(order)
            self._release(order, order.remaining_count)
            self._seq += 1
            order.seq, order.price, order.remaining_count = self._seq, price, new_remaining
            order.initial_count = total
            self._match(order, book, market, now)
            if order.is_open and order.remaining_count > ZERO:
                self._rest(order, book)
        order.last_update_time, order.last_update_reason = now, "Amended"
        out: dict[str, Any] = {"client_order_id": order.client_order_id, "order_id": order.order_id,
                               "fill_count": f"{order.fill_count - fills_before:.2f}",
                               "remaining_count": f"{order.remaining_count:.2f}",
                               "ts_ms": (now - _EPOCH) // timedelta(milliseconds=1)}
        return out

    # -- agents ---------------------------------------------------------------------------------------

    def _agents_act(self, tick: datetime) -> None:
        cfg = self.config.agents
        if self.trading_paused(tick):
            return
        stamp = tick.isoformat()
        for market in list(self.markets.values()):
            if market.status != "active":
                continue
            fair = agents.fair_probability(market, self.truth, tick)
            if fair is None:
                continue
            book = self.books[market.ticker]
            maker_name = agents.MAKER_ACCOUNTS[hash_index(market.ticker, stamp, len(agents.MAKER_ACCOUNTS))]
            for order in [o for o in book.orders() if o.account == maker_name]:
                self._close_order(order, tick, "Canceled")
            rng = agents.tick_rng(self.config.seed, market.ticker, stamp, "maker")
            for quote in agents.maker_quotes(fair, cfg, rng):
                self._agent_order(maker_name, market, quote, "good_till_canceled", tick)
            taker_rng = agents.tick_rng(self.config.seed, market.ticker, stamp, "taker")
            intent = agents.taker_intent(fair, book.best("bid"), book.best("ask"), cfg, taker_rng)
            if intent is not None:
                taker = agents.TAKER_ACCOUNTS[taker_rng.randrange(len(agents.TAKER_ACCOUNTS))]
                self._agent_order(taker, market, intent, "immediate_or_cancel", tick)

    def _agent_order(self, name: str, market: SimMarket, quote: agents.Quote, tif: str, now: datetime) -> None:
        body = {"ticker": market.ticker, "side": quote.book_side, "price": f"{agents.price_of(quote.price_cents)}",
                "count": str(quote.count), "time_in_force": tif, "self_trade_prevention_type": "maker"}
        try:
            self._create(name, body, now)
        except SimError:
            pass            # an agent out of money simply does not quote

    # -- reads ----------------------------------------------------------------------------------------

    def list_markets_for(self, city_code: str, day: date) -> list[SimMarket]:
        with self.lock:
            return [m for m in self.markets.values() if m.city_code == city_code.upper() and m.day == day]

    def queue_position(self, key_id: str, order_id: str) -> Decimal:
        with self.lock:
            order = self._own_order(self.account(key_id), order_id)
            return self.books[order.ticker].queue_ahead(order) if order.is_open else ZERO

    def portfolio_value(self, account: SimAccount) -> Decimal:
        """Positions marked at the best bid of the held side (0 without a bid)."""
        value = ZERO
        for pos in account.positions.values():
            if pos.settled or pos.position == ZERO:
                continue
            book = self.books[pos.ticker]
            if pos.position > ZERO:
                bid = book.best("bid")
                value += pos.position * (Decimal(bid) / 100 if bid else ZERO)
            else:
                ask = book.best("ask")
                value += -pos.position * (ONE - Decimal(ask) / 100 if ask else ZERO)
        return value

    def check_invariants(self) -> None:
        """Raise AssertionError if money or contracts were created or destroyed."""
        with self.lock:
            deposits = sum((a.deposits for a in self.accounts.values()), ZERO)
            cash = sum((a.cash for a in self.accounts.values()), ZERO)
            interest = sum((m.open_interest for m in self.markets.values()), ZERO)
            assert cash + self.fees_collected + interest == deposits, (cash, self.fees_collected, interest, deposits)
            for ticker, market in self.markets.items():
                longs = sum((a.positions[ticker].position for a in self.accounts.values()
                             if ticker in a.positions and a.positions[ticker].position > ZERO), ZERO)
                shorts = -sum((a.positions[ticker].position for a in self.accounts.values()
                               if ticker in a.positions and a.positions[ticker].position < ZERO), ZERO)
                assert longs == shorts == market.open_interest, (ticker, longs, shorts, market.open_interest)
            for account in self.accounts.values():
                assert account.cash >= ZERO and account.reserved >= ZERO, account
                assert account.available >= ZERO, account
                held = sum((self.orders[i].reserved for i in account.order_ids if self.orders[i].is_open), ZERO)
                assert held == account.reserved, (account.key_id, held, account.reserved)


def max_taker_fee(count: Decimal) -> Decimal:
    """The largest fee `count` contracts can cost at any fill price (P(1−P) peaks at 0.50)."""
    return fees.taker_fee(count, Decimal("0.50"))


def hash_index(ticker: str, stamp: str, size: int) -> int:
    return hashlib.sha256(f"{ticker}|{stamp}".encode()).digest()[0] % size
