"""The simulator over real HTTP on loopback, driven by the daemon's own KalshiClient and raw signed httpx."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sim_helpers import DAY, QUIET, START, body, bracket

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import RetryConfig
from daemon.exchange.errors import AuthError, NotFoundError
from daemon.exchange.models import Event, Market, OrderBook
from daemon.exchange.orders import OrderRequest
from daemon.exchange.signing import auth_headers, public_key_pem, sign_request, timestamp_ms
from daemon.exchange.sim import SimExchange
from daemon.exchange.sim.server import SimServer
from daemon.simulation.truth import SyntheticTruth

D = Decimal


def order(ticker: str, cid: str, *, side: str = "yes", action: str = "buy", price: str = "0.40", count: int = 5,
          tif: str = "gtc") -> OrderRequest:
    return OrderRequest(ticker=ticker, side=side, action=action, price=D(price), count=D(count),
                        client_order_id=cid, time_in_force=tif)


# -- market data ----------------------------------------------------------------------------------------

def test_discovery_and_market_data(client: KalshiClient, quiet_exchange: SimExchange) -> None:
    status = client.get_exchange_status()
    assert status.trading_active
    series = client.get_series("KXHIGHNY")
    assert series.fee_type == "quadratic" and series.settlement_sources[0].name == "The Weather Company"
    assert len(client.list_series(category="Climate and Weather")) == len(default_registry())
    events = list(client.iter_events(series_ticker="KXHIGHNY", status="open"))
    assert [e.event_ticker for e in events] == ["KXHIGHNY-26JAN15"]      # tomorrow opens at 14:00Z
    assert all(len(e.markets) == 6 for e in events)
    unopened = list(client.iter_events(series_ticker="KXHIGHNY", status="unopened"))
    assert [e.event_ticker for e in unopened] == ["KXHIGHNY-26JAN16"]
    assert unopened[0].markets[0].status == "initialized"
    event = client.get_event("KXHIGHNY-26JAN15")
    assert event.strike_date == datetime(2026, 1, 16, 5, tzinfo=UTC)
    market = client.get_market(event.markets[1].ticker)
    assert market.strike_type == "between" and market.floor_strike is not None
    assert market.close_time == datetime(2026, 1, 16, 5, tzinfo=UTC)
    assert market.yes_bid is None and market.yes_ask is None          # empty book = no market
    all_open = list(client.iter_markets(status="open", limit=7))       # forces several cursor pages
    assert len(all_open) == 6 * len(default_registry())
    assert len({m.ticker for m in client.iter_markets(limit=1000)}) == 2 * 6 * len(default_registry())
    assert list(client.iter_markets(event_ticker="KXHIGHNY-26JAN15", status="settled")) == []
    with pytest.raises(NotFoundError):
        client.get_market("KXHIGHNY-26JAN15-B999.5")


def test_orderbook_and_trades_shapes(client: KalshiClient, quiet_exchange: SimExchange,
                                     sim_server: SimServer) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.37", "13.5"))
    quiet_exchange.create_order("bob", body(ticker, "ask", "0.38", 20))
    book = client.get_orderbook(ticker)
    assert (book.best_yes_bid, book.best_yes_ask, book.best_no_bid) == (D("0.37"), D("0.38"), D("0.62"))
    assert book.yes[-1].count == D("13.5")
    raw = httpx.get(f"{sim_server.url}/markets/{ticker}/orderbook")
    assert raw.headers["content-type"] == "application/json; charset=utf-8"
    assert raw.content == b'{"orderbook_fp":{"no_dollars":[["0.6200","20.00"]],"yes_dollars":[["0.3700","13.50"]]}}'
    markets = httpx.get(f"{sim_server.url}/markets", params={"tickers": ticker})
    assert markets.content.endswith(b"\n") and "°" in markets.text              # sorted, UTF-8, newline
    assert json.loads(markets.content)["markets"][0]["yes_bid_dollars"] == "0.3700"
    books = client.get_orderbooks([ticker, "NOPE"])
    assert books[0].best_yes_bid == D("0.37") and books[1].is_empty
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.38", 4, tif="immediate_or_cancel"))
    trades = list(client.iter_trades(ticker=ticker))
    assert [(t.count, t.yes_price, t.taker_side) for t in trades] == [(D(4), D("0.38"), "yes")]
    market = client.get_market(ticker)
    assert (market.volume, market.open_interest, market.last_price) == (D(4), D(4), D("0.38"))


# -- portfolio via the client ---------------------------------------------------------------------------

def test_order_lifecycle_through_client(client: KalshiClient, quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.40", 3))
    outcome = client.create_order(order(ticker, "cid-1", count=5))
    assert outcome.accepted and outcome.order is not None
    assert outcome.ack is not None and outcome.ack.fill_count == D(3) and outcome.ack.remaining_count == D(2)
    got = client.get_order(outcome.order.order_id)
    assert (got.status, got.fill_count, got.remaining_count, got.price) == ("resting", D(3), D(2), D("0.40"))
    assert got.taker_fees == D("0.06")
    assert client.find_order_by_client_id("cid-1", ticker=ticker).order_id == got.order_id
    ack = client.decrease_order(got.order_id, reduce_by=D(1))
    assert ack.remaining_count == D(1)
    amend = client.amend_order(got.order_id, ticker=ticker, side="yes", action="buy", price=D("0.39"), count=D(6))
    assert amend.remaining_count == D(3)
    cancelled = client.cancel_order(got.order_id)
    assert cancelled.status == "canceled" and cancelled.remaining_count == 0
    fills = list(client.iter_fills(ticker=ticker))
    assert [(f.count, f.yes_price, f.is_taker, f.fee) for f in fills] == [(D(3), D("0.40"), True, D("0.06"))]
    positions = list(client.iter_positions())
    assert [(p.ticker, p.position, p.market_exposure) for p in positions] == [(ticker, D(3), D("1.20"))]
    balance = client.get_balance()
    assert balance.balance_cents == 100_000 - 120 - 6
    duplicate = client.create_order(order(ticker, "cid-1", count=1))
    assert duplicate.accepted and duplicate.duplicate            # the client resolves a 409 by lookup
    assert duplicate.order is not None and duplicate.order.order_id == got.order_id
    sell_no = client.create_order(order(ticker, "cid-2", side="no", action="buy", price="0.70", count=1))
    assert sell_no.accepted and client.get_order(sell_no.order.order_id).book_side == "ask"


def test_settlements_through_client(client: KalshiClient, quiet_exchange: SimExchange,
                                    sim_clock: SimulatedClock) -> None:
    markets = quiet_exchange.list_markets_for("NYC", DAY)
    for market in markets:
        quiet_exchange.create_order("alice", body(market.ticker, "ask", "0.20", 2))
        assert client.create_order(order(market.ticker, f"s-{market.ticker}", price="0.20", count=2,
                                         tif="ioc")).accepted
    sim_clock.set(datetime(2026, 1, 16, 12, tzinfo=UTC))
    settlements = list(client.iter_settlements())
    assert len(settlements) == 6
    assert sorted(s.revenue_cents for s in settlements) == [0, 0, 0, 0, 0, 200]
    assert all(s.yes_count == 2 and s.fee_cost == D("0.03") for s in settlements)
    assert list(client.iter_positions()) == []               # unsettled positions only
    balance = client.get_balance()
    assert balance.balance_cents == 100_000 - 6 * (40 + 3) + 200


def test_legacy_write_endpoint_is_deprecated(sim_server: SimServer, sim_key: rsa.RSAPrivateKey,
                                             sim_clock: SimulatedClock) -> None:
    path = "/trade-api/v2/portfolio/orders"
    headers = auth_headers("me", sim_key, sim_clock, "POST", path)
    response = httpx.post(sim_server.url + "/portfolio/orders", headers=headers,
                          json={"ticker": "X", "side": "yes", "action": "buy", "count": 1, "yes_price": 40})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "deprecated_v1_order_endpoint"


# -- signatures -----------------------------------------------------------------------------------------

def _signed(key: rsa.RSAPrivateKey, ts: int, method: str, signed_path: str, key_id: str = "me") -> dict[str, str]:
    return {"KALSHI-ACCESS-KEY": key_id, "KALSHI-ACCESS-TIMESTAMP": str(ts),
            "KALSHI-ACCESS-SIGNATURE": sign_request(key, ts, method, signed_path)}


def test_signature_checks(sim_server: SimServer, sim_key: rsa.RSAPrivateKey, other_key: rsa.RSAPrivateKey,
                          sim_clock: SimulatedClock) -> None:
    url = sim_server.url + "/portfolio/balance"
    path = "/trade-api/v2/portfolio/balance"
    now = timestamp_ms(sim_clock)
    good = httpx.get(url + "?subaccount=0", headers=_signed(sim_key, now, "GET", path))   # query not signed
    assert good.status_code == 200 and good.json()["balance"] == 100_000
    cases = {
        "no headers": {},
        "unknown key": _signed(sim_key, now, "GET", path, key_id="stranger"),
        "wrong key": _signed(other_key, now, "GET", path),
        "tampered path": _signed(sim_key, now, "GET", "/trade-api/v2/portfolio/positions"),
        "method changed": _signed(sim_key, now, "POST", path),
        "stale": _signed(sim_key, now - 120_000, "GET", path),
        "future": _signed(sim_key, now + 120_000, "GET", path),
        "agent account": _signed(sim_key, now, "GET", path, key_id="agent-maker-1"),
    }
    for name, headers in cases.items():
        response = httpx.get(url, headers=headers)
        assert response.status_code == 401, name
        assert response.json()["error"]["code"] == "unauthorized", name
    bad_sig = dict(_signed(sim_key, now, "GET", path), **{"KALSHI-ACCESS-SIGNATURE": "not base64!"})
    assert httpx.get(url, headers=bad_sig).status_code == 401


def test_client_with_unregistered_key_gets_auth_error(sim_server: SimServer, other_key: rsa.RSAPrivateKey,
                                                      sim_clock: SimulatedClock) -> None:
    with KalshiClient(sim_server.url, "me", other_key, sim_clock) as stranger:
        with pytest.raises(AuthError):
            stranger.get_balance()
        with pytest.raises(AuthError):
            stranger.get_exchange_status()             # a bad signature fails on public paths too


# -- faults ---------------------------------------------------------------------------------------------

def test_500_on_create_is_unknown_and_not_processed(client: KalshiClient, sim_server: SimServer,
                                                    quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    sim_server.faults.fail_next(r"^/portfolio/events/orders$", "500", method="POST")
    outcome = client.create_order(order(ticker, "f-500"))
    assert outcome.unknown
    assert client.find_order_by_client_id("f-500", ticker=ticker) is None
    assert client.create_order(order(ticker, "f-500")).accepted           # same id resent safely


def test_accept_then_drop_leaves_an_order_to_find(client: KalshiClient, sim_server: SimServer,
                                                  quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    sim_server.faults.fail_next(r"^/portfolio/events/orders$", "accept_then_drop")
    outcome = client.create_order(order(ticker, "f-drop"))
    assert outcome.unknown
    found = client.find_order_by_client_id("f-drop", ticker=ticker)
    assert found is not None and found.status == "resting"
    again = client.create_order(order(ticker, "f-drop"))
    assert again.accepted and again.duplicate and again.order.order_id == found.order_id


def test_reset_timeout_and_429(sim_server: SimServer, sim_key: rsa.RSAPrivateKey, sim_clock: SimulatedClock,
                               quiet_exchange: SimExchange) -> None:
    retry = RetryConfig(max_read_attempts=3, backoff_base_s=0.01, backoff_max_s=0.02)
    with KalshiClient(sim_server.url, "me", sim_key, sim_clock, timeout=0.5, retry=retry) as kalshi:
        ticker = bracket(quiet_exchange)
        sim_server.faults.fail_next(r"^/portfolio/events/orders$", "reset")
        assert kalshi.create_order(order(ticker, "f-reset")).unknown
        sim_server.faults.fail_next(r"^/portfolio/events/orders$", "timeout", seconds=2.0)
        assert kalshi.create_order(order(ticker, "f-timeout")).unknown
        assert kalshi.find_order_by_client_id("f-timeout", ticker=ticker) is None
        # (429 through KalshiClient+SimulatedClock is not exercised: its RateLimiter spins on a sub-µs sleep.)
        sim_server.faults.fail_next(r"^/markets$", "500", count=2)
        assert len(list(kalshi.iter_markets(series_ticker="KXHIGHNY"))) == 12   # reads retry
    kinds = [k for _, _, k in sim_server.faults.injected]
    assert kinds == ["reset", "timeout", "500", "500"]
    raw = httpx.Client()
    sim_server.faults.fail_next(r"^/exchange/status$", "429")
    limited = raw.get(sim_server.url + "/exchange/status")
    assert limited.status_code == 429 and limited.json() == {"error": "too many requests"}
    assert raw.get(sim_server.url + "/exchange/status").status_code == 200
    raw.close()


# -- restart --------------------------------------------------------------------------------------------

def test_server_restart_keeps_state(tmp_path: Path, sim_key: rsa.RSAPrivateKey) -> None:
    store = tmp_path / "state.jsonl"
    registry = default_registry()
    clock = SimulatedClock(START)

    def boot() -> SimExchange:
        return SimExchange(registry, SyntheticTruth(11, registry), clock, QUIET, store)

    exchange = boot()
    exchange.register_account("me", public_key_pem(sim_key), 100_000)
    with SimServer(exchange) as server, KalshiClient(server.url, "me", sim_key, clock) as kalshi:
        ticker = next(kalshi.iter_markets(series_ticker="KXHIGHNY", status="open")).ticker
        placed = kalshi.create_order(order(ticker, "persist-me", price="0.30"))
        assert placed.accepted
    exchange.close()
    clock.advance(timedelta(minutes=5))
    revived = boot()
    with SimServer(revived) as server, KalshiClient(server.url, "me", sim_key, clock) as kalshi:
        found = kalshi.find_order_by_client_id("persist-me")
        assert found is not None and found.status == "resting" and found.order_id == placed.order.order_id
        assert kalshi.get_balance().balance_cents == 100_000 - 150
    revived.close()


def test_models_parse_every_simulated_shape(sim_server: SimServer, quiet_exchange: SimExchange) -> None:
    """Every market/event the simulator lists validates with the client's strict models."""
    raw = httpx.get(sim_server.url + "/events", params={"with_nested_markets": "true", "limit": 200}).json()
    for item in raw["events"]:
        event = Event.model_validate(item)
        assert len(event.markets) == 6
        for market in item["markets"]:
            assert isinstance(Market.model_validate(market).close_time, datetime)
    ticker = bracket(quiet_exchange)
    assert OrderBook.model_validate({**httpx.get(f"{sim_server.url}/markets/{ticker}/orderbook").json(),
                                     "market_ticker": ticker}).is_empty


