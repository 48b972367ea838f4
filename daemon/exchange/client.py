"""Kalshi REST v2 client (httpx, synchronous, thread-safe).

Assumes: every request is metered through a per-tier token bucket on the injected clock; requests are
signed fresh per attempt when credentials are configured. Reads retry with jittered backoff on
temporary failures. Writes are never retried except on a 429 or a connection that never opened (both
definite non-deliveries). `create_order` never raises for exchange failures: it returns a
`CreateOrderOutcome`, `unknown` after a timeout / reset / 5xx — resolve it with
`find_order_by_client_id`. Never logs headers, bodies of authenticated requests, or key material.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal, TypeVar
from urllib.parse import urlparse

import httpx
from pydantic import ValidationError

from daemon.clock import Clock
from daemon.exchange.config import ExchangeConfig, RateLimitConfig, RetryConfig
from daemon.exchange.errors import (
    AuthError,
    ConfigError,
    DuplicateOrderError,
    ExchangeError,
    MalformedResponseError,
    NotDeliveredError,
    RateLimitedError,
    RejectedError,
    TemporaryError,
    error_from_response,
    possible_duplicate,
)
from daemon.exchange.hosts import check_exchange_target
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
    Trade,
    loads,
)
from daemon.exchange.orders import CreateOrderOutcome, OrderRequest, order_from_ack
from daemon.exchange.pagination import Page, iter_cursor
from daemon.exchange.ratelimit import RateLimiter, Tier
from daemon.exchange.signing import PrivateKey, auth_headers, load_private_key
from daemon.money import fmt_count, fmt_dollars, parse_decimal

log = logging.getLogger(__name__)
T = TypeVar("T")

ORDERS_V2 = "/portfolio/events/orders"
EVENT_STATUS_FILTERS = ("unopened", "open", "closed", "settled")
MARKET_STATUS_FILTERS = ("unopened", "open", "paused", "closed", "settled")
ORDER_STATUSES = ("resting", "canceled", "executed")
_MAX_ORDERBOOKS_PER_CALL = 100


def _unix(value: datetime | int | None) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return int(value.timestamp())


def _params(**values: Any) -> dict[str, Any]:
    """Query parameters without Nones; datetimes become Unix seconds; bools lower-case."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if value is None:
            continue
        if isinstance(value, datetime):
            value = _unix(value)
        elif isinstance(value, bool):
            value = "true" if value else "false"
        out[name] = value
    return out


