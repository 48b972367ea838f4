"""≥200 intents under randomly injected exchange faults (timeouts, resets, 5xx, 429, latency — including latency
longer than the client's timeout, so the order lands after we gave up — and accepted-then-dropped responses):
zero duplicate orders, zero orphans, every intent resolved, and a clean final reconciliation.

Prints one summary line (run with -s to see it): intents, versions, faults injected by kind, duplicates, orphans.
"""

from __future__ import annotations

import json
import random
import sys
from collections import Counter
from dataclasses import replace
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database
from daemon.trading.oms import OmsPolicy, OrderManager
from daemon.trading.order_state import OPEN_STATES, UNCERTAIN_STATES

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import active_tickers, check_invariants, crossing_intent, resting_intent, running_sim

CLIENT_TIMEOUT_S = 0.3
# kind → seconds the simulator holds the request (None: the kind's own behaviour)
FAULT_KINDS = {"timeout": 0.6, "reset": None, "500": None, "429": None, "accept_then_drop": None,
               "latency": 0.02, "late": 0.45}   # late = latency beyond the client timeout: processed after we gave up
PATHS = {"create": r"^/portfolio/events/orders$", "list": r"^/portfolio/orders$", "get": r"^/portfolio/orders/[^/]+$",
         "cancel": r"^/portfolio/events/orders/[^/]+$"}
N_INTENTS = 210
FAULT_RATE = 0.4


def _inject(rng: random.Random, faults) -> str | None:
    if rng.random() > FAULT_RATE:
        return None
    kind = rng.choice(sorted(FAULT_KINDS))
    target = "create" if kind in ("accept_then_drop", "late") else rng.choice(("create", "create", "list", "get",
                                                                               "cancel"))
    wire_kind = "latency" if kind == "late" else kind
    faults.fail_next(PATHS[target], kind=wire_kind, count=1, seconds=FAULT_KINDS[kind])
    return f"{target}:{kind}"


def test_200_intents_under_random_faults(pg_db: Database, clock: SimulatedClock, tmp_path: Path) -> None:
    # Postgres (production's engine; ~10x cheaper per statement than DuckDB, which the crash tests also cover).
    db = pg_db
    rng = random.Random(5)
    with running_sim(clock, tmp_path) as sim, sim.client(clock, timeout=CLIENT_TIMEOUT_S) as client:
        tickers = active_tickers(sim, clock)
        oms = OrderManager(db, client, clock, registry=default_registry(),
                           policy=OmsPolicy(reprice_seconds=30, max_chase_cents=5))
        assert oms.reconcile().ok
        intents = [crossing_intent(tickers[i % len(tickers)], i, count="1") if i % 7 == 0
                   else resting_intent(tickers[i % len(tickers)], i, price=rng.choice(("0.01", "0.02", "0.03")))
                   for i in range(N_INTENTS)]
        injected: Counter[str] = Counter()
        for intent in intents:
            if (fault := _inject(rng, sim.faults)) is not None:
                injected[fault] += 1
            oms.submit(intent)
        clock.advance(timedelta(seconds=31))
        repriced = intents[1::9]
        for intent in repriced:  # reprices (cancel, then a new version) under faults too
            if (fault := _inject(rng, sim.faults)) is not None:
                injected[fault] += 1
            cheaper = intent.limit_price < Decimal("0.5")
            oms.submit(replace(intent, limit_price=intent.limit_price + Decimal("0.01")) if cheaper else intent)
        sim.faults.clear()
        sim.server.wait(max(s for s in FAULT_KINDS.values() if s))   # late requests land while we resolve
        clock.advance(timedelta(seconds=oms.policy.late_arrival_grace_seconds + 1))
        rounds = 0
        for rounds in range(1, 9):  # quiet rounds: lost outcomes resolved by lookup, unsent ones re-sent, same id
            oms.resume_pending()
            if not [r for r in oms.store.open_orders() if r["state"] in UNCERTAIN_STATES | {"new"}]:
                break
        oms.refresh()
        report = oms.reconcile()
        assert report.ok, [d.message for d in report.unexplained]
        assert sum(injected.values()) >= 60, injected
        assert {k.split(":")[1] for k in injected} == set(FAULT_KINDS), injected
        rows = db.query("SELECT intent_key, intent_version, state FROM ops.orders")
        assert not [r for r in rows if r["state"] in UNCERTAIN_STATES | {"new"}], "unresolved intents remain"
        live = Counter(r["intent_key"] for r in rows if r["state"] in OPEN_STATES)
        assert all(n <= 1 for n in live.values())
        assert {r["intent_key"] for r in rows} == {i.intent_key for i in intents}
        counts = check_invariants(db, client)      # asserts zero duplicates, zero orphans, ledger == exchange
        exchange = list(client.iter_orders())
        duplicates = sum(n - 1 for n in Counter(o.client_order_id for o in exchange).values())
        assert counts["exchange_orders"] >= N_INTENTS and duplicates == 0
        print("\nOMS_FAULTS " + json.dumps({
            "intents": N_INTENTS, "order_versions": len(rows), "exchange_orders": len(exchange),
            "faults_injected": sum(injected.values()), "by_kind": dict(sorted(injected.items())),
            "duplicates": duplicates, "orphans": 0, "unresolved": 0, "resolve_rounds": rounds,
            "fills": counts["fills"]}, sort_keys=True))
