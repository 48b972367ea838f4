"""Parity: the daemon over HTTP against the replaying simulator and the in-process backtest agree exactly.

On 3 recorded days (2025-02-24 … 2025-02-26 of the sample shipped in daemon/data/replay, all 5 recorded
cities), with the same configuration — the reference maker of bench/reference_maker.toml plus the model maker,
the built-in model parameters (no walk-forward refit: the sample has no history to fit on) — and the same fill
rule (strict, size capped by what printed), two runs:
- `milkbot demo`'s replay world (`Demo` with `replay=`): the real daemon in SHADOW, `KalshiClient` over
  loopback HTTP with signed requests and cursor pagination (every page capped at 7 items, so orders, fills,
  events and positions all span several pages), against `TapeServer` (TapeExchange behind the
  simulator's HTTP surface), reconciling from what the wire returns;
- `run_backtest`: the same daemon code against `TapeExchange` in-process.
Both step the same schedule (`build_schedule` at a coarse 2-hour cadence plus the strategies' wake times) on a
simulated clock. Asserted equal, with no tolerance: every order (ticker, side, action, count, limit price,
decision time, final state, filled count, exchange order id), every fill (ticker, side, action, count, price,
taker flag, fee, fill time), every settlement, and the P&L after fees. The weather is the recorded feed in both
(`synthetic_forecasts=False`: the backtest has no synthetic forecasts). Money compared as Decimals.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.backtest.runner import BacktestSpec, run_backtest
from daemon.cities import CityRegistry, default_registry
from daemon.config import load_settings
from daemon.ledger.db import connect
from daemon.runtime.reports import pnl_summary
from daemon.simulation.demo import Demo, DemoOptions
from daemon.simulation.replay import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[2]
FIRST, LAST = date(2025, 2, 24), date(2025, 2, 26)
CADENCE = 120
PAGE = 7            # every listing over HTTP is served 7 items a page: the client must follow the cursors
CITIES = ("NYC", "CHI", "MIA", "AUS", "DEN")

ORDERS = ("SELECT ticker, side, action, count, limit_price, created_at, state, filled_count, exchange_order_id "
          "FROM ops.orders WHERE exchange_order_id IS NOT NULL ORDER BY created_at, ticker, side, limit_price")
FILLS = ("SELECT ticker, side, action, count, price, is_taker, fee, filled_at, exchange_order_id "
         "FROM ops.fills ORDER BY filled_at, ticker, exchange_fill_id")
# When the ledger learned of a settlement (received_at) is the reconcile instant, not an exchange fact.
SETTLEMENTS = ("SELECT ticker, event_ticker, market_result, settled_value, yes_count, no_count, revenue, settled_at "
               "FROM ops.settlements ORDER BY ticker")


def _settings(folder: Path) -> Any:
    settings = load_settings(REPO / "bench" / "reference_maker.toml", {"MILKBOT_DATA_DIR": str(folder)})
    strategies = settings.strategies.model_copy(update={"enabled": ("fixed_offset_maker", "model_maker")})
    return settings.model_copy(update={"strategies": strategies, "mode": "shadow", "env": "dev"})


def _rows(path: Path) -> dict[str, Any]:
    db = connect(f"duckdb:///{path}")
    try:
        return {"orders": [tuple(r.values()) for r in db.query(ORDERS)],
                "fills": [tuple(r.values()) for r in db.query(FILLS)],
                "settlements": [tuple(r.values()) for r in db.query(SETTLEMENTS)],
                "pnl": pnl_summary(db)["pnl_after_fees"]}
    finally:
        db.close()


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], dict[str, Any]]:
    registry = CityRegistry([default_registry().get(c) for c in CITIES])
    http_dir = tmp_path_factory.mktemp("over-http")
    demo = Demo(_settings(http_dir), DemoOptions(
        data_dir=http_dir, days=(LAST - FIRST).days + 1, replay=SAMPLE_DIR, replay_from=FIRST, fill="strict",
        synthetic_forecasts=False, fast_minutes=CADENCE, slow_minutes=CADENCE, publish=False,
        page_limit=PAGE), registry)
    summary = demo.run()
    assert not summary.errors, summary.errors
    assert summary.recorded_cities == list(CITIES) and summary.left_out_cities == []
    bt_dir = tmp_path_factory.mktemp("in-process")
    spec = BacktestSpec(data_dir=SAMPLE_DIR, start=FIRST, end=LAST, fill="strict", cadence_minutes=CADENCE,
                        slow_cadence_minutes=CADENCE, out_dir=bt_dir / "run", refit=False)
    result = run_backtest(_settings(bt_dir), spec, registry)
    return _rows(Path(demo.db_path)), _rows(Path(result.ledger_path))


def test_the_same_orders_over_http_and_in_process(runs) -> None:
    over_http, in_process = runs
    print(f"\nparity: {len(over_http['orders'])} orders, {len(over_http['fills'])} fills, "
          f"{len(over_http['settlements'])} settlements, P&L after fees ${over_http['pnl']}")
    assert len(in_process["orders"]) >= 20, "too few orders for parity to mean anything"
    assert over_http["orders"] == in_process["orders"]


def test_the_same_fills_settlements_and_pnl(runs) -> None:
    over_http, in_process = runs
    assert len(in_process["fills"]) >= 5, "too few fills for parity to mean anything"
    assert over_http["fills"] == in_process["fills"]
    assert over_http["settlements"] == in_process["settlements"]
    assert Decimal(over_http["pnl"]) == Decimal(in_process["pnl"])
