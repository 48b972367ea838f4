"""`TapeServer`: the recorded tape (`TapeExchange`) behind the simulator's Kalshi REST v2 surface, over HTTP.

The replaying simulator. The matching, fill rule, fees, money model, listing and settlement are the backtest's
own `TapeExchange` — this module only puts it behind `SimServer`'s HTTP machinery (routes, RSA-PSS signature
checks, Kalshi-style errors, cursor pagination, faults), so a daemon talking HTTP to it and the in-process
backtest share one exchange model: whatever the two disagree on is the HTTP path (client, signing, pagination,
reconciliation), which the parity test (tests/backtest/test_parity.py) pins to nothing.

Every request first advances the tape to the clock's now (as `TapeExchange`'s own methods do). The JSON is
built from the same pieces `TapeExchange` validates its models from (`_market_json`, `_book_sides`,
`wire.order_json` / `fill_json` / `position_json` / `settlement_json`); portfolio reads are `SimServer`'s own
handlers over the tape's `SimAccount` (balance = `TapeExchange.get_balance`'s arithmetic). Order writes go to `TapeExchange._create` and its close path.

Resumable: with a journal path, every input that changes the exchange (each advance to a new instant, each
create and cancel with its instant) is appended before it is applied; a new `TapeServer` on the same journal
replays it and reaches exactly the state the previous run left (the tape is deterministic given its inputs).
Recorded public trades are the background flow; they are not served (`/markets/trades` answers 404), nor are
amend, decrease, queue positions and candlesticks (the daemon uses none of them). Never reads the wall clock.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from daemon.backtest.exchange import EVENT_STATUSES, TapeExchange
from daemon.clock import SimulatedClock
from daemon.exchange.sim import wire
from daemon.exchange.sim.config import SimConfig
from daemon.exchange.sim.faults import Faults
from daemon.exchange.sim.journal import Journal
from daemon.exchange.sim.server import Request, Response, SimServer
from daemon.exchange.sim.state import SimAccount, SimError

JOURNAL_SEED = 0          # the tape journal has no seed: the header only marks the format


class TapeBackend:
    """The attributes `SimServer` needs from an exchange, answered by a `TapeExchange` (plus the journal)."""

    def __init__(self, tape: TapeExchange, public_key_pem: str, journal: Path | None = None) -> None:
        self.tape = tape
        self.clock = tape.clock
        self.config = SimConfig()               # rate limits off, no faults unless a test scripts them
        self.faults = Faults(self.config.faults, JOURNAL_SEED)
        self.lock = tape._lock
        tape.account.public_key_pem = public_key_pem
        self.accounts: dict[str, SimAccount] = {tape.key_id: tape.account}
        self.orders = tape.orders
        self.markets = tape.tape.markets
        self._journal: Journal | None = None
        if journal is not None:
            self._journal = Journal(journal, JOURNAL_SEED)
            self._replay(list(self._journal.read()))

    # -- persistence ------------------------------------------------------------------------------------
    def _replay(self, entries: list[dict[str, Any]]) -> None:
        """Re-apply the journalled inputs at their instants on a private clock, then hand back the real one."""
        if not entries:
            return
        live = self.tape.clock
        replay = SimulatedClock(datetime.fromisoformat(entries[0]["now"]))
        self.tape.clock = replay
        try:
            for entry in entries:
                replay.set(datetime.fromisoformat(entry["now"]))
                self.tape.advance()
                try:
                    if entry["op"] == "create":
                        self._create(entry["body"])
                    elif entry["op"] == "cancel":
                        self._cancel(entry["order_id"])
                except SimError:
                    pass                        # refused then, refused again now: nothing changed
        finally:
            self.tape.clock = live

    def _record(self, entry: dict[str, Any]) -> None:
        if self._journal is not None:
            self._journal.append(entry)

    def close(self) -> None:
        if self._journal is not None:
            self._journal.close()

    # -- what SimServer calls ---------------------------------------------------------------------------
    def step(self, now: datetime | None = None) -> None:
        with self.lock:
            at = self.clock.now()
            if self.tape._now is None or at > self.tape._now:
                self._record({"op": "advance", "now": at.isoformat()})
            self.tape.advance()

    @property
    def now(self) -> datetime:
        assert self.tape._now is not None, "the tape has not been advanced yet"
        return self.tape._now

    def trading_paused(self, now: datetime) -> bool:
        return False

    def portfolio_value(self, account: SimAccount) -> Any:
        return self.tape.portfolio_value(self.now)

    def create_order(self, key_id: str, body: dict[str, Any]) -> dict[str, Any]:
        with self.lock:
            self._record({"op": "create", "now": self.now.isoformat(), "body": body})
            return self._create(body)

    def _create(self, body: dict[str, Any]) -> dict[str, Any]:
        for name in ("ticker", "side", "price", "count"):
            if body.get(name) in (None, ""):
                raise SimError(400, "invalid_parameters", f"{name} is required")
        try:
            return self.tape._create(body, self.now)
        except (ArithmeticError, ValueError, TypeError) as exc:
            raise SimError(400, "invalid_parameters", f"bad order body: {exc}") from None

    def cancel_order(self, key_id: str, order_id: str) -> dict[str, Any]:
        with self.lock:
            self._record({"op": "cancel", "now": self.now.isoformat(), "order_id": order_id})
            return self._cancel(order_id)

    def _cancel(self, order_id: str) -> dict[str, Any]:
        """`TapeExchange.cancel_order_ack`'s refusals and close, as a wire body."""
        now = self.now
        order = self.tape.orders.get(order_id)
        if order is None:
            raise SimError(404, "not_found", f"order {order_id} not found")
        if self.tape.market_status(self.tape.tape.markets[order.ticker], now) != "active":
            raise SimError(409, "market_closed", "MARKET_INACTIVE: the market is not open for trading")
        if not order.is_open:
            raise SimError(404, "not_found", f"order {order_id} is not resting")
        reduced = self.tape._close_order(order, now, "Canceled")
        return {"client_order_id": order.client_order_id, "order_id": order.order_id,
                "reduced_by": f"{reduced:.2f}", "ts_ms": wire.unix_ms(now)}

    def cancel_all(self, key_id: str) -> int:
        with self.lock:
            resting = [r.order.order_id for rs in self.tape._resting.values() for r in rs]
            for order_id in resting:
                self.cancel_order(key_id, order_id)
            return len(resting)


