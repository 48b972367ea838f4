"""KalshiClient over real loopback HTTP against a scripted Kalshi stub: the failure semantics.

What must hold: reads retry (jittered) on temporary failures only; a create is never blindly resent — a
timeout, reset or 5xx gives an explicit *unknown* outcome carrying the client order id; a 429 (provably not
processed) is honoured with a wait on the injected clock; a 409 duplicate id is resolved by looking the order up.
"""

from __future__ import annotations

import random
from datetime import datetime
from decimal import Decimal

import pytest
from kalshi_stub import KEY_ID

from daemon.clock import UTC, SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import RateLimitConfig, RetryConfig
from daemon.exchange.errors import (
    AuthError,
    ConfigError,
    MalformedResponseError,
    NotFoundError,
    RejectedError,
    TemporaryError,
)
from daemon.exchange.orders import OrderRequest

CREATE = r"/portfolio/events/orders$"
START = datetime(2026, 1, 15, 12, tzinfo=UTC)


@pytest.fixture
def clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def kalshi(stub, rsa_key, clock: SimulatedClock):
    _, url = stub
    retry = RetryConfig(max_read_attempts=3, max_rate_limited_attempts=4, backoff_base_s=0.05, backoff_max_s=1.0)
    with KalshiClient(url, KEY_ID, rsa_key, clock, timeout=0.5, retry=retry, rng=random.Random(1)) as client:
        yield client


def _order(cid: str, *, side: str = "yes", action: str = "buy", price: str = "0.40") -> OrderRequest:
    return OrderRequest(ticker="KXHIGHNY-26JAN15-B40.5", side=side, action=action, count=Decimal(3),
                        price=Decimal(price), client_order_id=cid)


# -- create: never blindly retried ------------------------------------------------------------------------

@pytest.mark.parametrize("kind", ["timeout", "reset", "500", "accept_then_drop"])
def test_lost_create_is_unknown_with_its_client_id_and_sent_once(stub, kalshi: KalshiClient, kind: str) -> None:
    state, _ = stub
    state.sleep_s = 1.5
    state.fail_next("POST", CREATE, kind)
    outcome = kalshi.create_order(_order(f"cid-{kind}"))
    assert outcome.unknown and not outcome.accepted and outcome.client_order_id == f"cid-{kind}"
    assert isinstance(outcome.error, TemporaryError)
    assert len(state.calls("POST", CREATE)) == 1                     # never resent by the client
    processed = kind in ("timeout", "accept_then_drop")
    found = kalshi.find_order_by_client_id(f"cid-{kind}")
    assert (found is not None) == processed
    again = kalshi.create_order(_order(f"cid-{kind}"))               # the OMS resolves, then resends the SAME id
    assert again.accepted and again.duplicate == processed
    assert len([o for o in state.orders.values() if o["client_order_id"] == f"cid-{kind}"]) == 1


def test_429_on_create_is_honoured_then_sent(stub, kalshi: KalshiClient, clock: SimulatedClock) -> None:
    state, _ = stub
    state.fail_next("POST", CREATE, "429")
    before = clock.monotonic()
    outcome = kalshi.create_order(_order("cid-429"))
    assert outcome.accepted and outcome.order.client_order_id == "cid-429"
    assert len(state.calls("POST", CREATE)) == 2                     # a 429 was not processed: safe to resend
    assert clock.monotonic() - before >= 0.1                         # drained bucket refilled + backoff, on the clock


