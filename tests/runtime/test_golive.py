"""The go/no-go report: a synthesised demo record that qualifies → GO; each criterion broken on its own → NO-GO.

The record: two DEMO daemon runs over 80 h (one clean restart), two orders sent while ACTIVE, a limit that fired,
and 20 settled markets that each made money after fees.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.clock import SimulatedClock
from daemon.config import load_settings
from daemon.ledger.db import Database, Json
from daemon.ledger.runs import record_config_version
from daemon.runtime.golive import golive_report

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=80, minutes=5)
CHECKS = ("no duplicate orders", "limits fired", "without a crash", "positive expectancy")


def _run(db: Database, config_hash: str, start: datetime, stop: datetime | None, reason: str | None) -> None:
    db.execute("INSERT INTO ops.runs (component, mode, env, config_hash, code_version, started_at, stopped_at,"
               " exit_reason) VALUES ('daemon', 'demo', 'demo', ?, 'test', ?, ?, ?)", [config_hash, start, stop, reason])


def _order(db: Database, n: int, intent: str, sent_at: datetime, version: int = 1) -> None:
    db.execute(
        "INSERT INTO ops.orders (client_order_id, exchange_order_id, intent_key, intent_version, ticker, city_code,"
        " climate_day, side, action, count, limit_price, state, filled_count, remaining_count, created_at, sent_at,"
        " updated_at) VALUES (?, ?, ?, ?, 'KXHIGHNY-26JAN01-B40.5', 'NYC', ?, 'yes', 'buy', 10, 0.4000, 'filled',"
        " 10, 0, ?, ?, ?)",
        [f"cid-{n}", f"ex-{n}", intent, version, T0.date(), sent_at, sent_at, sent_at])


def _state(db: Database, state: str, at: datetime) -> None:
    db.execute("INSERT INTO ops.trading_state (state, kill_switch, reason, set_by, set_at) VALUES (?, FALSE, 'test',"
               " 'risk:test', ?)", [state, at])


def _settled_market(db: Database, n: int, revenue: Decimal) -> None:
    ticker = f"KXHIGHNY-26JAN{n + 1:02d}-B40.5"
    at = T0 + timedelta(hours=2 + n)
    db.execute(
        "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code, climate_day,"
        " side, action, count, price, is_taker, fee, filled_at, received_at)"
        " VALUES (?, ?, NULL, ?, 'NYC', ?, 'yes', 'buy', 10, 0.4000, TRUE, 0.1000, ?, ?)",
        [f"fill-{n}", f"ex-fill-{n}", ticker, at.date(), at, at])
    db.execute(
        "INSERT INTO ops.settlements (ticker, event_ticker, city_code, climate_day, market_result, settled_value,"
        " yes_count, no_count, revenue, settled_at, received_at, payload) VALUES (?, ?, 'NYC', ?, ?, NULL, 10, 0, ?,"
        " ?, ?, ?)",
        [ticker, ticker.rsplit("-", 1)[0], at.date(), "yes" if revenue else "no", revenue, at, at, Json({})])


def qualifying_record(db: Database, tmp_path: Path, *, crash: bool = False, duplicate: bool = False,
                      sent_while_halted: bool = False, losing: bool = False) -> None:
    settings = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path)})
    config_hash = record_config_version(db, settings, SimulatedClock(T0))
    restart = T0 + timedelta(hours=40)
    _run(db, config_hash, T0, restart, "crashed" if crash else "sigterm")
    _run(db, config_hash, restart, None, None)                                  # the current run, still going
    db.execute("INSERT INTO ops.heartbeats (component, run_id, beat_at, status, detail)"
               " VALUES ('daemon', 2, ?, 'ok', ?)", [T0 + timedelta(hours=80), Json({})])
    _state(db, "ACTIVE", T0)
    _state(db, "HALTED", T0 + timedelta(hours=50))
    _state(db, "ACTIVE", T0 + timedelta(hours=51))
    _order(db, 1, "intent-a", T0 + timedelta(hours=1))
    _order(db, 2, "intent-b", T0 + timedelta(hours=60))
    if duplicate:
        _order(db, 3, "intent-b", T0 + timedelta(hours=61))                     # a second order for one version
    if sent_while_halted:
        _order(db, 4, "intent-c", T0 + timedelta(hours=50, minutes=30))
    db.execute("INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail)"
               " VALUES (?, 'cap_breach', 'warning', 'per_event cap', ?)",
               [T0 + timedelta(hours=3), Json({"limit": "per_event", "actual": "31.00", "allowed": "30.00"})])
    for n in range(20):
        _settled_market(db, n, Decimal(0) if losing else Decimal(10))           # 10 × $1 − $4 − $0.10 fee = +$5.90


def _outcome(db: Database) -> dict[str, bool]:
    report = golive_report(db, NOW)
    by_name = {name: [c.passed for c in report.checks if name in c.name] for name in CHECKS}
    assert all(len(v) == 1 for v in by_name.values()), report.lines()
    return {name: v[0] for name, v in by_name.items()} | {"GO": report.passed}


def test_a_qualifying_demo_record_is_go(db: Database, tmp_path: Path) -> None:
    qualifying_record(db, tmp_path)
    outcome = _outcome(db)
    assert outcome == {**dict.fromkeys(CHECKS, True), "GO": True}, golive_report(db, NOW).lines()
    assert golive_report(db, NOW).lines()[-1].strip() == "=> GO"


@pytest.mark.parametrize(("broken", "failing"), [
    ({"duplicate": True}, "no duplicate orders"),
    ({"sent_while_halted": True}, "limits fired"),
    ({"crash": True}, "without a crash"),
    ({"losing": True}, "positive expectancy"),
])
def test_each_failing_criterion_alone_is_no_go(db: Database, tmp_path: Path, broken: dict, failing: str) -> None:
    qualifying_record(db, tmp_path, **broken)
    outcome = _outcome(db)
    assert outcome == {**dict.fromkeys(CHECKS, True), failing: False, "GO": False}, golive_report(db, NOW).lines()


def test_no_restart_no_limit_and_a_stale_heartbeat_each_fail(duckdb_db: Database, tmp_path: Path) -> None:
    qualifying_record(duckdb_db, tmp_path)
    assert not _outcome_at(duckdb_db, NOW + timedelta(hours=1))["without a crash"]   # heartbeat 65 min old
    duckdb_db.execute("DELETE FROM ops.risk_events")
    assert not _outcome(duckdb_db)["limits fired"]                               # no limit ever fired
    duckdb_db.execute("DELETE FROM ops.runs WHERE run_id = 2")
    duckdb_db.execute("UPDATE ops.runs SET stopped_at = ? WHERE run_id = 1", [T0 + timedelta(hours=80)])
    assert not _outcome(duckdb_db)["no duplicate orders"]                        # one run: no restart proven


def _outcome_at(db: Database, now: datetime) -> dict[str, bool]:
    report = golive_report(db, now)
    return {name: next(c.passed for c in report.checks if name in c.name) for name in CHECKS}


def test_cli_golive_check_exit_codes(tmp_path: Path) -> None:
    """GO → exit 0 and NO-GO → exit 1 (the CLI uses the system clock, so the record is placed relative to it)."""
    from daemon.cli.main import app
    from daemon.ledger.db import connect

    url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database-url", url, "db", "migrate"]).exit_code == 0  # check never creates one
    empty = runner.invoke(app, ["--database-url", url, "golive", "check"])
    assert empty.exit_code == 1 and "NO-GO" in empty.output
    with connect(url) as db:
        qualifying_record(db, tmp_path)
        db.execute("UPDATE ops.heartbeats SET beat_at = ?", [datetime.now(UTC)])   # current heartbeat
    passed = runner.invoke(app, ["--database-url", url, "golive", "check"])
    assert passed.exit_code == 0 and "=> GO" in passed.output, passed.output
