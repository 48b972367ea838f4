"""Only `milkbot resume` clears the kill switch: every other writer of the trading state keeps it and its reason."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path

from daemon.clock import SimulatedClock
from daemon.exchange.orders import OrderRequest
from daemon.ledger.db import Database
from daemon.trading import state as st
from daemon.trading.order_store import OrderStore
from daemon.trading.reconcile import Reconciler

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import active_tickers


def test_reconcile_halt_keeps_the_kill_switch_until_resume(db: Database, sim, client,
                                                           clock: SimulatedClock) -> None:
    st.kill(db, clock, "operator says stop [cancel-resting]", "operator:test")
    killed = st.latest(db)
    ticker = active_tickers(sim, clock)[0]
    client.create_order(OrderRequest(ticker=ticker, side="yes", action="buy", count=Decimal(1),
                                     price=Decimal("0.02"), client_order_id="manual-order-k"))
    store = OrderStore(db, clock)
    report = Reconciler(store, client, clock).run()  # the reconciler's default halt path
    assert report.halted and "orphan_order" in {d.kind for d in report.unexplained}
    after = st.latest(db)
    assert after.kill_switch and after.state == "HALTED"
    assert (after.reason, after.set_by) == (killed.reason, killed.set_by)
    store.write_trading_state("ACTIVE", "someone else", "oms:test")  # no writer but resume may clear it
    assert st.latest(db).kill_switch and st.latest(db).state == "HALTED"
    refused = db.query("SELECT message FROM ops.risk_events WHERE kind = 'trading_state'")
    assert any("oms:reconcile" in r["message"] for r in refused)
    st.resume(db, clock, "checked", "operator:test")
    assert not st.latest(db).kill_switch and st.latest(db).state == "ACTIVE"
