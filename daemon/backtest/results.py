"""A backtest's results, computed from its ledger and the recorded outcomes only.

P&L of a fill = (count if its side won) − price × count − fee, in exact Decimal; a YES and a NO held in one
market pay $1 a pair whatever happens, which this per-fill sum already gives. Fills in markets with no
recorded result are reported as open, never guessed. The uncertainty of cents per filled contract is a
percentile bootstrap over climate days (whole days resampled, seeded, 2,000 draws): fills on one day share
one weather and are not independent.
"""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from daemon.ledger.db import Database
from daemon.runtime.footprint import strategy_of_key

BOOTSTRAP_DRAWS = 2000
BOOTSTRAP_SEED = 20250301
CENTS = Decimal(100)


@dataclass(frozen=True)
class FillOutcome:
    strategy: str
    ticker: str
    city_code: str
    climate_day: date
    side: str
    count: Decimal
    price: Decimal
    fee: Decimal
    is_taker: bool
    filled_at: datetime
    order_created_at: datetime | None
    close_time: datetime | None
    won: bool | None                     # None: the market has no recorded result
    predicted_edge: Decimal | None       # the deciding decision's edge per contract (None if not recorded)

    @property
    def pnl(self) -> Decimal | None:
        if self.won is None:
            return None
        return (self.count if self.won else Decimal(0)) - self.price * self.count - self.fee


@dataclass
class StrategyResult:
    strategy: str
    pnl_after_fees: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    orders: int = 0
    filled_orders: int = 0
    fills: int = 0
    filled_contracts: Decimal = Decimal(0)
    open_contracts: Decimal = Decimal(0)
    ci_low: Decimal | None = None
    ci_high: Decimal | None = None
    days_with_fills: int = 0

    @property
    def pnl_per_filled_contract_cents(self) -> Decimal | None:
        settled = self.filled_contracts - self.open_contracts
        if settled <= 0:
            return None
        return (self.pnl_after_fees * CENTS / settled).quantize(Decimal("0.01"))

    @property
    def fill_rate(self) -> Decimal | None:
        return None if not self.orders else (Decimal(self.filled_orders) / self.orders).quantize(Decimal("0.001"))

    def to_json(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "pnl_after_fees": str(self.pnl_after_fees), "fees": str(self.fees),
                "orders": self.orders, "filled_orders": self.filled_orders, "fills": self.fills,
                "fill_rate": _s(self.fill_rate), "filled_contracts": str(self.filled_contracts),
                "open_contracts": str(self.open_contracts),
                "pnl_per_filled_contract_cents": _s(self.pnl_per_filled_contract_cents),
                "ci_low": _s(self.ci_low), "ci_high": _s(self.ci_high), "days_with_fills": self.days_with_fills}


@dataclass
class BacktestResult:
    start: date
    end: date
    fill_rule: str
    inputs_hash: str
    days: int
    orders: int
    fills: int
    filled_contracts: Decimal
    fees: Decimal
    pnl_after_fees: Decimal
    max_drawdown: Decimal
    by_strategy: list[StrategyResult]
    daily: list[dict[str, Any]]
    fill_outcomes: list[FillOutcome] = field(default_factory=list)
    checks: dict[str, Any] = field(default_factory=dict)
    params: dict[str, Any] = field(default_factory=dict)
    ledger_path: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"from": str(self.start), "to": str(self.end), "fill_rule": self.fill_rule,
                "inputs_hash": self.inputs_hash, "days": self.days, "orders": self.orders, "fills": self.fills,
                "filled_contracts": str(self.filled_contracts), "fees": str(self.fees),
                "pnl_after_fees": str(self.pnl_after_fees), "max_drawdown": str(self.max_drawdown),
                "by_strategy": [s.to_json() for s in self.by_strategy],
                "daily": self.daily, "checks": self.checks, "params": self.params, "ledger": self.ledger_path}