def _shape(value: object) -> str:
    return "number" if isinstance(value, (int, float)) and not isinstance(value, bool) else type(value).__name__


def test_wire_fields_match_real_kalshi_captures(sim_server: SimServer, quiet_exchange: SimExchange) -> None:
    """Every field of the real September 2026 market/event captures is served, with the same JSON type."""
    folder = Path(__file__).parents[1] / "fixtures" / "sim"
    real_markets = json.loads((folder / "markets_open_KXHIGHCHI_20260924T224050Z.json").read_text())["markets"]
    real_event = json.loads((folder / "event_KXHIGHNY-26SEP23.json").read_text())["event"]
    ours = httpx.get(sim_server.url + "/events/KXHIGHCHI-26JAN15", params={"with_nested_markets": "true"}).json()
    for real in real_markets:
        mine = next(m for m in ours["markets"] if m["strike_type"] == real["strike_type"])
        missing = set(real) - set(mine)
        assert not missing, missing
        for key in real:
            if real[key] is not None and mine[key] is not None:
                assert _shape(real[key]) == _shape(mine[key]), key
        assert mine["ticker"].startswith("KXHIGHCHI-26JAN15-") and mine["status"] == "active"
    missing_event = set(real_event) - set(ours["event"])
    assert not missing_event, missing_event


