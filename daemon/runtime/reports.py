"""Ledger summaries for the operator: status, positions, P&L (one screen each). Read-only."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.trading.intents import book_side_and_yes_price

ZERO = Decimal(0)
ONE = Decimal(1)
CENT = Decimal("0.01")
MICRO = Decimal("0.000001")


def _d(value: Any) -> Decimal:
    return ZERO if value is None else Decimal(str(value))


@dataclass
class _Market:
    """One market's fills replayed as the exchange books them (sim engine `_apply_fill`)."""

    position: Decimal = ZERO  # signed YES contracts (NO held is negative)
    cost: Decimal = ZERO      # cost basis held, at average cost as the exchange keeps it
    paid: Decimal = ZERO      # Σ contracts bought × price paid (a sale buys the other side)
    netting: Decimal = ZERO   # $1 per YES+NO pair closed out against each other
    fees: Decimal = ZERO


def _replay(fill: dict[str, Any], m: _Market) -> None:
    count = _d(fill["count"])
    book_side, yes_price = book_side_and_yes_price(
        str(fill["side"]), str(fill["action"]), _d(fill["price"]))
    paid = yes_price if book_side == "bid" else ONE - yes_price
    held_against = -m.position if book_side == "bid" else m.position
    closing = min(count, max(held_against, ZERO))
    if closing > ZERO:  # buy the other side at `paid`, redeem each pair for $1 at once
        average_cost = m.cost / abs(m.position)
        m.cost -= average_cost * closing if closing < abs(m.position) else m.cost
        m.netting += closing
    m.cost += (count - closing) * paid
    m.paid += count * paid
    m.position += count if book_side == "bid" else -count
    m.fees += _d(fill["fee"])


def pnl_summary(db: Database, *, include_fill: Callable[[dict[str, Any]], bool] | None = None
                ) -> dict[str, Any]:
    """The one P&L definition, booked as Kalshi books cash (and the simulator, which follows it):

        settlement revenue + netting revenue − cost of closed contracts − fees = realized P&L
        realized P&L − open cost                                               = cash P&L

    (both after fees). Every fill pays its side's price (selling YES at p is buying NO at 1 − p).
    A YES and a NO contract held in one market are closed out against each other for $1 at once
    (netting revenue), releasing their cost at average cost. Settlement pays the contracts still
    held. Open cost is the cost basis still held in unsettled markets; every other cost, and every
    fee, is realized. Cash P&L equals the change in exchange cash exactly. Open cost is kept to the
    micro-dollar (average cost can divide unevenly) and realized is derived from it, so the printed
    components always add up.
    """
    settled = {r["ticker"]: _d(r["revenue"])
               for r in db.query("SELECT ticker, revenue FROM ops.settlements")}
    fills = db.query("SELECT ticker, side, action, count, price, fee, filled_at FROM ops.fills"
                     " ORDER BY filled_at, id")
    if include_fill is not None:  # e.g. the go-live gate: only fills inside DEMO runs
        fills = [f for f in fills if include_fill(f)]
    markets: dict[str, _Market] = {}
    contracts = ZERO
    for f in fills:
        _replay(f, markets.setdefault(f["ticker"], _Market()))
        contracts += _d(f["count"])
    revenue = sum((settled[t] for t in markets if t in settled), ZERO)  # only markets with counted fills
    netting = sum((m.netting for m in markets.values()), ZERO)
    cost = sum((m.paid for m in markets.values()), ZERO)
    fees = sum((m.fees for m in markets.values()), ZERO)
    held = [m for t, m in markets.items() if t not in settled and m.position != ZERO]
    open_cost = sum((m.cost for m in held), ZERO).quantize(MICRO)
    cash = revenue + netting - cost - fees
    return {
        "fills": len(fills), "contracts": contracts, "markets": len(markets),
        "settled_markets": sum(1 for t in markets if t in settled), "open_markets": len(held),
        "revenue": revenue, "netted": netting, "cost": cost, "closed_cost": cost - open_cost,
        "fees": fees, "realized_after_fees": cash + open_cost, "open_cost": open_cost,
        "pnl_after_fees": cash,
    }


def money(value: Decimal) -> str:
    """Dollars, exact: cents when the amount is whole cents, every digit otherwise (no rounding)."""
    cents = value.quantize(CENT)
    shown = cents if cents == value else value.normalize()
    return f"{'-' if shown < 0 else ''}${abs(shown):,f}"


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
