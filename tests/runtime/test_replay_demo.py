"""`milkbot demo`'s default world: recorded days replayed through the replaying simulator over HTTP.

The shipped sample (daemon/data/replay) is the background flow; cities without recorded markets are left out and
named; our fills come only from recorded trades after our orders; an interrupted replay resumes (the tape's
journal) to exactly the run an uninterrupted one makes; asking for more days than recorded is one line, exit 2;
`--synthetic` keeps the seeded world.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from daemon.backtest.tape import Tape, to_us
from daemon.cities import CityRegistry, default_registry
from daemon.config import CitiesConfig, load_settings
from daemon.ledger.db import connect
from daemon.simulation.demo import Demo, DemoOptions
from daemon.simulation.replay import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[2]
DAY = date(2025, 2, 24)


def _settings(folder: Path, cities: tuple[str, ...], makers: bool = False) -> Any:
    config = REPO / "bench" / "reference_maker.toml" if makers else None
    settings = load_settings(config, {"MILKBOT_DATA_DIR": str(folder)})
    update: dict[str, Any] = {"cities": CitiesConfig(enabled=cities)}
    if makers:
        update["strategies"] = settings.strategies.model_copy(
            update={"enabled": ("fixed_offset_maker", "model_maker")})
    return settings.model_copy(update=update)


def _options(folder: Path, **overrides: Any) -> DemoOptions:
    values: dict[str, Any] = {"data_dir": folder, "days": 1, "replay": SAMPLE_DIR, "replay_from": DAY,
                              "fast_minutes": 120, "slow_minutes": 120, "publish": False}
    values.update(overrides)
    return DemoOptions(**values)


def _ledger(folder: Path) -> dict[str, list[tuple[Any, ...]]]:
    db = connect(f"duckdb:///{folder / 'milkbot.duckdb'}")
    try:
        return {
            "orders": [tuple(r.values()) for r in db.query(
                "SELECT ticker, side, action, count, limit_price, created_at, state, filled_count, exchange_order_id "
                "FROM ops.orders WHERE exchange_order_id IS NOT NULL ORDER BY created_at, ticker, limit_price")],
            "fills": [tuple(r.values()) for r in db.query(
                "SELECT ticker, side, count, price, fee, filled_at, exchange_order_id, exchange_fill_id "
                "FROM ops.fills ORDER BY filled_at, exchange_fill_id")],
            "settlements": [tuple(r.values()) for r in db.query(
                "SELECT ticker, market_result, yes_count, no_count, revenue FROM ops.settlements ORDER BY ticker")],
        }
    finally:
        db.close()


def test_recorded_cities_replay_and_the_others_are_left_out_and_named(tmp_path) -> None:
    summary = Demo(_settings(tmp_path, ("NYC", "MIA", "SEA"), makers=True), _options(tmp_path)).run()
    assert not summary.errors, summary.errors
    assert summary.source == "RECORDED from the shipped sample"
    assert summary.recorded_days == ["2025-02-24"] and summary.fill_rule == "strict"
    assert summary.recorded_cities == ["NYC", "MIA"] and summary.left_out_cities == ["SEA"]
    assert summary.synthetic_cities == []
    assert summary.weather is not None and "recorded observations MIA" in summary.weather
    assert "SYNTHETIC forecasts" in summary.weather and "NYC, MIA" in summary.weather.split("SYNTHETIC")[1]
    assert summary.orders > 0 and summary.fills > 0 and summary.settled_markets > 0
    tape = Tape.load(SAMPLE_DIR, start=DAY, end=DAY)
    db = connect(f"duckdb:///{tmp_path / 'milkbot.duckdb'}")
    try:
        orders = db.query("SELECT ticker, created_at FROM ops.orders WHERE exchange_order_id IS NOT NULL")
        assert {tape.markets[o["ticker"]].series_ticker for o in orders} <= {"KXHIGHNY", "KXHIGHMIA"}
        fills = db.query("SELECT f.ticker, f.count, f.price, f.side, f.filled_at, o.created_at FROM ops.fills f "
                         "JOIN ops.orders o ON o.exchange_order_id = f.exchange_order_id")
    finally:
        db.close()
    assert fills
    for fill in fills:
        # A resting order fills only from a recorded trade printed after it was placed, at or after that trade.
        assert fill["filled_at"] >= fill["created_at"], fill
        trades = tape.trades(fill["ticker"])
        printed = {int(t) for t in trades.time_us}
        assert to_us(fill["filled_at"]) in printed, f"{fill} is not at a recorded trade's time"


def test_an_interrupted_replay_resumes_to_the_uninterrupted_run(tmp_path) -> None:
    whole, parts = tmp_path / "whole", tmp_path / "parts"
    cities = ("NYC", "CHI", "MIA")
    Demo(_settings(whole, cities, makers=True), _options(whole)).run()
    first = Demo(_settings(parts, cities, makers=True), _options(parts, max_cycles=6)).run()
    assert first.cycles == 6
    second = Demo(_settings(parts, cities, makers=True), _options(parts)).run()
    assert second.resumed and second.cycles > 0
    expected, got = _ledger(whole), _ledger(parts)
    assert expected["orders"] and expected["fills"]
    assert got == expected


def _milkbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_") or k == "MILKBOT_TEST_DATABASE_URL"}
    env.update(PYTHONPATH=str(REPO), MILKBOT_CITIES__ENABLED='["NYC"]')
    return subprocess.run([sys.executable, "-m", "daemon.cli.main", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def test_more_days_than_the_record_holds_is_one_line_exit_2(tmp_path) -> None:
    done = _milkbot("demo", "--days", "9", "--no-publish", "--data-dir", str(tmp_path / "d"), cwd=tmp_path)
    err = done.stderr.strip()
    assert done.returncode == 2, (done.stdout[-2000:], err[-2000:])
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert "records 5 of the 9 climate day(s)" in err


@pytest.mark.parametrize("flag", ["--synthetic", None])
def test_the_cli_says_which_world_it_ran(tmp_path, flag) -> None:
    args = ["demo", "--days", "1", "--fast-minutes", "240", "--no-publish", "--json", "--data-dir", str(tmp_path)]
    done = _milkbot(*args, *([flag] if flag else []), cwd=tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    if flag == "--synthetic":
        assert summary["source"] == "SYNTHETIC (seed 7)" and summary["synthetic_cities"] == ["NYC"]
        assert summary["recorded_days"] == [] and summary["sim_start"].startswith("2026-01-05")
    else:
        assert summary["source"] == "RECORDED from the shipped sample" and summary["recorded_cities"] == ["NYC"]
        assert summary["recorded_days"] == ["2025-02-24"] and summary["synthetic_cities"] == []


def test_registry_of_the_sample_covers_five_cities() -> None:
    tape = Tape.load(SAMPLE_DIR)
    registry = default_registry()
    recorded = CityRegistry([c for c in registry if any(s in tape.series for s in c.series)])
    assert sorted(recorded.codes) == ["AUS", "CHI", "DEN", "MIA", "NYC"]
    assert sorted({m.climate_day for m in tape.markets.values()}) == [date(2025, 2, d) for d in range(24, 29)]
