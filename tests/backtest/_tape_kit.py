"""Test kit for the backtest exchange: hand-made tapes written in the real data layout, and the study's
reference rule driven directly against `TapeExchange` (no daemon)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb

from daemon.backtest.exchange import TapeExchange
from daemon.backtest.fills import FillRule
from daemon.backtest.tape import Tape
from daemon.clock import SimulatedClock
from daemon.exchange.orders import OrderRequest
from daemon.money import ZERO

REPO = Path(__file__).resolve().parents[2]
DAY = date(2025, 1, 10)
OPEN = datetime(2025, 1, 9, 15, 0, tzinfo=UTC)
CLOSE = datetime(2025, 1, 11, 4, 59, tzinfo=UTC)
T0 = datetime(2025, 1, 10, 12, 0, tzinfo=UTC)


def shared_data() -> Path:
    return Path(os.environ.get("MILKBOT_SHARED_DATA", "/work/shared/data"))


def market_row(ticker: str, *, result: str = "no", subtitle: str = "33° to 34°", strike_type: str | None = "between",
               floor: float | None = 33.0, cap: float | None = 34.0, open_time: datetime = OPEN,
               close_time: datetime = CLOSE, day: date = DAY, expected: datetime | None = None) -> dict[str, Any]:
    event = "-".join(ticker.split("-")[:2])
    return {"series_dir": event.split("-")[0].lower(), "file_date": day.isoformat(), "event_ticker": event,
            "series_ticker": event.split("-")[0], "event_title": f"Highest temperature on {day}",
            "event_sub_title": f"On {day}", "ticker": ticker, "title": "", "subtitle": subtitle,
            "yes_sub_title": subtitle, "no_sub_title": subtitle, "open_time": _z(open_time),
            "close_time": _z(close_time),
            "expected_expiration_time": _z(expected or close_time + timedelta(hours=10)),
            "latest_expiration_time": _z(close_time + timedelta(days=7)), "settlement_timer_seconds": 3600,
            "status": "finalized", "yes_bid": 99, "yes_ask": 100, "last_price": 99, "volume": 12345,
            "result": result, "expiration_value": "34.00", "strike_type": strike_type, "floor_strike": floor,
            "cap_strike": cap, "rules_primary": f"rules of {ticker}", "rules_secondary": ""}


def _z(instant: datetime) -> str:
    return instant.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class T:
    """A hand-made trade: seconds after T0 (or an instant), YES cents, contracts, taker side."""

    at: float | datetime
    price: int
    count: int = 10
    taker: str = "yes"
    ticker: str = "KXHIGHNY-25JAN10-B33.5"


def write_tape(root: Path, markets: list[dict[str, Any]], trades: list[T],
               settlements: list[dict[str, Any]] | None = None) -> Path:
    """A data directory in the layout of shared/data (parquet + csv written by DuckDB)."""
    kalshi = root / "kalshi"
    kalshi.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect()
    cols = list(markets[0])
    con.execute("CREATE TABLE m (" + ", ".join(f'"{c}" {_type(markets[0][c], c)}' for c in cols) + ")")
    con.executemany(f"INSERT INTO m VALUES ({', '.join('?' * len(cols))})", [[r[c] for c in cols] for r in markets])
    con.execute(f"COPY m TO '{kalshi / 'kxhigh_markets.parquet'}' (FORMAT parquet)")
    con.execute("CREATE TABLE t (series_dir VARCHAR, file_date VARCHAR, trade_id VARCHAR, ticker VARCHAR, "
                "count INTEGER, created_time TIMESTAMPTZ, yes_price INTEGER, no_price INTEGER, taker_side VARCHAR)")
    rows = []
    for n, tr in enumerate(trades):
        at = tr.at if isinstance(tr.at, datetime) else T0 + timedelta(seconds=tr.at)
        rows.append(["x", DAY.isoformat(), f"tr{n:05d}", tr.ticker, tr.count, at, tr.price, 100 - tr.price, tr.taker])
    if rows:
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.execute(f"COPY t TO '{kalshi / 'kxhigh_trades.parquet'}' (FORMAT parquet)")
    events = settlements
    if events is None:
        winners: dict[str, str | None] = {}
        for m in markets:
            winners.setdefault(m["event_ticker"], None)
            if m["result"] == "yes":
                winners[m["event_ticker"]] = m["ticker"]
        events = [{"series_ticker": e.split("-")[0], "event_ticker": e, "winning_ticker": w or ""}
                  for e, w in winners.items()]
    lines = ["series_ticker,event_ticker,winning_ticker"] + [
        f"{e['series_ticker']},{e['event_ticker']},{e['winning_ticker']}" for e in events]
    (kalshi / "kxhigh_settlements.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def _type(value: Any, name: str) -> str:
    if name in ("floor_strike", "cap_strike"):
        return "DOUBLE"
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    return "VARCHAR"


def request(ticker: str, side: str, price: str, count: int, cid: str, tif: str = "gtc") -> OrderRequest:
    return OrderRequest(ticker=ticker, side=side, action="buy", count=Decimal(count), price=Decimal(price),
                        client_order_id=cid, time_in_force=tif)


@dataclass
class ReferenceResult:
    orders: int
    filled_orders: int
    filled_contracts: Decimal
    pnl: Decimal                 # dollars, after fees
    fees: Decimal
    unsettled: int

    @property
    def fill_rate(self) -> float:
        return self.filled_orders / self.orders if self.orders else 0.0

    @property
    def cents_per_contract(self) -> float:
        return float(self.pnl * 100 / self.filled_contracts) if self.filled_contracts else 0.0


def run_reference_rule(tape: Tape, start: date, end: date, rule: FillRule, *, hours: int = 18, max_last: int = 50,
                       offset: int = 20, size: int = 10) -> tuple[ReferenceResult, TapeExchange]:
    """The study's baseline maker: at close − h, for markets whose point-in-time last YES ≤ X ¢, rest a YES ask
    at last + d ¢ (a NO buy at 100 − (last + d)) for C contracts until close. Driven through TapeExchange's
    client interface only: quotes from discover_events, orders by create_order, money from fills/settlements."""
    markets = sorted(tape.markets_between(start, end), key=lambda m: (m.close_time, m.ticker))
    decisions = sorted({m.close_time - timedelta(hours=hours) for m in markets})
    first = decisions[0] if decisions else datetime(2000, 1, 1, tzinfo=UTC)
    clock = SimulatedClock(first - timedelta(seconds=1))
    exchange = TapeExchange(tape, clock, fill_rule=rule, balance_cents=100_000_000)
    by_time: dict[datetime, list[Any]] = {}
    for m in markets:
        by_time.setdefault(m.close_time - timedelta(hours=hours), []).append(m)
    orders = 0
    for at in decisions:
        clock.set(at)
        wanted = {m.ticker for m in by_time[at]}
        series = sorted({m.series_ticker for m in by_time[at]})
        quotes = {mk.ticker: mk for events in exchange.discover_events(series).values()
                  for ev in events for mk in ev.markets if mk.ticker in wanted}
        for ticker in sorted(wanted):
            market = quotes.get(ticker)
            if market is None or market.last_price is None:
                continue              # not open yet / nothing traded before the decision time: no order
            last = int(market.last_price * 100)
            if last > max_last or last + offset > 99:
                continue
            no_price = Decimal(100 - (last + offset)) / 100
            outcome = exchange.create_order(request(ticker, "no", str(no_price), size, f"ref-{ticker}"))
            assert outcome.accepted, outcome
            orders += 1
    last_settle = max((tape.results[m.ticker].settles_at for m in markets), default=first)
    clock.set(max(last_settle, clock.now()) + timedelta(seconds=1))
    fills = list(exchange.iter_fills())
    filled_by_order: dict[str, Decimal] = {}
    for f in fills:
        filled_by_order[f.order_id] = filled_by_order.get(f.order_id, ZERO) + f.count
    revenue = sum((Decimal(s.revenue_cents) / 100 for s in exchange.iter_settlements()), ZERO)
    cost = sum((f.count * f.side_price for f in fills), ZERO)
    fee = sum((f.fee or ZERO for f in fills), ZERO)
    result = ReferenceResult(orders, sum(1 for v in filled_by_order.values() if v > 0),
                             sum(filled_by_order.values(), ZERO), revenue - cost - fee, fee,
                             len(exchange.unsettled()))
    return result, exchange