class TapeServer(SimServer):
    """`SimServer` whose market data and order writes come from a `TapeBackend`."""

    backend: TapeBackend

    def __init__(self, backend: TapeBackend, host: str = "127.0.0.1", port: int = 0, *,
                 page_limit: int | None = None) -> None:
        self.backend = backend
        self.page_limit = page_limit            # cap every listing page (tests: make the client follow cursors)
        super().__init__(backend, host, port)  # type: ignore[arg-type]  # duck-typed exchange

    def handle(self, method: str, raw_path: str, headers: Any, raw_body: bytes) -> Response:
        if self.page_limit is not None and method == "GET":
            parts = urlsplit(raw_path)
            query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "limit"]
            raw_path = urlunsplit(parts._replace(query=urlencode([*query, ("limit", str(self.page_limit))])))
        return super().handle(method, raw_path, headers, raw_body)

    @property
    def _tape(self) -> TapeExchange:
        return self.backend.tape

    # -- market data ------------------------------------------------------------------------------------
    def _series(self) -> dict[str, str]:
        return {s: s for s in self._tape.tape.series}

    def _event_json(self, event_ticker: str, now: datetime, nested: bool) -> dict[str, Any]:
        markets = self._tape.tape.events[event_ticker]
        first = markets[0]
        body: dict[str, Any] = {
            "event_ticker": event_ticker, "series_ticker": first.series_ticker, "title": first.event_title,
            "sub_title": first.event_sub_title, "category": "Climate and Weather", "mutually_exclusive": True,
            "collateral_return_type": "MECNET", "strike_date": wire.ts(first.close_time)}
        if nested:
            body["markets"] = [self._tape._market_json(m, now) for m in markets]
        return body

    def list_events(self, req: Request) -> Response:
        """`TapeExchange.iter_events`'s selection, paged by cursor."""
        tape, now = self._tape, self.backend.now
        status, series = req.q("status") or None, req.q("series_ticker") or None
        if status is not None and status not in EVENT_STATUSES:
            raise SimError(400, "invalid_parameters", f"unknown status filter {status!r}")
        low = req.qint("min_close_ts")
        limit = req.qint("limit", 200, low=1, high=200) or 200
        if status == "open":
            candidates = tape._open_candidates(series, now)
        else:
            candidates = tape.tape.events_of(series) if series else list(tape.tape.events)
        chosen = []
        for event_ticker in candidates:
            first = tape.tape.events[event_ticker][0]
            if now < first.open_time - timedelta(days=7) or (low is not None and wire.unix_s(first.close_time) < low):
                continue
            if status is None or tape._event_status(event_ticker, now) == status:
                chosen.append(event_ticker)
        page, cursor = wire.paginate(chosen, limit, req.q("cursor"))
        nested = req.qbool("with_nested_markets")
        return Response(200, {"cursor": cursor, "events": [self._event_json(e, now, nested) for e in page]},
                        newline=True)

    def get_event(self, req: Request) -> Response:
        event_ticker = req.match["event"]
        if event_ticker not in self._tape.tape.events:
            raise SimError(404, "not_found", "event not found")
        now = self.backend.now
        markets = [self._tape._market_json(m, now) for m in self._tape.tape.events[event_ticker]]
        event = self._event_json(event_ticker, now, False)
        if req.qbool("with_nested_markets"):
            event["markets"] = markets
        return Response(200, {"event": event, "markets": markets}, newline=True)

    def list_markets(self, req: Request) -> Response:
        """`TapeExchange.iter_markets`'s selection, paged by cursor."""
        tape, now = self._tape, self.backend.now
        event_ticker, series = req.q("event_ticker"), req.q("series_ticker")
        if event_ticker and "," in event_ticker:
            return Response(200, {"cursor": "", "markets": []}, newline=True)      # Kalshi's quiet empty answer
        wanted = set(filter(None, (req.q("tickers") or "").split(","))) or None
        low, high = req.qint("min_close_ts"), req.qint("max_close_ts")
        limit = req.qint("limit", 100, low=1, high=1000) or 100
        status = req.q("status") or None
        chosen = tape.select_markets(now, event_ticker=event_ticker, series_ticker=series, tickers=wanted,
                                     low=low, high=high, status=status)
        page, cursor = wire.paginate(chosen, limit, req.q("cursor"))
        return Response(200, {"cursor": cursor, "markets": [tape._market_json(m, now) for m in page]},
                        newline=True)

    def get_market(self, req: Request) -> Response:
        market = self._tape.tape.markets.get(req.match["ticker"])
        if market is None:
            raise SimError(404, "not_found", f"market {req.match['ticker']} not found")
        return Response(200, {"market": self._tape._market_json(market, self.backend.now)}, newline=True)

    def _book_body(self, ticker: str, depth: int | None) -> dict[str, Any]:
        """`TapeExchange._book_model`'s levels: modelled book plus our resting orders, only while active."""
        tape, now = self._tape, self.backend.now
        market = tape.tape.markets.get(ticker)
        if market is None or tape.market_status(market, now) != "active":
            return {"orderbook_fp": {"no_dollars": [], "yes_dollars": []}}
        yes, no_as_yes = tape._book_sides(ticker, now)
        yes_levels = sorted(yes.items())
        no_levels = sorted((100 - p, q) for p, q in no_as_yes.items())
        if depth:
            yes_levels, no_levels = yes_levels[-depth:], no_levels[-depth:]
        return {"orderbook_fp": {
            "yes_dollars": [[wire.fmt_dollars(_cents(p)), wire.fmt_count(q)] for p, q in yes_levels],
            "no_dollars": [[wire.fmt_dollars(_cents(p)), wire.fmt_count(q)] for p, q in no_levels]}}

    def get_orderbook(self, req: Request) -> Response:
        ticker = req.match["ticker"]
        if ticker not in self._tape.tape.markets:
            raise SimError(404, "not_found", f"market {ticker} not found")
        depth = req.qint("depth", 0, low=0, high=100)
        return Response(200, self._book_body(ticker, depth or None), charset=True)

    def get_orderbooks(self, req: Request) -> Response:
        tickers = req.query.get("tickers", [])
        if not 1 <= len(tickers) <= 100:
            raise SimError(400, "invalid_parameters", "tickers must be given 1 to 100 times")
        known = [t for t in dict.fromkeys(tickers) if t in self._tape.tape.markets]
        return Response(200, {"orderbooks": [{"ticker": t, **self._book_body(t, None)} for t in known]},
                        charset=True)

    # -- not served by the replay -----------------------------------------------------------------------
    def _unsupported(self, req: Request) -> Response:
        raise SimError(404, "not_found", f"{req.path} is not served by the tape replay")

    list_trades = candlesticks = queue_position = queue_positions = _unsupported
    amend_order = decrease_order = legacy_create = _unsupported


def _cents(value: int) -> Decimal:
    return Decimal(int(value)) / 100