class KalshiClient:
    def __init__(self, base_url: str, key_id: str | None, private_key: PrivateKey | None, clock: Clock,
                 rate_limits: RateLimitConfig | None = None, transport: httpx.BaseTransport | None = None,
                 timeout: float | httpx.Timeout = 10.0, retry: RetryConfig | None = None,
                 rng: random.Random | None = None, sign_public_requests: bool = True,
                 user_agent: str = "milkbot/0.1", mode: str | None = None, env: str | None = None) -> None:
        if (key_id is None) != (private_key is None):
            raise ConfigError("credentials", "key_id and private_key must be given together")
        if mode is not None:  # a client built for a trading mode: refuse a host that mode must never reach
            check_exchange_target(mode, env or "", base_url.rstrip("/"))
        self.mode = mode
        self.base_url = base_url.rstrip("/")
        self._prefix = urlparse(self.base_url).path.rstrip("/")
        self.key_id = key_id
        self._key = private_key
        self._clock = clock
        self._limiter = RateLimiter(rate_limits or RateLimitConfig(), clock)
        self._costs = rate_limits or RateLimitConfig()
        self._retry = retry or RetryConfig()
        self._rng = rng or random.Random()
        self._sign_public = sign_public_requests
        self._http = httpx.Client(base_url=self.base_url, transport=transport, timeout=timeout,
                                  headers={"User-Agent": user_agent, "Accept": "application/json"})
        self.request_count = 0

    @classmethod
    def from_config(cls, cfg: ExchangeConfig, clock: Clock, *, transport: httpx.BaseTransport | None = None,
                    rng: random.Random | None = None, mode: str | None = None,
                    env: str | None = None) -> KalshiClient:
        """A client for `cfg`; with `mode` (and `env`), refused before any request if that mode must not
        reach the configured host (see daemon.exchange.hosts)."""
        if mode is not None:
            check_exchange_target(mode, env or "", cfg.resolved_base_url)
        key = load_private_key(cfg.private_key_path) if cfg.private_key_path is not None else None
        timeout = httpx.Timeout(connect=cfg.connect_timeout_s, read=cfg.read_timeout_s,
                                write=cfg.write_timeout_s, pool=cfg.connect_timeout_s)
        return cls(cfg.resolved_base_url, cfg.key_id, key, clock, rate_limits=cfg.rate_limits,
                   transport=transport, timeout=timeout, retry=cfg.retry, rng=rng,
                   sign_public_requests=cfg.sign_public_requests, user_agent=cfg.user_agent, mode=mode, env=env)

    def __repr__(self) -> str:
        return f"KalshiClient(base_url={self.base_url!r}, key_id={self.key_id!r})"

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> KalshiClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def has_credentials(self) -> bool:
        return self._key is not None

    # -- transport ------------------------------------------------------------------------------------

    def _headers(self, method: str, path: str, auth_required: bool) -> dict[str, str]:
        if self._key is None or self.key_id is None:
            if auth_required:
                raise ConfigError("no_credentials", f"{method} {path} needs an API key (key_id + private key)")
            return {}
        if not auth_required and not self._sign_public:
            return {}
        return auth_headers(self.key_id, self._key, self._clock, method, self._prefix + path)

    def _send(self, method: str, path: str, *, tier: Tier, cost: float | None, auth_required: bool,
              params: Any = None, body: Mapping[str, Any] | None = None) -> Any:
        """One attempt. Returns parsed JSON (None for 204) or raises an ExchangeError."""
        self._limiter.acquire(tier, cost)
        headers = self._headers(method, path, auth_required)
        content = json.dumps(body, separators=(",", ":")).encode() if body is not None else None
        if content is not None:
            headers["Content-Type"] = "application/json"
        start = self._clock.monotonic()
        self.request_count += 1
        try:
            response = self._http.request(method, path, params=params, content=content, headers=headers)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise NotDeliveredError("connect_failed", f"{method} {path}: {type(exc).__name__}") from None
        except httpx.TimeoutException as exc:
            raise TemporaryError("timeout", f"{method} {path}: {type(exc).__name__}") from None
        except httpx.TransportError as exc:
            raise TemporaryError("connection_lost", f"{method} {path}: {type(exc).__name__}") from None
        log.debug("%s %s -> %s (%.3fs)", method, path, response.status_code,
                  self._clock.monotonic() - start)
        if response.status_code == 429:
            self._limiter.drain(tier)
        if response.status_code >= 400:
            raise error_from_response(response.status_code, response.content)
        if response.status_code == 204 or not response.content:
            return None
        try:
            return loads(response.content)
        except (ValueError, UnicodeDecodeError):
            raise MalformedResponseError("invalid_json", f"{method} {path}: body is not JSON",
                                         response.status_code, raw=response.text) from None

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry.backoff_max_s, self._retry.backoff_base_s * (2 ** (attempt - 1)))
        return ceiling * (0.5 + 0.5 * self._rng.random())      # jitter: never synchronise retries

    @staticmethod
    def _validated(parse: Callable[[Any], T], data: Any, what: str) -> T:
        try:
            return parse(data)
        except (ValidationError, KeyError, TypeError, ValueError, AttributeError) as exc:
            raw = json.dumps(data, default=str)[:2000]
            log.warning("malformed response for %s: %s; raw=%s", what, str(exc)[:500], raw)
            raise MalformedResponseError("malformed_response", f"{what}: {str(exc)[:300]}", raw=raw) from None

    def _read(self, path: str, parse: Callable[[Any], T], *, params: Any = None, cost: float | None = None,
              auth_required: bool = False) -> T:
        """GET with jittered retries on temporary failures (reads are idempotent)."""
        failures = limited = 0
        while True:
            try:
                data = self._send("GET", path, tier="read", cost=cost, auth_required=auth_required,
                                  params=params)
                return self._validated(parse, data, f"GET {path}")
            except RateLimitedError:
                limited += 1
                if limited >= self._retry.max_rate_limited_attempts:
                    raise
                self._clock.sleep(self._backoff(limited))
            except TemporaryError as exc:
                failures += 1
                if failures >= self._retry.max_read_attempts:
                    raise
                log.info("GET %s failed (%s), retry %d", path, exc.code, failures)
                self._clock.sleep(self._backoff(failures))

    def _write(self, method: str, path: str, *, body: Mapping[str, Any] | None = None, params: Any = None,
               cost: float | None = None) -> Any:
        """A write. Resent only when it provably never reached the matching engine (429, no connection)."""
        attempts = 0
        while True:
            try:
                return self._send(method, path, tier="write", cost=cost, auth_required=True,
                                  params=params, body=body)
            except (RateLimitedError, NotDeliveredError):
                attempts += 1
                if attempts >= self._retry.max_rate_limited_attempts:
                    raise
                self._clock.sleep(self._backoff(attempts))

    def _pages(self, path: str, key: str, parse_item: Callable[[Any], T], params: Mapping[str, Any],
               *, auth_required: bool = False) -> Iterator[T]:
        def fetch(cursor: str | None) -> Page[T]:
            query = {**params, **({"cursor": cursor} if cursor else {})}

            def parse(data: Any) -> Page[T]:
                return [parse_item(item) for item in (data.get(key) or [])], data.get("cursor") or None

            return self._read(path, parse, params=query, auth_required=auth_required)

        return iter_cursor(fetch)

    # -- market data ----------------------------------------------------------------------------------

    def get_exchange_status(self) -> ExchangeStatus:
        return self._read("/exchange/status", ExchangeStatus.model_validate)

    def get_series(self, ticker: str) -> Series:
        return self._read(f"/series/{ticker}", lambda d: Series.model_validate(d["series"]))

    def list_series(self, *, category: str | None = None, tags: str | None = None) -> list[Series]:
        return self._read("/series", lambda d: [Series.model_validate(s) for s in d.get("series") or []],
                          params=_params(category=category, tags=tags))

    def iter_events(self, *, series_ticker: str | None = None, status: str | None = None,
                    with_nested_markets: bool = True, min_close_ts: datetime | int | None = None,
                    limit: int = 200) -> Iterator[Event]:
        if status is not None and status not in EVENT_STATUS_FILTERS:
            raise ValueError(f"event status filter must be one of {EVENT_STATUS_FILTERS}")
        params = _params(series_ticker=series_ticker, status=status, with_nested_markets=with_nested_markets,
                         min_close_ts=_unix(min_close_ts), limit=limit)
        return self._pages("/events", "events", Event.model_validate, params)

    def get_event(self, event_ticker: str, *, with_nested_markets: bool = True) -> Event:
        return self._read(f"/events/{event_ticker}", Event.from_response,
                          params=_params(with_nested_markets=with_nested_markets))

    def discover_events(self, series_tickers: Iterable[str], *, status: str = "open") -> dict[str, list[Event]]:
        """Events with nested markets for each series: one paged call per series, not one per market."""
        return {series: list(self.iter_events(series_ticker=series, status=status))
                for series in dict.fromkeys(series_tickers)}

    def iter_markets(self, *, event_ticker: str | None = None, series_ticker: str | None = None,
                     tickers: Iterable[str] | None = None, status: str | None = None,
                     min_close_ts: datetime | int | None = None, max_close_ts: datetime | int | None = None,
                     limit: int = 1000) -> Iterator[Market]:
        if event_ticker is not None and "," in event_ticker:
            # Kalshi silently answers a comma-joined event_ticker with an empty list.
            raise ValueError("event_ticker takes one ticker; use tickers= or iterate")
        if status is not None and status not in MARKET_STATUS_FILTERS:
            raise ValueError(f"market status filter must be one of {MARKET_STATUS_FILTERS}")
        params = _params(event_ticker=event_ticker, series_ticker=series_ticker,
                         tickers=",".join(tickers) if tickers is not None else None, status=status,
                         min_close_ts=_unix(min_close_ts), max_close_ts=_unix(max_close_ts), limit=limit)
        return self._pages("/markets", "markets", Market.model_validate, params)

    def get_market(self, ticker: str) -> Market:
        return self._read(f"/markets/{ticker}", lambda d: Market.model_validate(d["market"]))

    def get_orderbook(self, ticker: str, depth: int | None = None) -> OrderBook:
        def parse(data: Any) -> OrderBook:
            return OrderBook.model_validate({**data, "market_ticker": ticker, "received_at": self._clock.now()})

        return self._read(f"/markets/{ticker}/orderbook", parse, params=_params(depth=depth))

    def get_orderbooks(self, tickers: Iterable[str]) -> list[OrderBook]:
        """Batch books; `tickers` is a repeated parameter (comma-joining reads as one unknown ticker)."""
        wanted = list(dict.fromkeys(tickers))
        books: list[OrderBook] = []
        for start in range(0, len(wanted), _MAX_ORDERBOOKS_PER_CALL):
            chunk = wanted[start:start + _MAX_ORDERBOOKS_PER_CALL]

            def parse(data: Any) -> list[OrderBook]:
                now = self._clock.now()
                return [book for item in data.get("orderbooks") or []
                        if (book := _book_or_skip(item, now)) is not None]

            books.extend(self._read("/markets/orderbooks", parse, params=[("tickers", t) for t in chunk]))
        return books

    def iter_trades(self, *, ticker: str | None = None, min_ts: datetime | int | None = None,
                    max_ts: datetime | int | None = None, limit: int = 1000) -> Iterator[Trade]:
        params = _params(ticker=ticker, min_ts=_unix(min_ts), max_ts=_unix(max_ts), limit=limit)
        return self._pages("/markets/trades", "trades", Trade.model_validate, params)

    # -- portfolio reads ------------------------------------------------------------------------------

    def get_balance(self) -> Balance:
        return self._read("/portfolio/balance", Balance.model_validate, auth_required=True)

    def get_order(self, order_id: str) -> Order:
        return self._read(f"/portfolio/orders/{order_id}", lambda d: Order.model_validate(d["order"]),
                          cost=self._costs.get_order_cost, auth_required=True)

    def iter_orders(self, *, ticker: str | None = None, event_ticker: str | None = None,
                    status: str | None = None, min_ts: datetime | int | None = None,
                    max_ts: datetime | int | None = None, limit: int = 200) -> Iterator[Order]:
        if status is not None and status not in ORDER_STATUSES:
            raise ValueError(f"order status must be one of {ORDER_STATUSES}")
        params = _params(ticker=ticker, event_ticker=event_ticker, status=status, min_ts=_unix(min_ts),
                         max_ts=_unix(max_ts), limit=limit)
        return self._pages("/portfolio/orders", "orders", Order.model_validate, params, auth_required=True)

    def find_order_by_client_id(self, client_order_id: str, *, ticker: str | None = None,
                                min_ts: datetime | int | None = None) -> Order | None:
        """Resolve an unknown create outcome. There is no GET by client id: list (by ticker) and filter."""
        for order in self.iter_orders(ticker=ticker, min_ts=min_ts):
            if order.client_order_id == client_order_id:
                return order
        return None

    def iter_fills(self, *, ticker: str | None = None, order_id: str | None = None,
                   min_ts: datetime | int | None = None, max_ts: datetime | int | None = None,
                   limit: int = 200) -> Iterator[Fill]:
        params = _params(ticker=ticker, order_id=order_id, min_ts=_unix(min_ts), max_ts=_unix(max_ts),
                         limit=limit)
        return self._pages("/portfolio/fills", "fills", Fill.model_validate, params, auth_required=True)

    def iter_positions(self, *, ticker: str | None = None, event_ticker: str | None = None,
                       count_filter: str | None = None, limit: int = 200) -> Iterator[Position]:
        """Market positions (unsettled only, per Kalshi since 2025-12-11)."""
        params = _params(ticker=ticker, event_ticker=event_ticker, count_filter=count_filter, limit=limit)
        return self._pages("/portfolio/positions", "market_positions", Position.model_validate, params,
                           auth_required=True)

    def iter_settlements(self, *, ticker: str | None = None, event_ticker: str | None = None,
                         min_ts: datetime | int | None = None, max_ts: datetime | int | None = None,
                         limit: int = 200) -> Iterator[Settlement]:
        params = _params(ticker=ticker, event_ticker=event_ticker, min_ts=_unix(min_ts), max_ts=_unix(max_ts),
                         limit=limit)
        return self._pages("/portfolio/settlements", "settlements", Settlement.model_validate, params,
                           auth_required=True)

    # -- order writes ---------------------------------------------------------------------------------

    def create_order(self, request: OrderRequest) -> CreateOrderOutcome:
        """Send one V2 order. Never blindly retried; never raises for exchange-side failures."""
        cid = request.client_order_id
        try:
            body = self._write("POST", ORDERS_V2, body=request.to_wire_v2())
        except DuplicateOrderError as exc:
            return self._resolve_duplicate(request, exc)
        except (RateLimitedError, NotDeliveredError) as exc:
            # Provably not processed: rejected for now; resending later with the SAME id is safe.
            return CreateOrderOutcome("rejected", cid, error=exc)
        except (RejectedError, AuthError, ConfigError) as exc:
            if possible_duplicate(exc):  # a conflict we cannot place: our id may already be there
                return self._resolve_duplicate(request, exc)
            if exc.http_status == 409:  # market_closed, trading_paused, …: a rejection unless our id is there
                return self._resolve_refusal(request, exc)
            log.warning("order %s rejected: %r", cid, exc)
            return CreateOrderOutcome("rejected", cid, error=exc)
        except ExchangeError as exc:
            log.warning("order %s outcome unknown: %r", cid, exc)
            return CreateOrderOutcome("unknown", cid, error=exc)
        return self._accepted(request, body)

    def _accepted(self, request: OrderRequest, body: Any) -> CreateOrderOutcome:
        cid = request.client_order_id
        if isinstance(body, dict) and body.get("error") and not body.get("order_id"):
            # A 2xx carrying an error body (seen with the deprecated endpoint): not an acceptance.
            exc = error_from_response(400, json.dumps(body, default=str))
            status: Literal["rejected", "unknown"] = "rejected" if isinstance(exc, ConfigError) else "unknown"
            return CreateOrderOutcome(status, cid, error=exc)
        try:
            ack = self._validated(OrderAck.model_validate, body, "POST create order")
        except MalformedResponseError as exc:
            return CreateOrderOutcome("unknown", cid, error=exc)
        if ack.client_order_id is not None and ack.client_order_id != cid:
            exc = MalformedResponseError("ack_mismatch", f"ack names client_order_id {ack.client_order_id!r}")
            return CreateOrderOutcome("unknown", cid, error=exc, ack=ack)
        order = order_from_ack(request, ack, self._clock.now())
        return CreateOrderOutcome("accepted", cid, order=order, ack=ack)

    def _resolve_duplicate(self, request: OrderRequest, exc: ExchangeError) -> CreateOrderOutcome:
        """409 (duplicate id, or a conflict we do not recognise): the order (likely our earlier attempt) may
        exist. Look it up; never a terminal rejection."""
        cid = request.client_order_id
        try:
            existing = self.find_order_by_client_id(cid, ticker=request.ticker)
        except ExchangeError as lookup_error:
            log.warning("duplicate %s unresolved: %r", cid, lookup_error)
            return CreateOrderOutcome("unknown", cid, error=exc)
        if existing is None:
            return CreateOrderOutcome("unknown", cid, error=exc)
        return CreateOrderOutcome("accepted", cid, order=existing, error=exc, duplicate=True)

    def _resolve_refusal(self, request: OrderRequest, exc: ExchangeError) -> CreateOrderOutcome:
        """A 409 that refuses this request for another reason (market closed, trading paused). An earlier
        attempt with the same id may still have been placed before it: if the lookup finds it, trust the
        lookup; if it finds nothing, this is a rejection; if the lookup fails, the outcome is unknown."""
        cid = request.client_order_id
        try:
            existing = self.find_order_by_client_id(cid, ticker=request.ticker)
        except ExchangeError as lookup_error:
            log.warning("refused %s unresolved: %r", cid, lookup_error)
            return CreateOrderOutcome("unknown", cid, error=exc)
        if existing is None:
            log.warning("order %s rejected: %r", cid, exc)
            return CreateOrderOutcome("rejected", cid, error=exc)
        return CreateOrderOutcome("accepted", cid, order=existing, error=exc, duplicate=True)

    def cancel_order_ack(self, order_id: str) -> OrderAck:
        """V2 cancel; `reduced_by` = resting count cancelled. 404 → NotFoundError."""
        body = self._write("DELETE", f"{ORDERS_V2}/{order_id}", cost=self._costs.cancel_cost)
        return self._validated(OrderAck.model_validate, body, "DELETE order")

    def cancel_order(self, order_id: str) -> Order:
        """Cancel, then read the order back (V2 cancel bodies have described the wrong order before)."""
        self.cancel_order_ack(order_id)
        return self.get_order(order_id)

    def decrease_order(self, order_id: str, *, reduce_by: Decimal | None = None,
                       reduce_to: Decimal | None = None) -> OrderAck:
        if (reduce_by is None) == (reduce_to is None):
            raise ValueError("give exactly one of reduce_by or reduce_to")
        body = ({"reduce_by": fmt_count(parse_decimal(reduce_by))} if reduce_by is not None
                else {"reduce_to": fmt_count(parse_decimal(reduce_to))})
        data = self._write("POST", f"{ORDERS_V2}/{order_id}/decrease", body=body)
        return self._validated(OrderAck.model_validate, data, "POST decrease")

    def amend_order(self, order_id: str, *, ticker: str, side: Literal["yes", "no"],
                    action: Literal["buy", "sell"], price: Decimal, count: Decimal,
                    client_order_id: str | None = None, updated_client_order_id: str | None = None) -> OrderAck:
        """Amend price/size. `price` is of `side` (like OrderRequest); `count` is the TOTAL (filled + remaining).
        Changing price or raising size loses queue priority."""
        shape = OrderRequest(ticker=ticker, side=side, action=action, count=count, price=price,
                             client_order_id=client_order_id or "amend")
        body: dict[str, Any] = {"ticker": ticker, "side": shape.book_side, "price": fmt_dollars(shape.yes_price),
                                "count": fmt_count(shape.count)}
        if client_order_id:
            body["client_order_id"] = client_order_id
        if updated_client_order_id:
            body["updated_client_order_id"] = updated_client_order_id
        data = self._write("POST", f"{ORDERS_V2}/{order_id}/amend", body=body)
        return self._validated(OrderAck.model_validate, data, "POST amend")


def _book_or_skip(item: Any, received_at: datetime) -> OrderBook | None:
    """One book of a batch; a bad one (repeated or impossible level, bad shape) is skipped with its reason logged,
    so it does not fail the other books of the batch."""
    try:
        return OrderBook.model_validate({**item, "received_at": received_at})
    except (ValidationError, TypeError) as exc:
        ticker = (item.get("market_ticker") or item.get("ticker")) if isinstance(item, Mapping) else None
        reason = exc.errors()[0].get("msg") if isinstance(exc, ValidationError) and exc.errors() else str(exc)
        log.warning("order book %s skipped: %s", ticker or "?", reason)
        return None