def _s(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def results_from_ledger(db: Database, tape: Any, events: list[Any], spec: Any, *, inputs_hash: str,
                        exchange: Any, params: dict[str, Any]) -> BacktestResult:
    outcomes = fill_outcomes(db, tape)
    orders = db.query("SELECT intent_key, filled_count, climate_day FROM ops.orders"
                      " WHERE exchange_order_id IS NOT NULL")
    by: dict[str, StrategyResult] = {}
    for row in orders:
        res = by.setdefault(strategy_of_key(row["intent_key"]), StrategyResult(strategy_of_key(row["intent_key"])))
        res.orders += 1
        res.filled_orders += int(Decimal(row["filled_count"]) > 0)
    per_day: dict[str, dict[date, list[Decimal]]] = defaultdict(lambda: defaultdict(lambda: [Decimal(0)] * 2))
    for f in outcomes:
        res = by.setdefault(f.strategy, StrategyResult(f.strategy))
        res.fills += 1
        res.fees += f.fee
        res.filled_contracts += f.count
        if f.pnl is None:
            res.open_contracts += f.count
            continue
        res.pnl_after_fees += f.pnl
        cell = per_day[f.strategy][f.climate_day]
        cell[0] += f.pnl
        cell[1] += f.count
    days = sorted({e.climate_day for e in events})
    for name, res in by.items():
        res.days_with_fills = len(per_day[name])
        res.ci_low, res.ci_high = bootstrap_cents(per_day[name], days)
    daily_total: dict[date, Decimal] = defaultdict(Decimal)
    for cells in per_day.values():
        for day, (pnl, _) in cells.items():
            daily_total[day] += pnl
    daily, equity, peak, drawdown = [], Decimal(0), Decimal(0), Decimal(0)
    for day in days:
        equity += daily_total.get(day, Decimal(0))
        peak = max(peak, equity)
        drawdown = max(drawdown, peak - equity)
        daily.append({"day": str(day), "pnl": str(daily_total.get(day, Decimal(0))), "equity": str(equity),
                      "drawdown": str(peak - equity)})
    total = sum((r.pnl_after_fees for r in by.values()), Decimal(0))
    checks = ledger_checks(db, exchange, outcomes)
    return BacktestResult(
        start=spec.start, end=spec.end, fill_rule=spec.fill, inputs_hash=inputs_hash, days=len(days),
        orders=sum(r.orders for r in by.values()), fills=len(outcomes),
        filled_contracts=sum((f.count for f in outcomes), Decimal(0)),
        fees=sum((f.fee for f in outcomes), Decimal(0)), pnl_after_fees=total, max_drawdown=drawdown,
        by_strategy=sorted(by.values(), key=lambda r: r.strategy), daily=daily, fill_outcomes=outcomes,
        checks=checks, params=params)


def fill_outcomes(db: Database, tape: Any) -> list[FillOutcome]:
    rows = db.query(
        "SELECT f.ticker, f.city_code, f.climate_day, f.side, f.count, f.price, f.fee, f.is_taker, f.filled_at,"
        " o.intent_key, o.created_at AS order_created_at, d.edge AS predicted_edge"
        " FROM ops.fills f JOIN ops.orders o ON o.exchange_order_id = f.exchange_order_id"
        " LEFT JOIN ops.intents i ON i.intent_key = o.intent_key AND i.version = o.intent_version"
        " LEFT JOIN ops.decisions d ON d.id = i.decision_id"
        " ORDER BY f.filled_at, f.id")
    out = []
    for r in rows:
        recorded = tape.results.get(r["ticker"])
        result = recorded.result if recorded is not None else None
        won = None if result not in ("yes", "no") else (result == r["side"])
        out.append(FillOutcome(
            strategy=strategy_of_key(r["intent_key"]), ticker=r["ticker"], city_code=r["city_code"],
            climate_day=r["climate_day"], side=r["side"], count=Decimal(r["count"]), price=Decimal(r["price"]),
            fee=Decimal(r["fee"]), is_taker=bool(r["is_taker"]), filled_at=r["filled_at"],
            order_created_at=r["order_created_at"], close_time=tape.markets[r["ticker"]].close_time if r["ticker"] in tape.markets else None,
            won=won,
            predicted_edge=None if r["predicted_edge"] is None else Decimal(r["predicted_edge"])))
    return out


def bootstrap_cents(cells: dict[date, list[Decimal]], days: list[date]) -> tuple[Decimal | None, Decimal | None]:
    """95 % percentile interval of Σ P&L / Σ contracts (¢) over climate days resampled with replacement."""
    if not cells:
        return None, None
    rng = random.Random(BOOTSTRAP_SEED)
    pnl = [float(cells[d][0]) if d in cells else 0.0 for d in days]
    count = [float(cells[d][1]) if d in cells else 0.0 for d in days]
    n = len(days)
    stats = []
    for _ in range(BOOTSTRAP_DRAWS):
        idx = [rng.randrange(n) for _ in range(n)]
        c = sum(count[i] for i in idx)
        if c > 0:
            stats.append(100.0 * sum(pnl[i] for i in idx) / c)
    if not stats:
        return None, None
    stats.sort()
    lo = stats[int(0.025 * (len(stats) - 1))]
    hi = stats[int(0.975 * (len(stats) - 1))]
    return Decimal(repr(round(lo, 2))), Decimal(repr(round(hi, 2)))


def ledger_checks(db: Database, exchange: Any, outcomes: list[FillOutcome]) -> dict[str, Any]:
    """The ledger's P&L against the exchange's own cash movement (they must agree to the cent when settled)."""
    settled_pnl = sum((f.pnl for f in outcomes if f.pnl is not None), Decimal(0))
    open_cost = sum((f.price * f.count + f.fee for f in outcomes if f.pnl is None), Decimal(0))
    cash_change = exchange.account.cash - exchange.account.deposits
    return {"ledger_settled_pnl": str(settled_pnl), "open_cost": str(open_cost),
            "exchange_cash_change": str(cash_change),
            "cash_matches": cash_change == settled_pnl - open_cost}
