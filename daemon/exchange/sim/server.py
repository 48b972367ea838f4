"""`SimServer`: Kalshi's REST v2 over real HTTP on loopback, backed by a `SimExchange`.

Same paths under `/trade-api/v2`, same JSON (sorted keys, `*_dollars`/`*_fp`), Kalshi-style errors
(`{"error":{"code","message","details"}}`; 429 is `{"error":"too many requests"}`), RSA-PSS signature
checks against registered public keys (401 on unknown key, bad or stale signature). Faults from
`self.faults` (scripted or configured rates). Every request first steps the exchange to the clock's now.
"""

from __future__ import annotations

import json
import logging
import re
import socket
import struct
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from daemon.clock import Clock
from daemon.exchange.signing import (
    HEADER_KEY,
    HEADER_SIGNATURE,
    HEADER_TIMESTAMP,
    PublicKey,
    load_public_key_pem,
    verify_signature,
)
from daemon.exchange.sim import wire
from daemon.exchange.sim.engine import SimExchange
from daemon.exchange.sim.faults import Fault, Faults
from daemon.exchange.sim.ratelimit import Buckets
from daemon.exchange.sim.state import SimAccount, SimError
from daemon.money import ZERO, floor_cent, fmt_count, fmt_dollars

log = logging.getLogger(__name__)
PREFIX = "/trade-api/v2"
_STATUS_FILTER = {"unopened": ("initialized",), "open": ("active",), "paused": ("inactive",),
                  "closed": ("closed", "determined", "disputed", "amended"), "settled": ("finalized",)}
_DEPRECATED = SimError(400, "deprecated_v1_order_endpoint", "Please switch to the V2 endpoints",
                       "https://docs.kalshi.com/getting_started/order_direction")


class Response:
    def __init__(self, status: int, body: Any = None, *, newline: bool = False, charset: bool = False) -> None:
        self.status, self.body, self.newline, self.charset = status, body, newline, charset


Query = dict[str, list[str]]
Handler = Callable[["Request"], Response]


