"""The order manager against the real simulator over loopback HTTP, on both ledger engines."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database
from daemon.trading.oms import NotReconciledError, OmsPolicy, OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import (
    KEY_ID,
    active_tickers,
    check_invariants,
    crossing_intent,
    resting_intent,
)


def _oms(db: Database, client, clock: SimulatedClock, **kw) -> OrderManager:
    return OrderManager(db, client, clock, registry=default_registry(), **kw)


def test_no_order_before_startup_reconciliation(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock)
    with pytest.raises(NotReconciledError):
        oms.submit(resting_intent(ticker, 1))
    assert list(client.iter_orders()) == []
    assert oms.reconcile().ok


def test_submit_is_idempotent_and_logs_every_transition(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock)
    oms.reconcile()
    intent = resting_intent(ticker, 1)
    first = oms.submit(intent)
    again = oms.submit(intent)
    assert first.status == "placed" and first.order_state == "resting"
    assert again.status == "existing" and again.client_order_id == first.client_order_id
    orders = list(client.iter_orders())
    assert [o.client_order_id for o in orders] == [first.client_order_id]
    events = oms.store.events(first.client_order_id)
    assert [(e["from_state"], e["to_state"], e["cause"]) for e in events] == [
        (None, "new", "intent"), ("new", "submitted", "send"), ("submitted", "resting", "response")]
    intent_row = db.query_one("SELECT * FROM ops.intents WHERE intent_key = ?", (intent.intent_key,))
    assert intent_row["state"] == "live" and intent_row["client_order_id"] == first.client_order_id
    check_invariants(db, client)


def test_backing_off_is_not_chasing(db: Database, sim, client, clock: SimulatedClock) -> None:
    """A reprice that pays less than the first price (a maker raising its ask) is never refused as a chase."""
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock, policy=OmsPolicy(reprice_seconds=60, max_chase_cents=3))
    oms.reconcile()
    oms.submit(resting_intent(ticker, 1, price="0.10"))
    clock.advance(timedelta(seconds=61))
    backed_off = oms.submit(resting_intent(ticker, 1, price="0.02"))
    assert backed_off.status == "placed" and backed_off.version == 2
    clock.advance(timedelta(seconds=61))
    chased = oms.submit(resting_intent(ticker, 1, price="0.14"))
    assert chased.status == "throttled" and any("max_chase" in r for r in chased.reasons)


def test_reprice_cancels_then_replaces_within_limits(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock, policy=OmsPolicy(reprice_seconds=60, max_chase_cents=3))
    oms.reconcile()
    v1 = oms.submit(resting_intent(ticker, 1, price="0.02"))
    too_soon = oms.submit(resting_intent(ticker, 1, price="0.03"))
    assert too_soon.status == "throttled" and "reprice_interval" in too_soon.reasons[0]
    clock.advance(timedelta(seconds=61))
    too_far = oms.submit(resting_intent(ticker, 1, price="0.06"))
    assert too_far.status == "throttled" and any("max_chase" in r for r in too_far.reasons)
    v2 = oms.submit(resting_intent(ticker, 1, price="0.04"))
    assert v2.status == "placed" and v2.version == 2 and v2.client_order_id != v1.client_order_id
    by_cid = {o.client_order_id: o for o in client.iter_orders()}
    assert by_cid[v1.client_order_id].status == "canceled"
    assert by_cid[v2.client_order_id].status == "resting"
    assert by_cid[v2.client_order_id].price == Decimal("0.04")
    assert oms.store.latest_intent(v1.intent_key)["version"] == 2
    check_invariants(db, client)


def test_fills_ingested_once_and_positions_match(db: Database, sim, client, clock: SimulatedClock) -> None:
    tickers = active_tickers(sim, clock)[:3]
    oms = _oms(db, client, clock)
    oms.reconcile()
    results = [oms.submit(crossing_intent(t, i)) for i, t in enumerate(tickers)]
    assert any(r.order_state in ("filled", "partial") for r in results), results
    oms.refresh()
    oms.refresh()
    first = oms.reconcile()
    second = oms.reconcile()
    assert first.ok and second.ok and second.fills_ingested == 0
    stored = db.query("SELECT exchange_fill_id, client_order_id FROM ops.fills")
    exchange = list(client.iter_fills())
    assert len(stored) == len(exchange) > 0
    assert all(r["client_order_id"] for r in stored)  # joined via exchange_order_id
    check_invariants(db, client)


def test_halted_trading_state_blocks_orders(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock)
    oms.reconcile()
    oms.store.write_trading_state("HALTED", "test", "operator:test")
    result = oms.submit(resting_intent(ticker, 1))
    assert result.status == "blocked"
    assert list(client.iter_orders()) == []
    assert db.query("SELECT * FROM ops.risk_events WHERE kind = 'trading_state'")


def test_cancel_reads_final_state_back(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock)
    oms.reconcile()
    placed = oms.submit(resting_intent(ticker, 1))
    result = oms.cancel(placed.client_order_id)
    assert result.status == "canceled" and result.order_state == "canceled"
    assert [o.status for o in client.iter_orders()] == ["canceled"]
    assert oms.live_order(placed.intent_key) is None
    check_invariants(db, client)


def test_degraded_spread_or_depth_cancels_resting_orders(db: Database, sim, client, clock: SimulatedClock) -> None:
    from types import SimpleNamespace

    from daemon.trading.exchange_facts import quote_from_book

    ticker, other = active_tickers(sim, clock)[:2]
    oms = _oms(db, client, clock, policy=OmsPolicy(max_spread=Decimal("0.03"), min_depth=Decimal(10)))
    oms.reconcile()
    kept = oms.submit(resting_intent(other, 2))
    placed = oms.submit(resting_intent(ticker, 1))
    fine = SimpleNamespace(yes_bid=Decimal("0.40"), yes_ask=Decimal("0.42"), yes_bid_size=Decimal(50),
                           yes_ask_size=Decimal(50))
    assert oms.cancel_if_degraded(ticker, fine) == []
    thin = SimpleNamespace(yes_bid=Decimal("0.40"), yes_ask=Decimal("0.42"), yes_bid_size=Decimal(50),
                           yes_ask_size=Decimal(3))
    wide = SimpleNamespace(yes_bid=Decimal("0.30"), yes_ask=Decimal("0.42"), yes_bid_size=Decimal(50),
                           yes_ask_size=Decimal(50))
    assert oms.cancel_if_degraded(ticker, SimpleNamespace(yes_bid=Decimal("0.40"), yes_ask=Decimal("0.42"),
                                                          yes_bid_size=Decimal(2), yes_ask_size=Decimal(50))) == []
    results = oms.cancel_if_degraded(ticker, wide)
    assert [r.status for r in results] == ["canceled"] and "spread_too_wide" in results[0].reasons[0]
    assert oms.live_order(placed.intent_key) is None
    assert oms.live_order(kept.intent_key) is not None          # other markets untouched
    again = oms.submit(resting_intent(ticker, 3))
    results = oms.cancel_if_degraded(ticker, thin)
    assert [r.status for r in results] == ["canceled"] and "depth_too_thin" in results[0].reasons[0]
    oms.submit(resting_intent(ticker, 4))
    no_market = SimpleNamespace(yes_bid=None, yes_ask=Decimal("0.50"), yes_bid_size=None, yes_ask_size=Decimal(99))
    assert [r.reasons[0] for r in oms.cancel_if_degraded(ticker, no_market)] == ["no_market"]
    book_quote = quote_from_book(client.get_orderbook(ticker))        # the real book's top, exactly
    book = client.get_orderbook(ticker)
    assert book_quote.yes_bid == book.best_yes_bid and book_quote.yes_ask == book.best_yes_ask
    assert again.client_order_id != placed.client_order_id
    check_invariants(db, client)


def test_create_landing_after_a_failed_lookup_is_never_withdrawn_early(db: Database, sim, client,
                                                                         clock: SimulatedClock) -> None:
    """The response is lost and the request is still in flight when we look it up: `new` again, but it must not be
    closed (and replaced) until no request of it can still land — otherwise two versions could rest at once."""
    ticker = active_tickers(sim, clock)[0]
    oms = _oms(db, client, clock, policy=OmsPolicy(reprice_seconds=0, late_arrival_grace_seconds=60))
    oms.reconcile()
    sim.faults.fail_next(r"^/portfolio/events/orders$", kind="latency", count=1, seconds=2.5)
    first = oms.submit(resting_intent(ticker, 1, price="0.02"))      # client timeout 2 s < 2.5 s server delay
    assert first.status == "unknown" and first.order_state == "new"
    blocked = oms.submit(resting_intent(ticker, 1, price="0.03"))   # a reprice while v1 may still land
    assert blocked.status == "cancel_pending"
    sim.server.wait(1.0)                                             # ... and now it has landed
    assert len(list(client.iter_orders())) == 1
    clock.advance(timedelta(seconds=61))
    replaced = oms.submit(resting_intent(ticker, 1, price="0.03"))
    assert replaced.status == "placed" and replaced.version == 2
    orders = {o.client_order_id: o.status for o in client.iter_orders()}
    assert orders == {first.client_order_id: "canceled", replaced.client_order_id: "resting"}
    assert oms.reconcile().ok
    check_invariants(db, client)


def test_refresh_uses_one_list_call_for_many_orders(db: Database, sim, client, clock: SimulatedClock) -> None:
    tickers = active_tickers(sim, clock)
    oms = _oms(db, client, clock)
    oms.reconcile()
    placed = [oms.submit(resting_intent(tickers[i % len(tickers)], i)) for i in range(12)]
    account = sim.exchange.accounts[KEY_ID]
    sim.exchange.cancel_order(KEY_ID, account.client_order_ids[placed[3].client_order_id])  # changed behind our back
    before = client.request_count
    assert oms.refresh() == 1
    assert client.request_count - before <= 3                     # a list page + the fills page(s), not 12 GETs
    assert oms.store.order(placed[3].client_order_id)["state"] == "canceled"
    check_invariants(db, client)


@pytest.mark.parametrize("path", ["submit", "resume_pending"])
def test_committed_unsent_order_is_shrunk_to_what_risk_allows(db: Database, sim, client, clock: SimulatedClock,
                                                              path: str) -> None:
    """A committed `new` row is re-checked in full by risk before it is (re)sent, and sent no larger than risk's
    max_count (review r4)."""
    from _risk_kit import add_fill

    from daemon.trading.config import TradingConfig
    from daemon.trading.intents import client_order_id_for
    from daemon.trading.risk import RiskEngine

    policy = TradingConfig(bankroll=Decimal(20))  # per event / city $0.60
    risk = RiskEngine(db, clock, policy, default_registry(), lambda: policy.bankroll)
    oms = _oms(db, client, clock, risk=risk)
    assert oms.reconcile().ok
    t0, t1 = active_tickers(sim, clock, ("NYC",))[:2]
    intent = resting_intent(t0, 1, price="0.02", count="13")  # 13 × 0.03 worst case = 0.39
    coid = client_order_id_for(intent.intent_key, 1)
    oms.store.create_intent_order(intent, coid, intent.count)  # committed, the send never happened
    add_fill(db, clock, "NYC", bracket=t1.rsplit("-", 1)[1], day=intent.climate_day, count="1", price="0.44")
    result = oms.submit(intent) if path == "submit" else oms.resume_pending()[0]
    assert result.status == "placed" and result.client_order_id == coid
    assert [o.initial_count for o in client.iter_orders()] == [Decimal(4)]  # 0.45 + 4 × 0.03 ≤ 0.60
    row = oms.store.order(coid)
    assert Decimal(row["count"]) == Decimal(4) and Decimal(row["remaining_count"]) == Decimal(4)
    assert "risk_clip" in [e["cause"] for e in oms.store.events(coid)]


def test_a_409_on_create_is_resolved_by_lookup_never_rejected(db: Database, sim, client,
                                                              clock: SimulatedClock) -> None:
    """Review r7: a 409 the client did not classify as a duplicate is not a terminal rejection: the OMS looks the
    order up by its client id, adopts it, and never sends a second version while it is live."""
    from daemon.exchange.errors import RejectedError
    from daemon.exchange.orders import CreateOrderOutcome

    class ConflictClient:
        """The create goes through, but its reply is a bare 409 conflict."""

        def __init__(self, real) -> None:
            self.real = real

        def __getattr__(self, name: str):
            return getattr(self.real, name)

        def create_order(self, request):
            self.real.create_order(request)
            return CreateOrderOutcome("rejected", request.client_order_id,
                                      error=RejectedError("conflict", "", 409))

    oms = _oms(db, ConflictClient(client), clock, policy=OmsPolicy(reprice_seconds=0))
    assert oms.reconcile().ok
    intent = resting_intent(active_tickers(sim, clock, ("NYC",))[0], 1, price="0.02", count="5")
    first = oms.submit(intent)
    assert first.status == "existing" and first.order_state == "resting"
    again = oms.submit(intent)
    assert again.status == "existing" and again.version == 1
    assert len(list(client.iter_orders())) == 1
    assert db.query("SELECT state FROM ops.orders WHERE state = 'rejected'") == []
    check_invariants(db, client)
