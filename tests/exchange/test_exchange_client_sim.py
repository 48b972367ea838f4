"""KalshiClient against the real simulator over loopback HTTP: discovery in few calls, batch books, 429s
honoured on the simulated clock, and creates that are never resent after a lost response."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from decimal import Decimal

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from daemon.cities import default_registry
from daemon.clock import UTC, SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import RetryConfig
from daemon.exchange.orders import OrderRequest
from daemon.exchange.signing import public_key_pem
from daemon.exchange.sim import SimConfig, SimExchange
from daemon.exchange.sim.config import AgentConfig
from daemon.exchange.sim.server import SimServer
from daemon.simulation.truth import SyntheticTruth

START = datetime(2026, 1, 15, 12, tzinfo=UTC)
CREATE = r"^/portfolio/events/orders$"


@pytest.fixture(scope="module")
def key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sim_clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def server(sim_clock: SimulatedClock, key: rsa.RSAPrivateKey) -> Iterator[SimServer]:
    registry = default_registry()
    exchange = SimExchange(registry, SyntheticTruth(3, registry), sim_clock,
                           SimConfig(seed=3, agents=AgentConfig(enabled=False)))
    exchange.register_account("me", public_key_pem(key), 100_000)
    exchange.step()
    with SimServer(exchange) as running:
        yield running


@pytest.fixture
def kalshi(server: SimServer, key: rsa.RSAPrivateKey, sim_clock: SimulatedClock) -> Iterator[KalshiClient]:
    retry = RetryConfig(max_read_attempts=3, backoff_base_s=0.01, backoff_max_s=0.05)
    with KalshiClient(server.url, "me", key, sim_clock, timeout=0.5, retry=retry) as client:
        yield client


def _series() -> list[str]:
    return [city.series for city in default_registry()]


def test_discovery_of_all_cities_is_one_call_per_series(kalshi: KalshiClient) -> None:
    before = kalshi.request_count
    events = kalshi.discover_events(_series())
    assert kalshi.request_count - before == len(_series())          # nested markets: no call per market
    assert set(events) == set(_series())
    markets = [m for evs in events.values() for e in evs for m in e.markets]
    assert len(markets) == 6 * len(_series()) and all(m.is_open for m in markets)
    assert all(m.close_time is not None and m.strike_type in ("between", "greater", "less") for m in markets)
    before = kalshi.request_count
    books = kalshi.get_orderbooks(m.ticker for m in markets)
    assert kalshi.request_count - before == 1 and len(books) == len(markets)
    assert all(b.best_yes_bid is None and b.best_yes_ask is None for b in books)   # empty book = no market


def test_cursor_pages_cover_every_market_once(kalshi: KalshiClient) -> None:
    before = kalshi.request_count
    tickers = [m.ticker for m in kalshi.iter_markets(status="open", limit=7)]
    assert len(tickers) == len(set(tickers)) == 6 * len(_series())
    assert kalshi.request_count - before == -(-len(tickers) // 7)   # ceil: one call per page


def test_429_is_honoured_on_the_simulated_clock(kalshi: KalshiClient, server: SimServer,
                                                sim_clock: SimulatedClock) -> None:
    """Regression: after a 429 the limiter used to spin forever on a sub-microsecond SimulatedClock sleep."""
    server.faults.fail_next(r"^/exchange/status$", "429", count=3)
    before = sim_clock.monotonic()
    assert kalshi.get_exchange_status().exchange_active
    assert sim_clock.monotonic() > before
    ticker = kalshi.discover_events(["KXHIGHNY"])["KXHIGHNY"][0].markets[2].ticker
    server.faults.fail_next(CREATE, "429", count=2)
    outcome = kalshi.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                               price=Decimal("0.05"), client_order_id="rl-1"))
    assert outcome.accepted
    assert [k for _, p, k in server.faults.injected if p == "/portfolio/events/orders"] == ["429", "429"]


@pytest.mark.parametrize("kind", ["500", "reset", "accept_then_drop"])
def test_lost_create_is_unknown_and_sent_exactly_once(kalshi: KalshiClient, server: SimServer, kind: str) -> None:
    ticker = kalshi.discover_events(["KXHIGHCHI"])["KXHIGHCHI"][0].markets[1].ticker
    request = OrderRequest(ticker=ticker, side="no", action="buy", count=Decimal(2), price=Decimal("0.10"),
                           client_order_id=f"lost-{kind}")
    server.faults.fail_next(CREATE, kind)
    before = server.request_count
    outcome = kalshi.create_order(request)
    assert outcome.unknown and outcome.client_order_id == f"lost-{kind}"
    assert server.request_count - before == 1                       # not resent by the client
    found = kalshi.find_order_by_client_id(f"lost-{kind}", ticker=ticker)
    assert (found is not None) == (kind == "accept_then_drop")
    again = kalshi.create_order(request)                            # same id: at most one order can exist
    assert again.accepted
    mine = [o for o in kalshi.iter_orders(ticker=ticker) if o.client_order_id == f"lost-{kind}"]
    assert len(mine) == 1 and mine[0].book_side == "ask" and mine[0].price == Decimal("0.90")