class Request:
    def __init__(self, method: str, path: str, query: Query, body: Any, account: SimAccount | None,
                 match: re.Match[str]) -> None:
        self.method, self.path, self.query, self.body, self.account, self.match = method, path, query, body, account, match

    def q(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def qint(self, name: str, default: int | None = None, *, low: int = 0, high: int | None = None) -> int | None:
        raw = self.q(name)
        if raw is None or raw == "":
            return default
        try:
            value = int(raw)
        except ValueError:
            raise SimError(400, "invalid_parameters", f"{name} must be an integer") from None
        if value < low or (high is not None and value > high):
            raise SimError(400, "invalid_parameters", f"{name} out of range")
        return value

    def qbool(self, name: str) -> bool:
        return (self.q(name) or "").lower() == "true"

    @property
    def key_id(self) -> str:
        assert self.account is not None
        return self.account.key_id


def _since(req: Request, instant: datetime) -> bool:
    low, high = req.qint("min_ts"), req.qint("max_ts")
    seconds = wire.unix_s(instant)
    return (low is None or seconds >= low) and (high is None or seconds <= high)


class SimServer:
    def __init__(self, exchange: SimExchange, host: str = "127.0.0.1", port: int = 0, *,
                 auth_clock: Clock | None = None, step_interval_s: float | None = None) -> None:
        self.exchange = exchange
        self.faults: Faults = exchange.faults
        self.host, self._port = host, port
        self._auth_clock = auth_clock or exchange.clock
        self._step_interval = step_interval_s
        self._keys: dict[tuple[str, str], PublicKey] = {}
        self._buckets = Buckets(exchange.config, exchange.clock)
        self._stale_books: dict[str, tuple[datetime, Response]] = {}
        self._stop = threading.Event()
        self._httpd: ThreadingHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self.request_count = 0
        self._routes: list[tuple[str, re.Pattern[str], Handler, bool, str]] = []
        self._build_routes()

    # -- lifecycle ------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        assert self._httpd is not None, "server not started"
        return self._httpd.server_address[1]

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}{PREFIX}"

    def start(self) -> SimServer:
        server = self

        class _Handler(_RequestHandler):
            sim = server

        self._httpd = ThreadingHTTPServer((self.host, self._port), _Handler)
        self._httpd.daemon_threads = True
        self._stop.clear()
        serve = threading.Thread(target=self._httpd.serve_forever, name="sim-http", daemon=True)
        serve.start()
        self._threads = [serve]
        if self._step_interval:
            stepper = threading.Thread(target=self._step_loop, name="sim-step", daemon=True)
            stepper.start()
            self._threads.append(stepper)
        return self

    def _step_loop(self) -> None:
        assert self._step_interval is not None
        while not self._stop.wait(self._step_interval):
            try:
                self.exchange.step()
            except Exception:
                log.exception("simulator step failed")

    def stop(self) -> None:
        self._stop.set()
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> SimServer:  # noqa: PYI034 - start() returns self
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def wait(self, seconds: float) -> bool:
        """Block up to `seconds` of wall time (interrupted by stop)."""
        return self._stop.wait(seconds)

    # -- auth -----------------------------------------------------------------------------------------

    def authenticate(self, headers: Any, method: str, path: str, required: bool) -> SimAccount | None:
        key_id = headers.get(HEADER_KEY)
        if not key_id:
            if required:
                raise SimError(401, "unauthorized", "missing authentication headers")
            return None
        account = self.exchange.accounts.get(key_id)
        if account is None or account.public_key_pem is None:
            raise SimError(401, "unauthorized", "unknown API key")
        raw_ts, signature = headers.get(HEADER_TIMESTAMP, ""), headers.get(HEADER_SIGNATURE, "")
        try:
            timestamp_ms = int(raw_ts)
        except ValueError:
            raise SimError(401, "unauthorized", "invalid timestamp") from None
        now_ms = wire.unix_ms(self._auth_clock.now())
        if abs(now_ms - timestamp_ms) > self.exchange.config.auth_max_skew_seconds * 1000:
            raise SimError(401, "unauthorized", "timestamp outside the allowed window")
        key = self._public_key(key_id, account.public_key_pem)
        if not verify_signature(key, signature, timestamp_ms, method, path):
            raise SimError(401, "unauthorized", "invalid signature")
        return account

    def _public_key(self, key_id: str, pem: str) -> PublicKey:
        cached = self._keys.get((key_id, pem))
        if cached is None:
            cached = self._keys[(key_id, pem)] = load_public_key_pem(pem)
        return cached

    # -- dispatch -------------------------------------------------------------------------------------

    def route(self, method: str, api_path: str) -> tuple[Handler, re.Match[str], bool, str]:
        allowed = False
        for verb, pattern, handler, auth, tier in self._routes:
            match = pattern.fullmatch(api_path)
            if match:
                if verb == method:
                    return handler, match, auth, tier
                allowed = True
        if allowed:
            raise SimError(405, "method_not_allowed", f"{method} is not allowed on {api_path}")
        raise SimError(404, "not_found", f"no route for {api_path}")

    def handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> Response:
        """Process one request (after fault selection). Raises nothing: errors become responses."""
        parts = urlsplit(raw_path)
        if not parts.path.startswith(PREFIX):
            return self._error(SimError(404, "not_found", "unknown path"))
        api_path = parts.path[len(PREFIX):] or "/"
        try:
            handler, match, auth_required, tier = self.route(method, api_path)
            account = self.authenticate(headers, method, parts.path, auth_required)
            if not self._buckets.take(account.key_id if account else "anonymous", tier, api_path, method):
                return Response(429, {"error": "too many requests"})
            body = None
            if raw_body:
                try:
                    body = json.loads(raw_body, parse_float=Decimal)
                except ValueError:
                    raise SimError(400, "invalid_parameters", "body is not valid JSON") from None
            self.exchange.step()
            query = parse_qs(parts.query, keep_blank_values=True)
            with self.exchange.lock:
                return handler(Request(method, api_path, query, body, account, match))
        except SimError as exc:
            return self._error(exc)
        except Exception:
            log.exception("simulator failed on %s %s", method, api_path)
            return self._error(SimError(500, "internal_server_error", "internal server error"))

    @staticmethod
    def _error(exc: SimError) -> Response:
        return Response(exc.status, exc.body())

    # -- routes ---------------------------------------------------------------------------------------

    def _build_routes(self) -> None:
        r = self._add
        r("GET", r"/exchange/status", self.exchange_status)
        r("GET", r"/exchange/schedule", self.exchange_schedule)
        r("GET", r"/historical/cutoff", self.historical_cutoff)
        r("GET", r"/series", self.list_series)
        r("GET", r"/series/(?P<series>[^/]+)", self.get_series)
        r("GET", r"/events", self.list_events)
        r("GET", r"/events/(?P<event>[^/]+)", self.get_event)
        r("GET", r"/markets", self.list_markets)
        r("GET", r"/markets/trades", self.list_trades)
        r("GET", r"/markets/orderbooks", self.get_orderbooks)
        r("GET", r"/markets/(?P<ticker>[^/]+)", self.get_market)
        r("GET", r"/markets/(?P<ticker>[^/]+)/orderbook", self.get_orderbook)
        r("GET", r"/series/(?P<series>[^/]+)/markets/(?P<ticker>[^/]+)/candlesticks", self.candlesticks)
        r("GET", r"/portfolio/balance", self.get_balance, auth=True)
        r("GET", r"/portfolio/orders", self.list_orders, auth=True)
        r("GET", r"/portfolio/orders/queue_positions", self.queue_positions, auth=True)
        r("GET", r"/portfolio/orders/(?P<order_id>[^/]+)", self.get_order, auth=True)
        r("GET", r"/portfolio/orders/(?P<order_id>[^/]+)/queue_position", self.queue_position, auth=True)
        r("GET", r"/portfolio/fills", self.list_fills, auth=True)
        r("GET", r"/portfolio/positions", self.list_positions, auth=True)
        r("GET", r"/portfolio/settlements", self.list_settlements, auth=True)
        r("POST", r"/portfolio/events/orders", self.create_order, auth=True, tier="write")
        r("DELETE", r"/portfolio/events/orders", self.cancel_all, auth=True, tier="write")
        r("POST", r"/portfolio/events/orders/batched", self.batch_create, auth=True, tier="write")
        r("DELETE", r"/portfolio/events/orders/batched", self.batch_cancel, auth=True, tier="write")
        r("DELETE", r"/portfolio/events/orders/(?P<order_id>[^/]+)", self.cancel_order, auth=True, tier="write")
        r("POST", r"/portfolio/events/orders/(?P<order_id>[^/]+)/amend", self.amend_order, auth=True, tier="write")
        r("POST", r"/portfolio/events/orders/(?P<order_id>[^/]+)/decrease", self.decrease_order, auth=True,
          tier="write")
        r("POST", r"/portfolio/orders", self.legacy_create, auth=True, tier="write")
        r("POST", r"/portfolio/orders/batched", self.deprecated, auth=True, tier="write")
        r("DELETE", r"/portfolio/orders/batched", self.deprecated, auth=True, tier="write")
        r("DELETE", r"/portfolio/orders/(?P<order_id>[^/]+)", self.deprecated, auth=True, tier="write")
        r("POST", r"/portfolio/orders/(?P<order_id>[^/]+)/(amend|decrease)", self.deprecated, auth=True,
          tier="write")

    def _add(self, method: str, pattern: str, handler: Handler, *, auth: bool = False, tier: str = "read") -> None:
        self._routes.append((method, re.compile(pattern), handler, auth, tier))

    # -- market data ----------------------------------------------------------------------------------

    def exchange_status(self, req: Request) -> Response:
        paused = self.exchange.trading_paused(self.exchange.clock.now())
        return Response(200, {"exchange_active": True, "exchange_estimated_resume_time": None,
                              "trading_active": not paused})

    def exchange_schedule(self, req: Request) -> Response:
        days = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
        hours = [{"close_time": "23:59", "open_time": "00:00"}]
        return Response(200, {"schedule": {"maintenance_windows": [], "standard_hours": [
            {**{d: hours for d in days}, "end_time": None, "start_time": None}]}})

    def historical_cutoff(self, req: Request) -> Response:
        cutoff = wire.ts(self.exchange.clock.now() - timedelta(days=90))
        return Response(200, {"market_positions_last_updated_ts": cutoff, "market_settled_ts": cutoff,
                              "orders_updated_ts": cutoff, "trades_created_ts": cutoff})

    def _series(self) -> dict[str, str]:
        return {city.series[0]: city.name for city in self.exchange.registry}

    def list_series(self, req: Request) -> Response:
        category = req.q("category")
        if category not in (None, "", "Climate and Weather"):
            return Response(200, {"series": []})
        return Response(200, {"series": [wire.series_json(t, n) for t, n in self._series().items()]})

    def get_series(self, req: Request) -> Response:
        ticker = req.match["series"]
        name = self._series().get(ticker)
        if name is None:
            raise SimError(404, "not_found", f"series {ticker} not found")
        return Response(200, {"series": wire.series_json(ticker, name)})

    def _market_json(self, ticker: str) -> dict[str, Any]:
        return wire.market_json(self.exchange.markets[ticker], self.exchange.books[ticker],
                                self.exchange.config.settlement_timer_seconds)

    def _status_values(self, req: Request) -> tuple[str, ...] | None:
        status = req.q("status")
        if not status:
            return None
        if status not in _STATUS_FILTER:
            raise SimError(400, "invalid_parameters", f"unknown status filter {status!r}")
        return _STATUS_FILTER[status]

    def list_events(self, req: Request) -> Response:
        statuses = self._status_values(req)
        series = req.q("series_ticker")
        tickers = set(filter(None, (req.q("tickers") or "").split(","))) or None
        min_close = req.qint("min_close_ts")
        limit = req.qint("limit", 200, low=1, high=200) or 200
        nested = req.qbool("with_nested_markets")
        events = []
        for event in self.exchange.events.values():
            markets = [self.exchange.markets[t] for t in event.market_tickers]
            if series and event.series_ticker != series or tickers and event.event_ticker not in tickers:
                continue
            if statuses and not any(m.status in statuses for m in markets):
                continue
            if min_close is not None and wire.unix_s(event.strike_date) < min_close:
                continue
            events.append(event)
        page, cursor = wire.paginate(events, limit, req.q("cursor"))
        body = [wire.event_json(e, [self._market_json(t) for t in e.market_tickers] if nested else None)
                for e in page]
        return Response(200, {"cursor": cursor, "events": body}, newline=True)

    def get_event(self, req: Request) -> Response:
        event = self.exchange.events.get(req.match["event"])
        if event is None:
            raise SimError(404, "not_found", "event not found")
        markets = [self._market_json(t) for t in event.market_tickers]
        nested = markets if req.qbool("with_nested_markets") else None
        return Response(200, {"event": wire.event_json(event, nested), "markets": markets}, newline=True)

    def list_markets(self, req: Request) -> Response:
        statuses = self._status_values(req)
        event_ticker, series = req.q("event_ticker"), req.q("series_ticker")
        tickers = set(filter(None, (req.q("tickers") or "").split(","))) or None
        min_close, max_close = req.qint("min_close_ts"), req.qint("max_close_ts")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        if event_ticker and "," in event_ticker:
            return Response(200, {"cursor": "", "markets": []}, newline=True)      # Kalshi's quiet empty answer
        selected = []
        for market in self.exchange.markets.values():
            if event_ticker and market.event_ticker != event_ticker or series and market.series_ticker != series:
                continue
            if tickers and market.ticker not in tickers or statuses and market.status not in statuses:
                continue
            close = wire.unix_s(market.close_time)
            if min_close is not None and close < min_close or max_close is not None and close > max_close:
                continue
            selected.append(market.ticker)
        page, cursor = wire.paginate(selected, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "markets": [self._market_json(t) for t in page]}, newline=True)

    def get_market(self, req: Request) -> Response:
        ticker = req.match["ticker"]
        if ticker not in self.exchange.markets:
            raise SimError(404, "not_found", f"market {ticker} not found")
        return Response(200, {"market": self._market_json(ticker)}, newline=True)

    def _book_body(self, ticker: str, depth: int | None) -> dict[str, Any]:
        book = self.exchange.books.get(ticker)
        if book is None:
            return {"orderbook_fp": {"no_dollars": [], "yes_dollars": []}}
        stale = self.exchange.config.faults.stale_book_seconds
        now = self.exchange.clock.now()
        if stale:
            cached = self._stale_books.get(ticker)
            if cached is not None and now - cached[0] < timedelta(seconds=stale):
                return cached[1].body
        body = wire.orderbook_json(book, depth)
        if stale:
            self._stale_books[ticker] = (now, Response(200, body))
        return body

    def get_orderbook(self, req: Request) -> Response:
        ticker = req.match["ticker"]
        if ticker not in self.exchange.markets:
            raise SimError(404, "not_found", f"market {ticker} not found")
        depth = req.qint("depth", 0, low=0, high=100)
        return Response(200, self._book_body(ticker, depth or None), charset=True)

    def get_orderbooks(self, req: Request) -> Response:
        tickers = req.query.get("tickers", [])
        if not 1 <= len(tickers) <= 100:
            raise SimError(400, "invalid_parameters", "tickers must be given 1 to 100 times")
        return Response(200, {"orderbooks": [{"ticker": t, **self._book_body(t, None)} for t in tickers]},
                        charset=True)

    def list_trades(self, req: Request) -> Response:
        ticker = req.q("ticker")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        trades = [t for t in reversed(self.exchange.trades)
                  if (not ticker or t.ticker == ticker) and _since(req, t.created_time)]
        page, cursor = wire.paginate(trades, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "trades": [wire.trade_json(t) for t in page]})

    def candlesticks(self, req: Request) -> Response:
        """Trade-price candles per period that saw trades (Kalshi emits only changed periods)."""
        ticker = req.match["ticker"]
        market = self.exchange.markets.get(ticker)
        if market is None or market.series_ticker != req.match["series"]:
            raise SimError(404, "not_found", f"market {ticker} not found")
        start, end = req.qint("start_ts"), req.qint("end_ts")
        period = req.qint("period_interval", 60)
        if start is None or end is None or period not in (1, 60, 1440):
            raise SimError(400, "invalid_parameters", "start_ts, end_ts and period_interval (1, 60, 1440) are required")
        width = period * 60
        buckets: dict[int, list[Any]] = {}
        for trade in self.exchange.trades:
            at = wire.unix_s(trade.created_time)
            if trade.ticker == ticker and start <= at <= end:
                buckets.setdefault((at // width + 1) * width, []).append(trade)
        book = self.exchange.books[ticker]
        bid, ask = book.best("bid"), book.best("ask")
        quote = {"yes_bid": wire.price_or(bid, "0.0000"), "yes_ask": wire.price_or(ask, "1.0000")}
        candles, previous = [], None
        for end_ts in sorted(buckets):
            prices = [t.yes_price for t in buckets[end_ts]]
            volume = sum((t.count for t in buckets[end_ts]), ZERO)
            mean = sum((t.yes_price * t.count for t in buckets[end_ts]), ZERO) / volume
            price = {"open_dollars": fmt_dollars(prices[0]), "high_dollars": fmt_dollars(max(prices)),
                     "low_dollars": fmt_dollars(min(prices)), "close_dollars": fmt_dollars(prices[-1]),
                     "mean_dollars": fmt_dollars(mean),
                     "previous_dollars": fmt_dollars(previous) if previous is not None else None}
            previous = prices[-1]
            candles.append({"end_period_ts": end_ts, "open_interest_fp": fmt_count(market.open_interest),
                            "price": price, "volume_fp": fmt_count(volume),
                            **{side: {f"{k}_dollars": v for k in ("open", "low", "high", "close")}
                               for side, v in quote.items()}})
        return Response(200, {"candlesticks": candles, "ticker": ticker})

    # -- portfolio reads ------------------------------------------------------------------------------

    def get_balance(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        available = floor_cent(account.available)
        value = floor_cent(self.exchange.portfolio_value(account))
        return Response(200, {"balance": int(available * 100), "balance_dollars": fmt_dollars(available),
                              "portfolio_value": int(value * 100),
                              "updated_ts": wire.unix_s(account.updated or self.exchange.clock.now())})

    def list_orders(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        ticker, status = req.q("ticker"), req.q("status")
        if status and status not in ("resting", "canceled", "executed"):
            raise SimError(400, "invalid_parameters", f"unknown order status {status!r}")
        events = set(filter(None, (req.q("event_ticker") or "").split(",")))
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        orders = []
        for order_id in reversed(account.order_ids):
            order = self.exchange.orders[order_id]
            if ticker and order.ticker != ticker or status and order.status != status:
                continue
            if events and self.exchange.markets[order.ticker].event_ticker not in events:
                continue
            if _since(req, order.created_time):
                orders.append(order)
        page, cursor = wire.paginate(orders, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "orders": [wire.order_json(o) for o in page]})

    def _own_order(self, req: Request) -> Any:
        order = self.exchange.orders.get(req.match["order_id"])
        if order is None or order.account != req.key_id:
            raise SimError(404, "not_found", "order not found")
        return order

    def get_order(self, req: Request) -> Response:
        return Response(200, {"order": wire.order_json(self._own_order(req))})

    def queue_position(self, req: Request) -> Response:
        ahead = self.exchange.queue_position(req.key_id, req.match["order_id"])
        return Response(200, {"queue_position_fp": fmt_count(ahead)})

    def queue_positions(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        tickers = set(filter(None, ",".join(req.query.get("market_tickers", [])).split(",")))
        event = req.q("event_ticker")
        out = []
        for order_id in account.order_ids:
            order = self.exchange.orders[order_id]
            if not order.is_open or tickers and order.ticker not in tickers:
                continue
            if event and self.exchange.markets[order.ticker].event_ticker != event:
                continue
            out.append({"market_ticker": order.ticker, "order_id": order.order_id,
                        "queue_position_fp": fmt_count(self.exchange.books[order.ticker].queue_ahead(order))})
        return Response(200, {"queue_positions": out})

    def list_fills(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        ticker, order_id = req.q("ticker"), req.q("order_id")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        fills = [f for f in reversed(account.fills) if (not ticker or f.ticker == ticker)
                 and (not order_id or f.order_id == order_id) and _since(req, f.created_time)]
        page, cursor = wire.paginate(fills, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "fills": [wire.fill_json(f) for f in page]})

    def list_positions(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        ticker, event = req.q("ticker"), req.q("event_ticker")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        resting: dict[str, int] = {}
        for order_id in account.order_ids:
            order = self.exchange.orders[order_id]
            if order.is_open:
                resting[order.ticker] = resting.get(order.ticker, 0) + 1
        positions = [p for p in account.positions.values()
                     if not p.settled and (p.position != ZERO or p.ticker in resting)
                     and (not ticker or p.ticker == ticker)
                     and (not event or self.exchange.markets[p.ticker].event_ticker == event)]
        page, cursor = wire.paginate(positions, limit, req.q("cursor"))
        by_event: dict[str, list[Any]] = {}
        for pos in page:
            by_event.setdefault(self.exchange.markets[pos.ticker].event_ticker, []).append(pos)
        return Response(200, {
            "cursor": cursor,
            "event_positions": [wire.event_position_json(e, ps) for e, ps in by_event.items()],
            "market_positions": [wire.position_json(p, resting.get(p.ticker, 0)) for p in page]})

    def list_settlements(self, req: Request) -> Response:
        account = req.account
        assert account is not None
        ticker, event = req.q("ticker"), req.q("event_ticker")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        rows = [s for s in reversed(account.settlements) if (not ticker or s.ticker == ticker)
                and (not event or s.event_ticker == event) and _since(req, s.settled_time)]
        page, cursor = wire.paginate(rows, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "settlements": [wire.settlement_json(s) for s in page]})

    # -- order writes ---------------------------------------------------------------------------------

    def _body(self, req: Request) -> dict[str, Any]:
        if not isinstance(req.body, dict):
            raise SimError(400, "invalid_parameters", "a JSON object body is required")
        return req.body

    def create_order(self, req: Request) -> Response:
        return Response(201, self.exchange.create_order(req.key_id, self._body(req)))

    def cancel_order(self, req: Request) -> Response:
        return Response(200, self.exchange.cancel_order(req.key_id, req.match["order_id"]))

    def amend_order(self, req: Request) -> Response:
        return Response(200, self.exchange.amend_order(req.key_id, req.match["order_id"], self._body(req)))

    def decrease_order(self, req: Request) -> Response:
        return Response(200, self.exchange.decrease_order(req.key_id, req.match["order_id"], self._body(req)))

    def cancel_all(self, req: Request) -> Response:
        self.exchange.cancel_all(req.key_id)
        return Response(204)

    def batch_create(self, req: Request) -> Response:
        items = self._body(req).get("orders")
        if not isinstance(items, list) or not items:
            raise SimError(400, "invalid_parameters", "orders must be a non-empty list")
        out = []
        for item in items:
            try:
                out.append(self.exchange.create_order(req.key_id, item))
            except SimError as exc:
                cid = item.get("client_order_id") if isinstance(item, dict) else None
                out.append({"client_order_id": cid, **exc.body()})
        return Response(201, {"orders": out})

    def batch_cancel(self, req: Request) -> Response:
        items = self._body(req).get("orders")
        if not isinstance(items, list) or not items:
            raise SimError(400, "invalid_parameters", "orders must be a non-empty list")
        out = []
        for item in items:
            order_id = item.get("order_id") if isinstance(item, dict) else None
            try:
                out.append(self.exchange.cancel_order(req.key_id, str(order_id)))
            except SimError as exc:
                out.append({"order_id": order_id, **exc.body()})
        return Response(200, {"orders": out})

    def legacy_create(self, req: Request) -> Response:
        if not self.exchange.config.legacy_order_writes:
            raise _DEPRECATED
        body = _legacy_to_v2(self._body(req))
        ack = self.exchange.create_order(req.key_id, body)
        return Response(201, {"order": wire.order_json(self.exchange.orders[ack["order_id"]])})

    def deprecated(self, req: Request) -> Response:
        raise _DEPRECATED


def _legacy_to_v2(body: dict[str, Any]) -> dict[str, Any]:
    """Map a legacy (side yes/no + action buy/sell, cents or dollars) create body onto V2."""
    side, action = body.get("side"), body.get("action")
    if side not in ("yes", "no") or action not in ("buy", "sell"):
        raise SimError(400, "invalid_parameters", "side must be yes/no and action buy/sell")
    if body.get("yes_price_dollars") or body.get("yes_price") is not None:
        yes = Decimal(str(body.get("yes_price_dollars") or Decimal(body["yes_price"]) / 100))
    elif body.get("no_price_dollars") or body.get("no_price") is not None:
        yes = 1 - Decimal(str(body.get("no_price_dollars") or Decimal(body["no_price"]) / 100))
    else:
        raise SimError(400, "invalid_parameters", "a price is required")
    tif = body.get("time_in_force") or "good_till_canceled"
    v2 = {"ticker": body.get("ticker"), "side": "bid" if (side == "yes") == (action == "buy") else "ask",
          "price": str(yes), "count": str(body.get("count_fp") or body.get("count")),
          "time_in_force": {"gtc": "good_till_canceled", "ioc": "immediate_or_cancel",
                            "fok": "fill_or_kill"}.get(tif, tif),
          "self_trade_prevention_type": body.get("self_trade_prevention_type") or "taker_at_cross",
          "client_order_id": body.get("client_order_id")}
    if body.get("expiration_ts"):
        v2["expiration_time"] = body["expiration_ts"]
    return v2


class _RequestHandler(BaseHTTPRequestHandler):
    sim: SimServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True      # headers and body go out as separate writes: avoid 40 ms ACK stalls
    server_version = "milkbot-sim"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("sim %s", format % args)

    def do_GET(self) -> None:
        self._serve("GET")

    def do_POST(self) -> None:
        self._serve("POST")

    def do_DELETE(self) -> None:
        self._serve("DELETE")

    def do_PUT(self) -> None:
        self._serve("PUT")

    def _serve(self, method: str) -> None:
        sim = self.sim
        sim.request_count += 1
        length = int(self.headers.get("Content-Length") or 0)
        raw_body = self.rfile.read(length) if length else b""
        api_path = urlsplit(self.path).path[len(PREFIX):]
        fault = sim.faults.pick(method, api_path)
        if fault is not None and self._before(fault):
            return
        response = sim.handle(method, self.path, self.headers, raw_body)
        if fault is not None and fault.kind == "accept_then_drop":
            self._drop()
            return
        self._write(response)

    def _before(self, fault: Fault) -> bool:
        """Apply a fault that acts before processing; True if the request must not be processed."""
        if fault.kind == "latency":
            self.sim.wait(fault.seconds)
            return False
        if fault.kind == "timeout":
            self.sim.wait(fault.seconds)
            self._drop()
        elif fault.kind == "reset":
            self._drop()
        elif fault.kind == "500":
            self._write(Response(500, SimError(500, "internal_server_error", "injected fault").body()))
        elif fault.kind == "429":
            self._write(Response(429, {"error": "too many requests"}))
        elif fault.kind == "reject":
            self._write(Response(400, SimError(400, "invalid_order", "injected rejection").body()))
        else:
            return False
        return True

    def _drop(self) -> None:
        """Close with a TCP reset and no response."""
        self.close_connection = True
        try:
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.wfile = _NullWriter()       # the handler's final flush must not touch the dead socket

    def _write(self, response: Response) -> None:
        payload = b"" if response.body is None else wire.dumps(response.body) + (b"\n" if response.newline else b"")
        self.send_response(response.status)
        if response.body is not None:
            ctype = "application/json; charset=utf-8" if response.charset else "application/json"
            self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if payload:
            self.wfile.write(payload)


class _NullWriter:
    closed = False

    def write(self, data: bytes) -> int:
        return len(data)

    def flush(self) -> None:
        return None

    def close(self) -> None:
        return None