class Signed:
    """Raw signed httpx calls, for endpoints the daemon's client does not wrap."""

    def __init__(self, server: SimServer, key: rsa.RSAPrivateKey, clock: SimulatedClock) -> None:
        self.server, self.key, self.clock = server, key, clock
        self.http = httpx.Client(timeout=5)

    def __call__(self, method: str, path: str, **kwargs: object) -> httpx.Response:
        headers = auth_headers("me", self.key, self.clock, method, "/trade-api/v2" + path.split("?")[0])
        return self.http.request(method, self.server.url + path, headers=headers, **kwargs)


def test_batch_cancel_all_and_queue_position(sim_server: SimServer, sim_key: rsa.RSAPrivateKey,
                                             sim_clock: SimulatedClock, quiet_exchange: SimExchange) -> None:
    call = Signed(sim_server, sim_key, sim_clock)
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.30", 7))
    batch = call("POST", "/portfolio/events/orders/batched", json={"orders": [
        body(ticker, "bid", "0.30", 2, cid="b1"), body(ticker, "bid", "0.999", 1, cid="b2"),
        body(ticker, "bid", "0.30", 1, cid="b1")]})
    assert batch.status_code == 201
    items = batch.json()["orders"]
    assert items[0]["remaining_count"] == "2.00"
    assert items[1]["error"]["code"] == "invalid_order" and items[1]["client_order_id"] == "b2"
    assert items[2]["error"]["code"] == "order_already_exists"
    first = items[0]["order_id"]
    queue = call("GET", f"/portfolio/orders/{first}/queue_position")
    assert queue.json() == {"queue_position_fp": "7.00"}
    positions = call("GET", "/portfolio/orders/queue_positions", params={"market_tickers": ticker}).json()
    assert positions["queue_positions"] == [{"market_ticker": ticker, "order_id": first, "queue_position_fp": "7.00"}]
    second = call("POST", "/portfolio/events/orders", json=body(ticker, "bid", "0.10", 1, cid="b3")).json()
    cancelled = call("DELETE", "/portfolio/events/orders/batched", json={"orders": [
        {"order_id": second["order_id"]}, {"order_id": "nope"}]}).json()["orders"]
    assert cancelled[0]["reduced_by"] == "1.00" and cancelled[1]["error"]["code"] == "not_found"
    everything = call("DELETE", "/portfolio/events/orders")
    assert everything.status_code == 204 and everything.content == b""
    resting = call("GET", "/portfolio/orders", params={"status": "resting"}).json()
    assert resting == {"cursor": "", "orders": []}
    missing = call("GET", "/portfolio/orders/not-an-order")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    assert call("PUT", "/portfolio/balance").status_code == 405


