"""Crash safety (DESIGN invariant 2): a crash at any step around an order, then restart + reconcile → exactly one
exchange order per intent, and the ledger equals the exchange.

Two layers: (1) in-process crashes at every named checkpoint (the OMS instance is abandoned mid-call, exactly as a
dead process leaves the ledger); (2) real SIGKILLs of a separate OMS process — at each checkpoint and at random
moments — against the simulator over loopback HTTP, on a DuckDB file and on Postgres.
"""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database, connect
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import (
    KEY_ID,
    active_tickers,
    check_invariants,
    crossing_intent,
    intent_to_json,
    resting_intent,
)

WORKER = Path(__file__).with_name("_oms_crash_worker.py")
CREATE_PATH = r"/portfolio/events/orders$"


class _Crash(BaseException):
    """Stands in for process death: nothing after the checkpoint runs."""


def _crash_at(point: str):
    def checkpoint(name: str) -> None:
        if name == point:
            raise _Crash(name)

    return checkpoint


@pytest.mark.parametrize("point", ["intent_committed", "before_send", "outcome_unknown", "after_send_before_write"])
def test_crash_at_each_step_then_restart_gives_exactly_one_order(
    db: Database, sim, clock: SimulatedClock, point: str
) -> None:
    ticker = active_tickers(sim, clock)[0]
    intent = resting_intent(ticker, 1)
    if point == "outcome_unknown":  # the exchange accepts, the response is lost, and we die right then
        sim.faults.fail_next(CREATE_PATH, kind="accept_then_drop", count=1)
    with sim.client(clock) as client:
        doomed = OrderManager(db, client, clock, registry=default_registry(), checkpoint=_crash_at(point))
        doomed.reconcile()
        with pytest.raises(_Crash):
            doomed.submit(intent)
    expected_on_exchange = point in ("outcome_unknown", "after_send_before_write")
    clock.advance(timedelta(minutes=2))  # the restart takes a while: no request of the dead process is in flight
    with sim.client(clock) as client:
        assert len(list(client.iter_orders())) == int(expected_on_exchange)
        restarted = OrderManager(db, client, clock, registry=default_registry())
        report = restarted.reconcile()
        assert report.ok, report.discrepancies
        restarted.resume_pending()
        again = restarted.submit(intent)  # the runtime re-deciding the same intent after restart
        assert again.status == "existing", again
        orders = list(client.iter_orders())
        assert len(orders) == 1 and orders[0].client_order_id == again.client_order_id
        check_invariants(db, client)
        kinds = {e["detail"].get("discrepancy") for e in db.query("SELECT detail FROM ops.risk_events")}
        assert "orphan_order" not in kinds and "position_mismatch" not in kinds


def _run_worker(args: list[str], kill_after: float | None) -> tuple[int, str]:
    proc = subprocess.Popen([sys.executable, str(WORKER), *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    out, err = proc.communicate(timeout=120)
    return proc.returncode, out + err


def test_sigkill_at_every_step_and_at_random_keeps_one_order_per_intent(
    db_url: str, sim, clock: SimulatedClock, tmp_path: Path
) -> None:
    rng = random.Random(20261124)
    tickers = active_tickers(sim, clock)
    intents = [resting_intent(t, i) for i, t in enumerate(tickers[:10])]
    intents += [crossing_intent(t, i) for i, t in enumerate(tickers[10:14])]
    plan = tmp_path / "plan.json"
    plan.write_text(json.dumps([intent_to_json(i) for i in intents]))
    def base() -> list[str]:  # each (re)start happens two minutes later, on the simulator's clock too
        clock.advance(timedelta(minutes=2))
        return ["--db-url", db_url, "--base-url", sim.url, "--key-id", KEY_ID, "--key-file", str(sim.key_path),
                "--plan", str(plan), "--clock", clock.now().isoformat()]

    schedule = [("intent_committed:2", None), ("before_send:3", None), ("outcome_unknown:1", "accept"),
                ("in_flight:2", "slow_create"), ("after_send_before_write:2", None),
                ("after_send_before_write:5", None)]
    schedule += [(None, rng.uniform(0.8, 3.0)) for _ in range(3)]
    kills = Counter()
    for crash_at, extra in schedule:
        args = base()
        kill_after = None
        if crash_at:
            args += ["--crash-at", crash_at]
        if extra == "accept":
            sim.faults.fail_next(CREATE_PATH, kind="accept_then_drop", count=1)
        elif extra == "slow_create":   # every create of this run is held 1.5 s: the worker dies mid-request
            sim.faults.fail_next(CREATE_PATH, kind="latency", count=50, seconds=1.5)
        elif isinstance(extra, float):
            kill_after = extra
        code, output = _run_worker(args, kill_after)
        assert code in (0, -signal.SIGKILL), output
        kills["killed" if code == -signal.SIGKILL else "finished"] += 1
        if extra == "slow_create":
            sim.server.wait(1.5)       # the in-flight create lands after its sender died
            sim.faults.clear()
            assert code == -signal.SIGKILL
            with connect(db_url) as ledger, sim.client(clock) as client:
                on_exchange = {o.client_order_id for o in client.iter_orders()}
                in_flight = [r["client_order_id"] for r in
                             ledger.query("SELECT client_order_id FROM ops.orders WHERE state = 'submitted'")]
            assert in_flight and set(in_flight) <= on_exchange, (in_flight, on_exchange)
    code, output = _run_worker(base(), None)  # the final, undisturbed run completes the plan
    assert code == 0, output
    assert json.loads(output.strip().splitlines()[-1])["ok"] is True
    assert kills["killed"] >= 5, kills
    with sim.client(clock) as client, connect(db_url) as db:
        orders = list(client.iter_orders())
        ledger = {r["client_order_id"]: r["intent_key"] for r in db.query("SELECT * FROM ops.orders")}
        per_intent = Counter(ledger[o.client_order_id] for o in orders)
        assert set(per_intent) == {i.intent_key for i in intents}
        duplicates = sum(n - 1 for n in per_intent.values())
        assert duplicates == 0, per_intent
        counts = check_invariants(db, client)
        positions = {p.ticker: str(p.position) for p in client.iter_positions() if p.position != 0}
        print("\nOMS_CRASH " + json.dumps({
            "engine": db.engine, "intents": len(intents), "runs": len(schedule) + 1, "kills": kills["killed"],
            "killed_at": [c or "random" for c, _ in schedule], "exchange_orders": len(orders),
            "duplicates": duplicates, "orphans": 0, "fills": counts["fills"], "positions_equal": True,
            "exchange_positions": len(positions)}, sort_keys=True))
