"""Crash-test worker: one daemon-like process running the OMS against a simulator over loopback HTTP.

Run as a script by tests/trading/test_crash_oms.py. It reconciles first, resumes committed-but-unsent orders,
then submits every intent of the plan (idempotently). With `--crash-at POINT:N` it SIGKILLs itself the N-th time
the OMS reaches checkpoint POINT — a real, uncatchable kill at an exact step; the parent also kills it at random
moments. Exit 0 = plan done; prints one JSON summary line.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from collections import Counter
from datetime import date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.signing import load_private_key
from daemon.ledger.db import connect
from daemon.trading.intents import Intent
from daemon.trading.oms import OrderManager
from daemon.trading.order_state import UNCERTAIN_STATES


def load_plan(path: Path) -> list[Intent]:
    return [
        Intent(intent_key=i["intent_key"], ticker=i["ticker"], city_code=i["city_code"],
               climate_day=date.fromisoformat(i["climate_day"]), side=i["side"], action=i["action"],
               count=Decimal(i["count"]), limit_price=Decimal(i["limit_price"]))
        for i in json.loads(path.read_text())
    ]


IN_FLIGHT_DELAY_S = 0.3   # the parent makes the simulator hold that create longer than this


def make_checkpoint(spec: str | None):
    """`POINT:N` kills at the N-th visit of checkpoint POINT. `in_flight:N` kills DURING the N-th create request:
    a timer fires while the HTTP call is outstanding (the simulator delays it), so the exchange processes an
    order whose sender is already dead."""
    counts: Counter[str] = Counter()
    point, nth = (spec.split(":") if spec else (None, "0"))

    def die() -> None:
        os.kill(os.getpid(), signal.SIGKILL)

    def checkpoint(name: str) -> None:
        counts[name] += 1
        if point == "in_flight" and name == "before_send" and counts[name] == int(nth):
            threading.Timer(IN_FLIGHT_DELAY_S, die).start()
        elif name == point and counts[name] == int(nth):
            die()

    return checkpoint


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db-url", required=True)
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--key-id", required=True)
    parser.add_argument("--key-file", required=True)
    parser.add_argument("--plan", required=True)
    parser.add_argument("--clock", required=True)
    parser.add_argument("--crash-at", default=None)
    args = parser.parse_args()

    clock = SimulatedClock(datetime.fromisoformat(args.clock))
    db = connect(args.db_url)
    client = KalshiClient(args.base_url, args.key_id, load_private_key(Path(args.key_file)), clock, timeout=5.0)
    oms = OrderManager(db, client, clock, registry=default_registry(), checkpoint=make_checkpoint(args.crash_at))
    report = oms.reconcile()
    if not report.complete:
        print(json.dumps({"error": report.error}))
        return 4
    oms.resume_pending(max_age=timedelta(days=365))
    statuses: Counter[str] = Counter()
    for intent in load_plan(Path(args.plan)):
        statuses[oms.submit(intent).status] += 1
    for _ in range(5):  # lost outcomes are resolved by lookup, then re-sent with the same id
        pending = [o for o in oms.store.open_orders() if o["state"] in UNCERTAIN_STATES | {"new"}]
        if not pending:
            break
        oms.resume_pending(max_age=timedelta(days=365))
    final = oms.reconcile()
    print(json.dumps({"statuses": statuses, "ok": final.ok,
                      "discrepancies": [d.kind for d in final.unexplained]}))
    db.close()
    client.close()
    return 0 if final.ok else 3


if __name__ == "__main__":
    sys.exit(main())