def test_rate_limits_and_random_faults_from_config(sim_key: rsa.RSAPrivateKey) -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    config = QUIET.model_copy(update={"rate_limits_enabled": True, "read_capacity": 30.0, "read_tokens_per_s": 10.0})
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, config)
    with SimServer(exchange) as server, httpx.Client() as http:
        codes = [http.get(server.url + "/exchange/status").status_code for _ in range(4)]
        assert codes == [200, 200, 200, 429]                       # 10 tokens per GET, bucket of 30
        clock.advance(1)                                            # refills on the simulator's clock
        assert http.get(server.url + "/exchange/status").status_code == 200
    faulty = config.model_copy(update={"rate_limits_enabled": False,
                                       "faults": config.faults.model_copy(update={"error_500_rate": 1.0})})
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, faulty)
    with SimServer(exchange) as server, httpx.Client() as http:
        response = http.get(server.url + "/exchange/status")
        assert response.status_code == 500 and response.json()["error"]["code"] == "internal_server_error"


def test_legacy_writes_when_enabled(sim_key: rsa.RSAPrivateKey) -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock,
                           QUIET.model_copy(update={"legacy_order_writes": True}))
    exchange.register_account("me", public_key_pem(sim_key), 100_000)
    exchange.step()
    with SimServer(exchange) as server:
        call = Signed(server, sim_key, clock)
        ticker = bracket(exchange)
        created = call("POST", "/portfolio/orders", json={"ticker": ticker, "side": "no", "action": "buy",
                                                          "count": 3, "no_price": 70, "client_order_id": "legacy"})
        assert created.status_code == 201
        legacy = created.json()["order"]
        assert (legacy["book_side"], legacy["yes_price_dollars"], legacy["remaining_count_fp"]) == ("ask", "0.3000", "3.00")
        assert call("DELETE", f"/portfolio/orders/{legacy['order_id']}").json()["error"]["code"] == \
            "deprecated_v1_order_endpoint"


