"""Ledger summaries for the operator: status, positions, P&L (one screen each). Read-only."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database

ZERO = Decimal(0)


def _d(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


def pnl_summary(db: Database, *, include_fill: Callable[[dict[str, Any]], bool] | None = None) -> dict[str, Any]:
    """Cash-basis P&L from the ledger: settlement revenue + netted pairs − cost of fills − fees.

    Kalshi nets YES against NO in one market: each YES+NO pair held is closed for $1 at once, so buying NO
    while holding YES returns cash before settlement. `realized_after_fees` covers settled markets only;
    `open_cost` is what is still at stake in unsettled markets (cost − netted pairs).
    """
    settled = {r["ticker"]: _d(r["revenue"]) for r in db.query("SELECT ticker, revenue FROM ops.settlements")}
    fills = db.query("SELECT ticker, side, action, count, price, fee, filled_at FROM ops.fills")
    if include_fill is not None:  # e.g. the go-live gate: only fills inside DEMO runs
        fills = [f for f in fills if include_fill(f)]
    per_ticker: dict[str, dict[str, Decimal]] = {}
    contracts = ZERO
    for f in fills:
        t = per_ticker.setdefault(f["ticker"], {"yes": ZERO, "no": ZERO, "cost": ZERO, "fees": ZERO})
        sign = 1 if f["action"] == "buy" else -1
        t[f["side"]] += sign * _d(f["count"])
        t["cost"] += sign * _d(f["count"]) * _d(f["price"])
        t["fees"] += _d(f["fee"])
        contracts += _d(f["count"])
    totals = {"cost": ZERO, "fees": ZERO, "netted": ZERO}
    realized = open_cost = ZERO
    for ticker, t in per_ticker.items():
        netted = max(min(t["yes"], t["no"]), ZERO)  # $1 back per YES+NO pair
        totals["cost"] += t["cost"]
        totals["fees"] += t["fees"]
        totals["netted"] += netted
        if ticker in settled:
            realized += settled[ticker] + netted - t["cost"] - t["fees"]
        else:
            open_cost += t["cost"] - netted
    revenue = sum(settled.values(), ZERO)
    return {
        "fills": len(fills), "contracts": contracts, "cost": totals["cost"], "fees": totals["fees"],
        "revenue": revenue, "netted": totals["netted"],
        "settled_markets": sum(1 for t in per_ticker if t in settled),
        "realized_after_fees": realized, "open_cost": open_cost,
        "pnl_after_fees": revenue + totals["netted"] - totals["cost"] - totals["fees"],
    }


def positions(db: Database) -> list[dict[str, Any]]:
    return db.query("SELECT ticker, city_code, climate_day, position, cost_basis, fees_paid, realized_pnl, updated_at"
                    " FROM ops.positions WHERE position <> 0 ORDER BY climate_day, ticker")


def status(db: Database, now: datetime) -> dict[str, Any]:
    state = db.query_one("SELECT state, kill_switch, reason, set_by, set_at, until_at FROM ops.trading_state"
                         " ORDER BY id DESC LIMIT 1")
    beats = db.query("SELECT component, run_id, beat_at, status, detail FROM ops.heartbeats ORDER BY component")
    run = db.query_one("SELECT run_id, component, mode, started_at, stopped_at, exit_reason FROM ops.runs"
                       " ORDER BY run_id DESC LIMIT 1")
    open_orders = db.query("SELECT state, COUNT(*) AS n FROM ops.orders WHERE state NOT IN"
                           " ('filled', 'canceled', 'rejected', 'closed', 'expired') GROUP BY state ORDER BY state")
    risk = db.query("SELECT occurred_at, kind, severity, city_code, message FROM ops.risk_events"
                    " ORDER BY id DESC LIMIT 5")
    pos = positions(db)
    exposure = sum((_d(p["cost_basis"]) for p in pos), ZERO)
    return {
        "now": now, "trading_state": state or {"state": "ACTIVE", "kill_switch": False, "reason": "default"},
        "last_run": run, "heartbeats": beats, "open_orders": {r["state"]: int(r["n"]) for r in open_orders},
        "positions": len(pos), "exposure_cost": exposure, "recent_risk_events": risk,
        "decisions": int(db.scalar("SELECT COUNT(*) FROM ops.decisions")),
        "pnl": pnl_summary(db),
    }
