"""A 409 that is not a duplicate (market_closed, trading_paused) is a rejection: the order is `rejected` and
its pending exposure released. Only a duplicate-id answer (or a 409 we cannot place) is looked up as a
possible duplicate — and when a lookup does find our id, the lookup wins. Real HTTP against the simulator."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.errors import RejectedError, error_from_response, possible_duplicate
from daemon.exchange.orders import OrderRequest
from daemon.ledger.db import Database
from daemon.trading import exposure as ex
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import active_tickers, resting_intent


def _close(sim, clock: SimulatedClock, ticker: str) -> None:
    clock.set(sim.exchange.markets[ticker].close_time + timedelta(seconds=1))
    sim.exchange.step(clock.now())
    assert sim.exchange.markets[ticker].status != "active"


def test_create_on_a_closed_market_is_rejected_and_releases_exposure(db: Database, sim, client,
                                                                     clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock, ("NYC",))[0]
    oms = OrderManager(db, client, clock, registry=default_registry())
    assert oms.reconcile().ok
    _close(sim, clock, ticker)
    result = oms.submit(resting_intent(ticker, 1))
    assert result.status == "rejected" and result.order_state == "rejected"
    assert "market_closed" in " ".join(result.reasons)
    row = db.query_one("SELECT state, last_error FROM ops.orders WHERE client_order_id = ?",
                       (result.client_order_id,))
    assert row["state"] == "rejected" and "market_closed" in row["last_error"]
    assert ex.pending_lots(db) == []
    assert oms.store.open_orders() == []


def test_a_refusal_whose_id_the_lookup_finds_is_the_found_order(sim, client, clock: SimulatedClock) -> None:
    """Our earlier attempt was placed before the market closed; the resend is refused with market_closed."""
    ticker = active_tickers(sim, clock, ("NYC",))[0]
    request = OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1), price=Decimal("0.02"),
                           client_order_id="refused-then-found")
    first = client.create_order(request)
    assert first.status == "accepted"
    _close(sim, clock, ticker)
    again = client.create_order(request)
    assert again.error is not None and again.error.code == "market_closed"
    assert again.status == "accepted" and again.duplicate and again.order.order_id == first.order.order_id


@pytest.mark.parametrize("body, duplicate", [
    (b'{"error":{"code":"market_closed"}}', False),
    (b'{"error":{"code":"trading_paused","message":"TRADING_PAUSED"}}', False),
    (b'{"error":{"code":"MARKET_INACTIVE"}}', False),
    (b'{"error":{"code":"order_already_exists"}}', True),
    (b'{"error":{"code":"conflict"}}', True),            # a 409 we cannot place may be our id: look it up
    (b'{}', True),
])
def test_which_409s_are_possible_duplicates(body: bytes, duplicate: bool) -> None:
    assert possible_duplicate(error_from_response(409, body)) is duplicate
    assert not possible_duplicate(RejectedError("market_closed", "", 400))