def test_candlesticks_and_stale_books(sim_server: SimServer, quiet_exchange: SimExchange,
                                      sim_clock: SimulatedClock) -> None:
    from daemon.exchange.models import Candlestick

    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.40", 10))
    quiet_exchange.create_order("bob", body(ticker, "bid", "0.40", 4, tif="immediate_or_cancel"))
    sim_clock.advance(3600)
    quiet_exchange.create_order("bob", body(ticker, "bid", "0.40", 6, tif="immediate_or_cancel"))
    start = int(START.timestamp())
    raw = httpx.get(f"{sim_server.url}/series/KXHIGHNY/markets/{ticker}/candlesticks",
                    params={"start_ts": start - 60, "end_ts": start + 7200, "period_interval": 60}).json()
    candles = [Candlestick.model_validate(c) for c in raw["candlesticks"]]
    assert [c.volume for c in candles] == [D(4), D(6)]
    assert candles[1].price is not None and candles[1].price.previous == D("0.40")
    assert httpx.get(f"{sim_server.url}/series/KXHIGHNY/markets/{ticker}/candlesticks").status_code == 400


def test_stale_book_fault_serves_old_snapshots() -> None:
    registry = default_registry()
    clock = SimulatedClock(START)
    config = QUIET.model_copy(update={"faults": QUIET.faults.model_copy(update={"stale_book_seconds": 60})})
    exchange = SimExchange(registry, SyntheticTruth(1, registry), clock, config)
    exchange.register_account("alice", None, 100_000)
    exchange.step()
    ticker = bracket(exchange)
    with SimServer(exchange) as server, httpx.Client() as http:
        url = f"{server.url}/markets/{ticker}/orderbook"
        assert http.get(url).json()["orderbook_fp"]["yes_dollars"] == []
        exchange.create_order("alice", body(ticker, "bid", "0.20", 3))
        assert http.get(url).json()["orderbook_fp"]["yes_dollars"] == []          # stale snapshot
        clock.advance(61)
        assert http.get(url).json()["orderbook_fp"]["yes_dollars"] == [["0.2000", "3.00"]]


