"""The go/no-go report LIVE trading requires, computed from the ledger of the demo period.

Checks: (1) no duplicate orders — at most one exchange order per intent version and per client order id,
across all runs (restarts included); (2) limits fired correctly — limits did fire (risk events exist) and no
order was sent while the trading state was HALTED; (3) stable — at least `min_hours` since the last crash
(a run that ended `crashed` or never recorded its end) and heartbeats still current; (4) positive expectancy
after costs over at least `min_settled` settled markets traded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.runtime.reports import pnl_summary


@dataclass
class Check:
    name: str
    passed: bool
    detail: str


@dataclass
class GoLiveReport:
    modes: tuple[str, ...]
    checks: list[Check] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(c.passed for c in self.checks)

    def lines(self) -> list[str]:
        out = [f"go/no-go report (runs in mode: {', '.join(self.modes)})"]
        out += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        out.append(f"  => {'GO' if self.passed else 'NO-GO'}")
        return out


def _duplicates(db: Database) -> Check:
    per_version = db.query("SELECT intent_key, intent_version, COUNT(*) AS n FROM ops.orders"
                           " WHERE exchange_order_id IS NOT NULL GROUP BY intent_key, intent_version HAVING COUNT(*) > 1")
    per_exchange_id = db.scalar("SELECT COUNT(*) FROM (SELECT exchange_order_id FROM ops.orders WHERE exchange_order_id"
                                " IS NOT NULL GROUP BY exchange_order_id HAVING COUNT(*) > 1) AS d")
    open_per_intent = db.scalar(
        "SELECT COUNT(*) FROM (SELECT intent_key FROM ops.orders WHERE state IN ('submitted', 'unknown', 'resting',"
        " 'partial') GROUP BY intent_key HAVING COUNT(*) > 1) AS d")
    runs = int(db.scalar("SELECT COUNT(*) FROM ops.runs WHERE component = 'daemon'") or 0)
    orders = int(db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL") or 0)
    bad = len(per_version) + int(per_exchange_id or 0) + int(open_per_intent or 0)
    return Check("no duplicate orders across restarts", bad == 0 and orders > 0 and runs >= 2,
                 f"{orders} orders over {runs} daemon runs; {bad} duplicate groups"
                 + ("" if runs >= 2 else " (needs at least one restart to prove it)")
                 + ("" if orders else " (no orders yet)"))


def _state_at(history: list[dict[str, Any]], instant: datetime) -> str:
    state = "ACTIVE"
    for row in history:
        if row["set_at"] > instant:
            break
        state = row["state"]
    return state


def _limits(db: Database) -> Check:
    fired = {r["kind"]: int(r["n"]) for r in db.query(
        "SELECT kind, COUNT(*) AS n FROM ops.risk_events GROUP BY kind")}
    history = db.query("SELECT state, set_at FROM ops.trading_state ORDER BY set_at, id")
    sent = db.query("SELECT client_order_id, sent_at FROM ops.orders WHERE sent_at IS NOT NULL ORDER BY sent_at")
    while_halted = [o["client_order_id"] for o in sent if _state_at(history, o["sent_at"]) == "HALTED"]
    limit_kinds = {k: n for k, n in fired.items() if k in ("cap_breach", "loss_limit", "breaker", "stale_data",
                                                           "kill_switch", "trading_state")}
    ok = bool(limit_kinds) and not while_halted
    return Check("limits fired correctly", ok,
                 f"fired {limit_kinds or 'none'}; orders sent while HALTED: {len(while_halted)}")


def _stability(db: Database, now: datetime, modes: tuple[str, ...], min_hours: float) -> Check:
    marks = ", ".join("?" * len(modes))
    runs = db.query(f"SELECT run_id, started_at, stopped_at, exit_reason FROM ops.runs WHERE component = 'daemon'"
                    f" AND mode IN ({marks}) ORDER BY run_id", list(modes))
    if not runs:
        return Check("72 h without a crash", False, "no daemon runs in these modes")
    latest_id = runs[-1]["run_id"]
    crashes = [r for r in runs if r["exit_reason"] == "crashed" or (r["stopped_at"] is None and r["run_id"] != latest_id)]
    since = max((r["stopped_at"] or r["started_at"] for r in crashes), default=runs[0]["started_at"])
    beat = db.scalar("SELECT MAX(beat_at) FROM ops.heartbeats WHERE component = 'daemon'")
    until = beat or runs[-1]["stopped_at"] or runs[-1]["started_at"]
    hours = max(0.0, (until - since).total_seconds() / 3600)
    stale_beat = runs[-1]["stopped_at"] is None and beat is not None and now - beat > timedelta(minutes=30)
    ok = hours >= min_hours and not stale_beat
    return Check(f"{min_hours:g} h without a crash", ok,
                 f"{hours:.1f} h stable since {since:%Y-%m-%d %H:%MZ}; {len(crashes)} crash(es) in {len(runs)} runs"
                 + ("; heartbeat stale" if stale_beat else ""))


def _expectancy(db: Database, min_settled: int) -> Check:
    pnl = pnl_summary(db)
    n = pnl["settled_markets"]
    per_market = pnl["realized_after_fees"] / n if n else Decimal(0)
    ok = n >= min_settled and pnl["realized_after_fees"] > 0
    return Check("positive expectancy after costs", ok,
                 f"realized ${pnl['realized_after_fees']:.2f} after ${pnl['fees']:.2f} fees over {n} settled markets"
                 f" (${per_market:.4f}/market; need >0 over >= {min_settled})")


def golive_report(db: Database, now: datetime, *, modes: tuple[str, ...] = ("demo",), min_hours: float = 72.0,
                  min_settled: int = 20) -> GoLiveReport:
    report = GoLiveReport(modes)
    report.checks = [_duplicates(db), _limits(db), _stability(db, now, modes, min_hours), _expectancy(db, min_settled)]
    return report
