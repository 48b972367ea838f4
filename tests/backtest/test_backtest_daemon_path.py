"""`milkbot backtest`: the real daemon (strategies, risk engine, order manager, ledger) over the recorded tape.

Pins: the daemon path places exactly the reference rule's orders and gets exactly its fills (the same tape, the
same fill rule, run directly against TapeExchange in `_tape_kit.run_reference_rule`); the ledger's P&L equals the
exchange's cash movement to the cent; the run is deterministic (same inputs → same JSON, same inputs hash);
walk-forward parameters are fitted before each month only; the JSON carries every field the issue names.
"""

from __future__ import annotations

import json
import sys
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.fills import parse_fill_rule
from daemon.backtest.runner import BacktestSpec, build_schedule, recorded_events, run_backtest
from daemon.backtest.tape import Tape
from daemon.backtest.walkforward import fit_cutoff
from daemon.cities import default_registry
from daemon.config import load_settings

sys.path.insert(0, str(Path(__file__).parent))
from _tape_kit import run_reference_rule

REPO = Path(__file__).resolve().parents[2]
WINDOW = (date(2025, 1, 6), date(2025, 1, 9))


def _settings(tmp_path: Path):
    return load_settings(REPO / "bench" / "reference_maker.toml", {"MILKBOT_DATA_DIR": str(tmp_path)})


@pytest.fixture(scope="module")
def reference_run(shared_data, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bt")
    spec = BacktestSpec(shared_data, *WINDOW, fill="strict", cadence_minutes=360, refit=False, out_dir=folder / "run")
    return run_backtest(_settings(folder), spec, default_registry()), folder


def test_the_daemon_places_the_reference_rules_orders_and_gets_its_fills(reference_run, shared_data) -> None:
    result, _ = reference_run
    direct, exchange = run_reference_rule(Tape.load(shared_data), *WINDOW, parse_fill_rule("strict"))
    [maker] = result.by_strategy
    assert maker.strategy == "fixed_offset_maker"
    assert (maker.orders, maker.filled_orders) == (direct.orders, direct.filled_orders)
    assert maker.filled_contracts == direct.filled_contracts
    assert maker.pnl_after_fees == direct.pnl
    assert result.checks["cash_matches"] is True
    assert Decimal(result.checks["exchange_cash_change"]) == result.pnl_after_fees


def test_the_json_has_every_field_and_money_as_decimal_strings(reference_run) -> None:
    out = reference_run[0].to_json()
    for key in ("pnl_after_fees", "fees", "orders", "fills", "filled_contracts", "max_drawdown", "days",
                "by_strategy", "inputs_hash"):
        assert key in out
    for s in out["by_strategy"]:
        for key in ("strategy", "pnl_after_fees", "fills", "filled_contracts", "pnl_per_filled_contract_cents",
                    "ci_low", "ci_high"):
            assert key in s
        Decimal(s["pnl_after_fees"])
    assert isinstance(out["pnl_after_fees"], str) and out["days"] == 4
    assert out["checks"]["cash_matches"] is True


def test_a_rerun_is_identical(reference_run, shared_data) -> None:
    first, folder = reference_run
    spec = BacktestSpec(shared_data, *WINDOW, fill="strict", cadence_minutes=360, refit=False, out_dir=folder / "again")
    again = run_backtest(_settings(folder), spec, default_registry())
    a, b = first.to_json(), again.to_json()
    a.pop("ledger"), b.pop("ledger")
    assert json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def test_the_schedule_holds_every_strategy_wake_time_and_only_open_hours(shared_data) -> None:
    from daemon.strategies.fixed_offset_maker import FixedOffsetMaker, FixedOffsetMakerConfig

    events = recorded_events(Tape.load(shared_data, start=WINDOW[0], end=WINDOW[1]))
    maker = FixedOffsetMaker(FixedOffsetMakerConfig())
    schedule = build_schedule(events, (maker,), 60)
    for e in events:
        assert maker.wake_times(e.close_time)[0] in schedule
    assert all(any(e.open_time <= t < e.close_time for e in events) for t in schedule)
    assert schedule == sorted(set(schedule))


def test_walk_forward_cutoff_is_before_every_day_traded() -> None:
    from datetime import UTC, datetime

    # 2025-02-01 03:00Z is still January 31 in Eastern standard time: January's parameters (fitted to Dec 31).
    assert fit_cutoff(datetime(2025, 2, 1, 3, 0, tzinfo=UTC)) == date(2024, 12, 31)
    assert fit_cutoff(datetime(2025, 2, 1, 6, 0, tzinfo=UTC)) == date(2025, 1, 31)


def test_the_cli_prints_the_table_and_one_json_object(shared_data, tmp_path) -> None:
    from typer.testing import CliRunner

    from daemon.cli.main import app

    args = ["--data-dir", str(tmp_path), "--config", str(REPO / "bench" / "reference_maker.toml"), "backtest",
            "--data", str(shared_data), "--from", "2025-01-06", "--to", "2025-01-06", "--no-refit",
            "--cadence-minutes", "360"]
    out = CliRunner().invoke(app, [*args, "--json"])
    assert out.exit_code == 0, out.output
    parsed = json.loads(out.stdout.strip().splitlines()[-1])
    assert parsed["by_strategy"][0]["strategy"] == "fixed_offset_maker"
    table = CliRunner().invoke(app, [*args, "--quiet", "--report", str(tmp_path / "report")])
    assert table.exit_code == 0, table.output
    assert "fixed_offset_maker" in table.stdout and "ledger = exchange cash: yes" in table.stdout
    assert (tmp_path / "report" / "index.html").is_file() and (tmp_path / "report" / "equity.png").is_file()
    bad = CliRunner().invoke(app, [*args[:-3], "--fill", "sometimes"])
    assert bad.exit_code == 2 and "fill" in bad.output.lower()