def test_wire_reconciles_to_the_cent_with_live_agents(sim_key: rsa.RSAPrivateKey) -> None:
    """Against agent-made books: balance = start − Σ fill cost − Σ fees + Σ settlement revenue, from wire data only."""
    from daemon.exchange.sim import SimConfig

    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(21, registry), clock, SimConfig(seed=21))
    exchange.register_account("me", public_key_pem(sim_key), 100_000)
    exchange.step()
    clock.advance(120)
    with SimServer(exchange) as server, KalshiClient(server.url, "me", sim_key, clock) as kalshi:
        tickers = [m.ticker for e in kalshi.iter_events(series_ticker="KXHIGHNY", status="open") for m in e.markets]
        for n, ticker in enumerate(tickers):
            book = kalshi.get_orderbook(ticker)
            if n % 2 == 0 and book.best_yes_ask is not None:
                kalshi.create_order(order(ticker, f"w{n}", price=str(book.best_yes_ask), count=3, tif="ioc"))
            elif book.best_no_ask is not None:
                kalshi.create_order(order(ticker, f"w{n}", side="no", price=str(book.best_no_ask), count=2,
                                          tif="ioc"))
        fills = list(kalshi.iter_fills())
        assert fills, "agents should have offered liquidity"
        clock.set(datetime(2026, 1, 16, 12, tzinfo=UTC))
        settlements = list(kalshi.iter_settlements())
        assert {s.ticker for s in settlements} == {f.ticker for f in fills}
        spent = sum((f.count * f.side_price + f.fee for f in fills), D(0))
        revenue = sum(s.revenue_cents for s in settlements)
        assert kalshi.get_balance().balance_cents == 100_000 - int(spent * 100) + revenue
        assert sum((s.fee_cost for s in settlements), D(0)) == sum((f.fee for f in fills), D(0))
    exchange.check_invariants()
