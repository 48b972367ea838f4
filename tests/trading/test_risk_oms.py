"""The risk engine wired into the real OrderManager, against the simulator over loopback HTTP:
a breached cap, a halt or stale data keeps the order from ever reaching the exchange."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database
from daemon.trading import state as st
from daemon.trading.config import TradingConfig
from daemon.trading.oms import OrderManager
from daemon.trading.risk import RiskEngine

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import active_tickers, check_invariants, resting_intent

D = Decimal


def _wired(db: Database, client, clock: SimulatedClock, bankroll: str) -> tuple[OrderManager, RiskEngine]:
    policy = TradingConfig(bankroll=D(bankroll))
    risk = RiskEngine(db, clock, policy, default_registry(), lambda: policy.bankroll)
    oms = OrderManager(db, client, clock, risk=risk, registry=default_registry())
    assert oms.reconcile().ok
    return oms, risk


def test_breached_cap_never_reaches_the_exchange(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms, _ = _wired(db, client, clock, bankroll="1")  # per-trade cap $0.02 < one contract at 0.02 + 0.01 fee
    result = oms.submit(resting_intent(ticker, 1, price="0.02", count="1"))
    assert result.status == "blocked" and any("cap:per_trade" in r for r in result.reasons)
    assert list(client.iter_orders()) == []
    assert db.query("SELECT * FROM ops.orders") == []  # nothing committed either
    event = db.query_one("SELECT * FROM ops.risk_events WHERE kind = 'cap_breach'")
    assert event["detail"]["limit"] == "per_trade" and event["detail"]["allowed"] == "0.02"


def test_partial_fit_sends_only_what_the_caps_allow(db: Database, sim, client, clock: SimulatedClock) -> None:
    ticker = active_tickers(sim, clock)[0]
    oms, _ = _wired(db, client, clock, bankroll="10")  # per trade $0.20 → 6 contracts at 0.03 worst case
    result = oms.submit(resting_intent(ticker, 1, price="0.02", count="10"))
    assert result.status == "placed"
    (order,) = list(client.iter_orders())
    assert order.initial_count == D(6) and order.client_order_id == result.client_order_id
    check_invariants(db, client)


def test_pending_orders_count_against_the_next_order(db: Database, sim, client, clock: SimulatedClock) -> None:
    tickers = active_tickers(sim, clock, ("NYC",))
    oms, _ = _wired(db, client, clock, bankroll="20")  # per event/city $0.60 → 20 contracts at 0.03
    assert oms.submit(resting_intent(tickers[0], 1, price="0.02", count="13")).status == "placed"  # 0.39 pending
    second = oms.submit(resting_intent(tickers[1], 2, price="0.02", count="13"))  # only 7 more fit in NYC
    assert second.status == "placed"
    counts = sorted(o.initial_count for o in client.iter_orders())
    assert counts == [D(7), D(13)]
    check_invariants(db, client)


def test_kill_switch_and_stale_city_block_the_order_path(db: Database, sim, client, clock: SimulatedClock) -> None:
    nyc = active_tickers(sim, clock, ("NYC",))[0]
    chi = active_tickers(sim, clock, ("CHI",))[0]
    oms, risk = _wired(db, client, clock, bankroll="5000")
    st.kill(db, clock, "operator stop", "operator:test")
    halted = oms.submit(resting_intent(nyc, 1))
    assert halted.status == "blocked" and "HALTED" in halted.reasons[0]
    assert list(client.iter_orders()) == []
    risk.resume("checked", "operator:test")
    risk.record_stale("NYC", "no observation for 3 h")
    stale = oms.submit(resting_intent(nyc, 2))
    assert stale.status == "blocked" and "stale" in stale.reasons[0]
    assert oms.submit(resting_intent(chi, 3)).status == "placed"
    assert [o.ticker for o in client.iter_orders()] == [chi]
    kinds = [r["kind"] for r in db.query("SELECT kind FROM ops.risk_events ORDER BY id")]
    assert "trading_state" in kinds and "stale_data" in kinds
    check_invariants(db, client)


def test_auth_failure_from_the_oms_halts_through_the_engine(db: Database, sim, client, clock: SimulatedClock) -> None:
    oms, risk = _wired(db, client, clock, bankroll="5000")
    oms._halt("exchange auth failure on create: 401", "breaker")  # the OMS's own breaker hook
    assert risk.current_state() == "HALTED" and st.latest(db).set_by == "oms:breaker"
    assert oms.submit(resting_intent(active_tickers(sim, clock)[0], 1)).status == "blocked"
    assert list(client.iter_orders()) == []