def test_persistent_429_on_create_is_a_retryable_rejection(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    state.fail_next("POST", CREATE, "429", count=10)
    outcome = kalshi.create_order(_order("cid-429x"))
    assert outcome.rejected and outcome.error.retryable and not state.orders


def test_duplicate_id_resolves_to_the_existing_order(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    first = kalshi.create_order(_order("cid-dup"))
    second = kalshi.create_order(_order("cid-dup"))
    assert first.accepted and second.accepted and second.duplicate
    assert second.order.order_id == first.order.order_id and len(state.orders) == 1


@pytest.mark.parametrize(("status", "body", "error_type"), [
    (400, '{"error":{"code":"invalid_order","message":"bad"}}', RejectedError),
    (401, '{"error":{"code":"unauthorized"}}', AuthError),
    (400, '{"error":{"code":"deprecated_v1_order_endpoint","message":"Please switch"}}', ConfigError),
])
def test_refusals_are_rejected_not_retried(stub, kalshi: KalshiClient, status: int, body: str,
                                           error_type: type) -> None:
    state, _ = stub
    state.fail_next("POST", CREATE, f"json:{status}:{body}")
    outcome = kalshi.create_order(_order("cid-rej"))
    assert outcome.rejected and isinstance(outcome.error, error_type) and not outcome.error.retryable
    assert len(state.calls("POST", CREATE)) == 1


def test_2xx_without_an_order_id_is_never_success(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    state.fail_next("POST", CREATE, 'json:200:{"error":{"code":"deprecated_v1_order_endpoint"}}')
    assert kalshi.create_order(_order("cid-a")).rejected
    state.fail_next("POST", CREATE, 'json:201:{"client_order_id":"cid-b"}')
    outcome = kalshi.create_order(_order("cid-b"))
    assert outcome.unknown and isinstance(outcome.error, MalformedResponseError)


def test_wire_body_is_v2_yes_book(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    assert kalshi.create_order(_order("cid-no", side="no", price="0.30")).accepted
    sent = state.calls("POST", CREATE)[-1].body
    assert sent["side"] == "ask" and sent["price"] == "0.7000" and sent["count"] == "3.00"
    assert sent["client_order_id"] == "cid-no"


# -- reads: retried with jitter, only when temporary -------------------------------------------------------

def test_reads_retry_temporary_failures_with_backoff(stub, kalshi: KalshiClient, clock: SimulatedClock) -> None:
    state, _ = stub
    state.fail_next("GET", r"/portfolio/balance$", "500", count=2)
    before = clock.monotonic()
    assert kalshi.get_balance().balance_cents == 123456
    assert len(state.calls("GET", r"/portfolio/balance$")) == 3
    assert clock.monotonic() - before > 0                            # backoff slept on the injected clock


def test_reads_give_up_after_max_attempts(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    state.fail_next("GET", r"/portfolio/balance$", "500", count=5)
    with pytest.raises(TemporaryError):
        kalshi.get_balance()
    assert len(state.calls("GET", r"/portfolio/balance$")) == 3


def test_read_429_waits_and_succeeds(stub, kalshi: KalshiClient, clock: SimulatedClock) -> None:
    state, _ = stub
    state.fail_next("GET", r"/portfolio/balance$", "429", count=2)
    before = clock.monotonic()
    assert kalshi.get_balance().balance_cents == 123456
    assert clock.monotonic() - before >= 2 * 10 / (200 * 0.9) - 1e-6  # each 429 drains the read bucket


def test_not_found_is_not_retried(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    with pytest.raises(NotFoundError):
        kalshi.get_order("nope")
    assert len(state.calls("GET", r"/portfolio/orders/nope$")) == 1


def test_backoff_is_jittered_and_capped(kalshi: KalshiClient) -> None:
    waits = [kalshi._backoff(n) for n in range(1, 12)]
    assert all(0 < w <= 1.0 for w in waits)
    assert len({round(w, 9) for w in waits[:4]}) == 4


# -- signing, pagination, credentials ----------------------------------------------------------------------

def test_signed_path_excludes_query_and_pages_follow_cursor(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    for n in range(5):
        assert kalshi.create_order(_order(f"page-{n}")).accepted
    orders = list(kalshi.iter_orders(ticker="KXHIGHNY-26JAN15-B40.5", limit=2))
    assert [o.client_order_id for o in orders] == [f"page-{n}" for n in range(5)]
    lists = state.calls("GET", r"/portfolio/orders$")
    assert len(lists) == 3 and lists[1].query["cursor"] == ["2"]      # the stub 401s any bad signature
    assert all(r.headers.get("KALSHI-ACCESS-KEY") == KEY_ID for r in lists)


def test_cursor_loop_is_refused(stub, kalshi: KalshiClient) -> None:
    state, _ = stub
    state.routes[("GET", "/portfolio/fills")] = lambda q, b: (200, {"fills": [], "cursor": "same"})
    with pytest.raises(MalformedResponseError):
        list(kalshi.iter_fills())


def test_portfolio_needs_credentials_public_data_does_not(stub, clock: SimulatedClock) -> None:
    state, url = stub
    state.routes[("GET", "/exchange/status")] = lambda q, b: (200, {"exchange_active": True,
                                                                    "trading_active": False})
    with KalshiClient(url, None, None, clock, rate_limits=RateLimitConfig()) as anonymous:
        assert anonymous.get_exchange_status().trading_active is False
        assert "KALSHI-ACCESS-SIGNATURE" not in state.requests[-1].headers
        with pytest.raises(ConfigError):
            anonymous.get_balance()
        outcome = anonymous.create_order(_order("x"))
        assert outcome.rejected and isinstance(outcome.error, ConfigError)
    with pytest.raises(ConfigError):
        KalshiClient(url, KEY_ID, None, clock)


def test_cancel_reads_the_order_back(stub, kalshi: KalshiClient) -> None:
    placed = kalshi.create_order(_order("cid-cancel"))
    canceled = kalshi.cancel_order(placed.order.order_id)
    assert canceled.status == "canceled" and canceled.remaining_count == 0
    with pytest.raises(NotFoundError):
        kalshi.cancel_order("missing")


def test_any_409_on_create_is_looked_up_never_a_terminal_rejection(stub, kalshi: KalshiClient,
                                                                    monkeypatch) -> None:
    """A 409 whose code/message we do not recognise as a duplicate still resolves by client id (review r7)."""
    from daemon.exchange import errors

    monkeypatch.setattr(errors, "_DUPLICATE_CODES", set())
    monkeypatch.setattr(errors, "_DUPLICATE_HINTS", ())
    state, _ = stub
    first = kalshi.create_order(_order("cid-409"))
    second = kalshi.create_order(_order("cid-409"))
    assert type(second.error) is RejectedError and second.error.http_status == 409
    assert second.accepted and second.duplicate and second.order.order_id == first.order.order_id
    assert len(state.orders) == 1


def test_one_bad_order_book_is_skipped_not_the_batch(kalshi: KalshiClient, monkeypatch,
                                                     caplog: pytest.LogCaptureFixture) -> None:
    """A repeated or impossible price level spoils only its own book; the rest of the batch is kept."""
    good = {"ticker": "KXHIGHNY-26JAN15-B40.5",
            "orderbook_fp": {"yes_dollars": [["0.40", "10.00"]], "no_dollars": [["0.55", "5.00"]]}}
    repeated = {"ticker": "KXHIGHNY-26JAN15-B42.5",
                "orderbook_fp": {"yes_dollars": [["0.40", "10.00"], ["0.40", "3.00"]], "no_dollars": []}}
    impossible = {"ticker": "KXHIGHNY-26JAN15-B44.5",
                  "orderbook_fp": {"yes_dollars": [["1.0000", "10.00"]], "no_dollars": []}}
    body = {"orderbooks": [repeated, good, impossible]}
    monkeypatch.setattr(kalshi, "_send", lambda *a, **k: body)
    books = kalshi.get_orderbooks([good["ticker"], repeated["ticker"], impossible["ticker"]])
    assert [b.market_ticker for b in books] == [good["ticker"]]
    assert books[0].best_yes_bid == Decimal("0.40")
    assert "KXHIGHNY-26JAN15-B42.5 skipped" in caplog.text and "KXHIGHNY-26JAN15-B44.5 skipped" in caplog.text
