"""The go/no-go report LIVE trading requires, computed from the ledger of the DEMO period only.

The owner's playbook (specs/11_DEMO_TO_LIVE_PLAYBOOK.md, "Demo-to-Live Playbook (10-day)"; PRD §4: "trading
starts in demo for 10 days") asks for: no duplicate orders on restart, risk limits work, stable 72 h, positive
expectancy after costs in the demo sample. Every check reads only what happened inside a daemon run in the gate's
modes (DEMO; SHADOW only with the rehearsal flag): a record belongs to the run whose time window holds it (from
its start to its stop, or to the next run's start when it never recorded one). Checks:
(1) demo duration — at least `min_days` of daemon runs;
(2) no duplicate orders — at most one exchange order per intent version and per exchange id, at most one open
    order per intent, over at least two runs (a restart);
(3) limits work — EVERY cap, loss limit and breaker fired at least once, and correctly: a clipped order never
    exceeded what the cap allowed, a halting limit halted (reducing: reduced), no order was sent for a city
    while its data was stale, and none at all while HALTED. A limit that cannot occur by itself in 10 days is
    drilled in demo (deploy/RUNBOOK.md "Going live"); there is no attestation path;
(4) stable — at least `min_hours` since the last crash, heartbeat current;
(5) positive expectancy after costs, measured twice, both required: over at least `min_settled` settled markets
    traded in demo (the DEMO-mode record), and in the backtest of the latest recorded window with the same
    configuration (the `result.json` `milkbot backtest` stores under `<data dir>/backtests/`,
    `daemon.backtest.stored`); the check names which backtest it used, or that none was found.
Read-only.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.backtest.stored import Lookup
from daemon.ledger.db import Database
from daemon.runtime.reports import pnl_summary

PLAYBOOK_DAYS = 10.0
CAPS = ("per_trade", "max_contracts", "per_event", "per_city", "per_cluster", "open_risk")
LOSS_LIMITS = {"daily_loss": "HALTED", "weekly_loss": "REDUCING", "monthly_loss": "HALTED"}
BREAKERS = ("reject_breaker", "db_failure", "auth_failure")
LIMITS = (*CAPS, *LOSS_LIMITS, *BREAKERS, "stale_data", "kill_switch")


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
        out = [f"go/no-go report (runs in mode: {', '.join(self.modes)}; nothing outside them is counted)"]
        out += [f"  [{'PASS' if c.passed else 'FAIL'}] {c.name}: {c.detail}" for c in self.checks]
        out.append(f"  => {'GO' if self.passed else 'NO-GO'}")
        return out


@dataclass(frozen=True)
class Window:
    run_id: int
    start: datetime
    end: datetime               # stop, else the next daemon run's start, else now

    def holds(self, moment: datetime | None) -> bool:
        return moment is not None and self.start <= moment <= self.end


def _windows(db: Database, now: datetime, modes: tuple[str, ...]) -> list[Window]:
    runs = db.query("SELECT run_id, mode, started_at, stopped_at FROM ops.runs WHERE component = 'daemon'"
                    " ORDER BY started_at, run_id")
    out = []
    for i, run in enumerate(runs):
        if run["mode"] not in modes:
            continue
        following = runs[i + 1]["started_at"] if i + 1 < len(runs) else None
        end = run["stopped_at"] or following or now
        out.append(Window(int(run["run_id"]), run["started_at"], min(end, following or end)))
    return out


def _inside(windows: list[Window], moment: datetime | None) -> bool:
    return any(w.holds(moment) for w in windows)


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("detail")
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value or {}


# -- (1) duration ---------------------------------------------------------------------------------------------
def _duration(db: Database, windows: list[Window], min_days: float) -> Check:
    name = f"{min_days:g} days of demo trading (playbook)"
    if not windows:
        return Check(name, False, "no daemon runs in these modes")
    beat = db.scalar("SELECT MAX(beat_at) FROM ops.heartbeats WHERE component = 'daemon'")
    seconds = 0.0
    for w in windows:
        end = w.end
        if w is windows[-1] and beat is not None and w.start <= beat < end:
            end = beat                                  # the run still going: up to its last sign of life
        seconds += max(0.0, (end - w.start).total_seconds())
    days = seconds / 86400
    return Check(name, days >= min_days, f"{days:.1f} d of daemon runs since {windows[0].start:%Y-%m-%d %H:%MZ}"
                 f" (need >= {min_days:g} d)")


# -- (2) duplicates -------------------------------------------------------------------------------------------
def _orders(db: Database, windows: list[Window]) -> list[dict[str, Any]]:
    rows = db.query("SELECT client_order_id, exchange_order_id, intent_key, intent_version, city_code, count, state,"
                    " created_at, sent_at FROM ops.orders ORDER BY id")
    return [r for r in rows if _inside(windows, r["sent_at"] or r["created_at"])]


def _duplicates(orders: list[dict[str, Any]], windows: list[Window]) -> Check:
    sent = [o for o in orders if o["exchange_order_id"] is not None]
    bad = _repeats((o["intent_key"], o["intent_version"]) for o in sent) + _repeats(
        o["exchange_order_id"] for o in sent) + _repeats(
        o["intent_key"] for o in orders if o["state"] in ("submitted", "unknown", "resting", "partial"))
    runs = len(windows)
    return Check("no duplicate orders across restarts", bad == 0 and len(sent) > 0 and runs >= 2,
                 f"{len(sent)} orders over {runs} daemon runs; {bad} duplicate groups"
                 + ("" if runs >= 2 else " (needs at least one restart to prove it)")
                 + ("" if sent else " (no orders yet)"))


def _repeats(keys: Iterable[Any]) -> int:
    seen: dict[Any, int] = {}
    for key in keys:
        seen[key] = seen.get(key, 0) + 1
    return sum(1 for n in seen.values() if n > 1)


# -- (3) limits -----------------------------------------------------------------------------------------------
def _state_at(history: list[dict[str, Any]], instant: datetime) -> str:
    """The trading state in force at `instant` (a timed row counts only until its until_at)."""
    current = None
    for row in history:
        if row["set_at"] > instant:
            break
        current = row
    if current is None:
        return "ACTIVE"
    if current["kill_switch"] or current["until_at"] is None or instant < current["until_at"]:
        return current["state"]
    return "ACTIVE"


def _halted_at(history: list[dict[str, Any]], instant: datetime) -> bool:
    return _state_at(history, instant) == "HALTED"


_RANK = {"ACTIVE": 0, "REDUCING": 1, "HALTED": 2}
_SETTLE = timedelta(seconds=1)  # the state row is written in the same step as the event
_SAME_STEP = timedelta(seconds=5)  # an order created for a clipped intent right after the check (wall clock)


def _limits(db: Database, windows: list[Window], orders: list[dict[str, Any]]) -> Check:
    events = [r | {"detail": _detail(r)} for r in db.query(
        "SELECT occurred_at, kind, city_code, intent_key, detail FROM ops.risk_events ORDER BY id")
        if _inside(windows, r["occurred_at"])]
    history = db.query("SELECT state, kill_switch, set_by, set_at, until_at FROM ops.trading_state"
                       " ORDER BY set_at, id")
    fired: dict[str, int] = {}
    wrong: dict[str, str] = {}

    def fire(limit: str, problem: str | None = None) -> None:
        fired[limit] = fired.get(limit, 0) + 1
        if problem and limit not in wrong:
            wrong[limit] = problem

    for e in events:
        d, kind = e["detail"], e["kind"]
        limit = d.get("limit")
        if kind == "cap_breach" and limit in CAPS:
            fire(limit, _cap_problem(e, orders))
        elif kind == "loss_limit" and limit in LOSS_LIMITS:
            state = LOSS_LIMITS[limit]
            ok = _RANK[_state_at(history, e["occurred_at"] + _SETTLE)] >= _RANK[state]
            fire(limit, None if ok else f"trading was not {state} after it")
        elif kind == "breaker" and limit in BREAKERS:
            ok = _halted_at(history, e["occurred_at"] + _SETTLE)
            fire(limit, None if ok else "trading was not HALTED after it")
        elif kind == "stale_data" and d.get("actual") != "fresh" and e["city_code"]:
            fire("stale_data", _stale_problem(e, events, orders))
        elif kind == "kill_switch" and d.get("actual") == "on":
            ok = _halted_at(history, e["occurred_at"] + _SETTLE)
            fire("kill_switch", None if ok else "trading was not HALTED after it")
    while_halted = [o["client_order_id"] for o in orders if o["sent_at"] is not None
                    and _halted_at(history, o["sent_at"])]
    missing = [name for name in LIMITS if name not in fired]
    ok = not missing and not wrong and not while_halted
    parts = [f"fired correctly: {', '.join(f'{k} {n}' for k, n in fired.items() if k not in wrong) or 'none'}"]
    if missing:
        parts.append(f"never fired in demo (drill them): {', '.join(missing)}")
    if wrong:
        parts.append("fired wrongly: " + "; ".join(f"{k} ({why})" for k, why in wrong.items()))
    parts.append(f"orders sent while HALTED: {len(while_halted)}")
    return Check("every limit fired correctly", ok, "; ".join(parts))


def _cap_problem(event: dict[str, Any], orders: list[dict[str, Any]]) -> str | None:
    d = event["detail"]
    try:
        max_count = Decimal(str(d["max_count"]))
    except (KeyError, ArithmeticError, ValueError):
        return None
    for o in orders:
        if (o["intent_key"] == event["intent_key"]
                and event["occurred_at"] <= o["created_at"] <= event["occurred_at"] + _SAME_STEP
                and o["exchange_order_id"] is not None and Decimal(str(o["count"])) > max_count):
            return f"order {o['client_order_id']} for {o['count']} > allowed {max_count}"
    return None


def _stale_problem(event: dict[str, Any], events: list[dict[str, Any]], orders: list[dict[str, Any]]) -> str | None:
    city, since = event["city_code"], event["occurred_at"]
    fresh = [e["occurred_at"] for e in events if e["kind"] == "stale_data" and e["city_code"] == city
             and e["detail"].get("actual") == "fresh" and e["occurred_at"] > since]
    until = min(fresh) if fresh else None
    for o in orders:
        sent = o["sent_at"]
        if o["city_code"] == city and sent is not None and since < sent and (until is None or sent < until):
            return f"order {o['client_order_id']} sent for {city} while its data was stale"
    return None


# -- (4) stability, (5) expectancy ----------------------------------------------------------------------------
def _stability(db: Database, now: datetime, modes: tuple[str, ...], min_hours: float) -> Check:
    marks = ", ".join("?" * len(modes))
    runs = db.query(f"SELECT run_id, started_at, stopped_at, exit_reason FROM ops.runs WHERE component = 'daemon'"
                    f" AND mode IN ({marks}) ORDER BY run_id", list(modes))
    if not runs:
        return Check(f"{min_hours:g} h without a crash", False, "no daemon runs in these modes")
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


def _expectancy(db: Database, windows: list[Window], min_settled: int, backtest: Lookup | None) -> Check:
    pnl = pnl_summary(db, include_fill=lambda f: _inside(windows, f["filled_at"]))
    n = pnl["settled_markets"]
    per_market = pnl["realized_after_fees"] / n if n else Decimal(0)
    demo_ok = n >= min_settled and pnl["realized_after_fees"] > 0
    demo = (f"{'+' if demo_ok else '-'} record of these runs: realized ${pnl['realized_after_fees']:.2f} after "
            f"${pnl['fees']:.2f} fees over {n} settled markets (${per_market:.4f}/market; need >0 over >= "
            f"{min_settled})")
    found = backtest.found if backtest is not None else None
    if found is None:
        bt_ok = False
        why = "no stored backtest with this configuration under <data dir>/backtests (run `milkbot backtest`" \
              " on the latest recorded window)"
        if backtest is not None and backtest.other_config:
            why += f"; {backtest.other_config} stored for another configuration, not used"
        bt = f"- backtest: {why}"
    else:
        bt_ok = found.pnl_after_fees > 0 and found.fills > 0
        bt = (f"{'+' if bt_ok else '-'} backtest of the latest recorded window {found.label}: "
              f"${found.pnl_after_fees:.2f} after ${found.fees:.2f} fees over {found.fills} fills, {found.days} days"
              " (need >0)")
    return Check("positive expectancy after costs (demo record and backtest)", demo_ok and bt_ok, f"{demo}; {bt}")


def golive_report(db: Database, now: datetime, *, modes: tuple[str, ...] = ("demo",), min_hours: float = 72.0,
                  min_settled: int = 20, min_days: float = PLAYBOOK_DAYS,
                  backtest: Lookup | None = None) -> GoLiveReport:
    """`backtest`: `daemon.backtest.stored.latest_backtest(data dir, config hash)`; None = none looked up (fails)."""
    report = GoLiveReport(modes)
    windows = _windows(db, now, modes)
    orders = _orders(db, windows)
    report.checks = [_duration(db, windows, min_days), _duplicates(orders, windows), _limits(db, windows, orders),
                     _stability(db, now, modes, min_hours), _expectancy(db, windows, min_settled, backtest)]
    return report
