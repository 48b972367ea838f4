"""The go/no-go report: a synthesised demo record that qualifies → GO; each NO-GO reason on its own → NO-GO.

The record: a SHADOW rehearsal (duplicates, losses — never counted), then two DEMO daemon runs over 11 days
(one clean restart), two orders sent while ACTIVE, every cap, loss limit and breaker fired once with its
consequence (clipped or refused, REDUCING / HALTED, the city blocked while stale), and 20 settled markets that
each made money after fees; and a stored backtest of the latest recorded window that made money after fees (the
expectancy criterion needs both).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daemon.backtest.stored import Lookup, latest_backtest, store_result
from daemon.clock import SimulatedClock
from daemon.config import load_settings
from daemon.ledger.db import Database, Json
from daemon.ledger.runs import record_config_version
from daemon.runtime.golive import CAPS, LIMITS, golive_report

T0 = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
NOW = T0 + timedelta(days=11, minutes=5)
H = timedelta(hours=1)
D = timedelta(days=1)
CHECKS = ("days of demo trading", "no duplicate orders", "every limit fired", "without a crash",
          "positive expectancy")
_n = iter(range(1, 10_000))


def _run(db: Database, config_hash: str, mode: str, start: datetime, stop: datetime | None,
         reason: str | None) -> None:
    db.execute("INSERT INTO ops.runs (component, mode, env, config_hash, code_version, started_at, stopped_at,"
               " exit_reason) VALUES ('daemon', ?, ?, ?, 'test', ?, ?, ?)",
               [mode, "dev" if mode == "shadow" else mode, config_hash, start, stop, reason])


def _order(db: Database, intent: str, sent_at: datetime, *, version: int = 1, count: int = 10,
           city: str = "NYC") -> None:
    n = next(_n)
    db.execute(
        "INSERT INTO ops.orders (client_order_id, exchange_order_id, intent_key, intent_version, ticker, city_code,"
        " climate_day, side, action, count, limit_price, state, filled_count, remaining_count, created_at, sent_at,"
        " updated_at) VALUES (?, ?, ?, ?, 'KXHIGHNY-26JAN01-B40.5', ?, ?, 'yes', 'buy', ?, 0.4000, 'filled',"
        " ?, 0, ?, ?, ?)",
        [f"cid-{n}", f"ex-{n}", intent, version, city, T0.date(), count, count, sent_at, sent_at, sent_at])


def _state(db: Database, state: str, at: datetime, set_by: str, *, until: datetime | None = None,
           kill: bool = False) -> None:
    db.execute("INSERT INTO ops.trading_state (state, kill_switch, reason, set_by, set_at, until_at)"
               " VALUES (?, ?, 'test', ?, ?, ?)", [state, kill, set_by, at, until])


def _event(db: Database, kind: str, at: datetime, detail: dict[str, Any], *, city: str | None = None,
           intent: str | None = None) -> None:
    db.execute("INSERT INTO ops.risk_events (occurred_at, kind, severity, city_code, intent_key, message, detail)"
               " VALUES (?, ?, 'critical', ?, ?, 'test', ?)", [at, kind, city, intent, Json(detail)])


def _settled_market(db: Database, n: int, at: datetime, revenue: Decimal) -> None:
    ticker = f"KXHIGHNY-{at:%y%b%d}".upper() + f"-B{40 + n}.5"
    db.execute(
        "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code, climate_day,"
        " side, action, count, price, is_taker, fee, filled_at, received_at)"
        " VALUES (?, ?, NULL, ?, 'NYC', ?, 'yes', 'buy', 10, 0.4000, TRUE, 0.1000, ?, ?)",
        [f"fill-{ticker}", f"ex-fill-{ticker}", ticker, at.date(), at, at])
    db.execute(
        "INSERT INTO ops.settlements (ticker, event_ticker, city_code, climate_day, market_result, settled_value,"
        " yes_count, no_count, revenue, settled_at, received_at, payload) VALUES (?, ?, 'NYC', ?, ?, NULL, 10, 0, ?,"
        " ?, ?, ?)",
        [ticker, ticker.rsplit("-", 1)[0], at.date(), "yes" if revenue else "no", revenue, at + H, at + H, Json({})])


def _limits_fire(db: Database, t0: datetime, skip: str | None, unhalted: str | None) -> None:
    """Every limit once, each with its consequence. `skip` leaves one out; `unhalted` drops its state change."""
    for i, cap in enumerate(CAPS):                     # clipped or refused: no order beyond max_count
        if cap != skip:
            _event(db, "cap_breach", t0 + 10 * H + i * H, {"limit": cap, "actual": "31", "allowed": "30",
                                                           "requested": "20", "max_count": "0"},
                   intent=f"capped-{cap}")
    halts = [("loss_limit", "daily_loss", "HALTED", t0 + 2 * D, t0 + 3 * D),
             ("loss_limit", "weekly_loss", "REDUCING", t0 + 4 * D, t0 + 11 * D),
             ("loss_limit", "monthly_loss", "HALTED", t0 + 6 * D, t0 + 36 * D),
             ("breaker", "reject_breaker", "HALTED", t0 + 9 * D, t0 + 9 * D + H),
             ("breaker", "db_failure", "HALTED", t0 + 9 * D + 3 * H, None),
             ("breaker", "auth_failure", "HALTED", t0 + 9 * D + 6 * H, None)]
    for kind, limit, state, at, until in halts:
        if limit == skip:
            continue
        _event(db, kind, at, {"limit": limit, "actual": "x", "allowed": "y"})
        if limit != unhalted:
            _state(db, state, at, f"risk:{limit}", until=until)
        if limit in ("monthly_loss", "db_failure", "auth_failure"):
            _state(db, "ACTIVE", at + H, "operator:test")  # the operator resumes after checking (a drill)
    if skip != "stale_data":
        _event(db, "stale_data", t0 + 3 * D + 5 * H, {"limit": "stale_data", "actual": "weather stale"}, city="NYC")
        _event(db, "stale_data", t0 + 3 * D + 7 * H, {"limit": "stale_data", "actual": "fresh"}, city="NYC")
    if skip != "kill_switch":
        _state(db, "HALTED", t0 + 8 * D, "operator:test", kill=unhalted != "kill_switch")
        _event(db, "kill_switch", t0 + 8 * D, {"limit": "kill_switch", "actual": "on", "allowed": "off"})
        _state(db, "ACTIVE", t0 + 8 * D + H, "operator:test")


def qualifying_record(db: Database, tmp_path: Path, *, t0: datetime = T0, days: float = 11, crash: bool = False,
                      duplicate: bool = False, sent_while_halted: bool = False, losing: bool = False,
                      skip: str | None = None, unhalted: str | None = None, overfilled_cap: bool = False,
                      traded_while_stale: bool = False) -> None:
    settings = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path)})
    config_hash = record_config_version(db, settings, SimulatedClock(t0))
    # The SHADOW rehearsal before the demo: a duplicate, a losing trade, an order while halted — none counted.
    _run(db, config_hash, "shadow", t0 - 3 * D, t0 - D, "sigterm")
    for _ in range(2):
        _order(db, "shadow-dup", t0 - 2 * D)
    _settled_market(db, 99, t0 - 2 * D, Decimal(0))
    _state(db, "HALTED", t0 - 2 * D - H, "risk:test", until=t0 - D)
    _order(db, "shadow-halted", t0 - 2 * D + H)
    _state(db, "ACTIVE", t0 - D, "operator:test")
    end = t0 + timedelta(days=days)
    restart = t0 + (9 if crash else 5) * D                                       # a crash 2 days before the end
    _run(db, config_hash, "demo", t0, restart, "crashed" if crash else "sigterm")
    _run(db, config_hash, "demo", restart, None, None)                          # the current run, still going
    db.execute("INSERT INTO ops.heartbeats (component, run_id, beat_at, status, detail)"
               " VALUES ('daemon', 3, ?, 'ok', ?)", [end, Json({})])
    _order(db, "intent-a", t0 + H)
    _order(db, "intent-b", t0 + 7 * D + 12 * H)
    if duplicate:
        _order(db, "intent-b", t0 + 7 * D + 13 * H)                             # a second order for one version
    if sent_while_halted:
        _order(db, "intent-c", t0 + 2 * D + 2 * H)                              # inside the daily-loss pause
    if overfilled_cap:
        _order(db, "capped-per_city", t0 + 10 * H + CAPS.index("per_city") * H, count=20)  # it allowed 0
    if traded_while_stale:
        _order(db, "intent-stale", t0 + 3 * D + 6 * H)
    _limits_fire(db, t0, skip, unhalted)
    for n in range(20):
        _settled_market(db, n, t0 + 2 * H + n * 5 * H, Decimal(0) if losing else Decimal(10))  # +$5.90 each


def _stored(folder: Path, name: str, start: str, end: str, pnl: str, config_hash: str = "cfg") -> Path:
    result = {"from": start, "to": end, "fill_rule": "strict", "days": 3, "fills": 12, "orders": 30,
              "pnl_after_fees": pnl, "fees": "0.40", "filled_contracts": "120", "by_strategy": []}
    return store_result(result, folder / "backtests" / name, config_hash)


def _winning_backtest(folder: Path) -> Lookup:
    _stored(folder, "win", "2025-01-01", "2025-02-28", "31.30")
    return latest_backtest(folder, "cfg")


BACKTEST: Lookup | None = None


@pytest.fixture(autouse=True)
def _backtest(tmp_path_factory: pytest.TempPathFactory) -> None:
    global BACKTEST
    BACKTEST = _winning_backtest(tmp_path_factory.mktemp("bt"))


def _outcome(db: Database, now: datetime = NOW) -> dict[str, bool]:
    report = golive_report(db, now, backtest=BACKTEST)
    by_name = {name: [c.passed for c in report.checks if name in c.name] for name in CHECKS}
    assert all(len(v) == 1 for v in by_name.values()), report.lines()
    return {name: v[0] for name, v in by_name.items()} | {"GO": report.passed}


def _detail(db: Database, name: str) -> str:
    return next(c.detail for c in golive_report(db, NOW, backtest=BACKTEST).checks if name in c.name)


def test_a_qualifying_demo_record_is_go_and_counts_demo_only(db: Database, tmp_path: Path) -> None:
    qualifying_record(db, tmp_path)
    outcome = _outcome(db)
    lines = golive_report(db, NOW, backtest=BACKTEST).lines()
    assert outcome == {**dict.fromkeys(CHECKS, True), "GO": True}, lines
    assert lines[-1].strip() == "=> GO"
    assert "2 orders over 2 daemon runs; 0 duplicate groups" in _detail(db, "no duplicate orders")  # not shadow's 3
    assert "11.0 d of daemon runs" in _detail(db, "days of demo trading")
    assert "over 20 settled markets" in _detail(db, "positive expectancy")             # shadow's loser excluded
    assert "orders sent while HALTED: 0" in _detail(db, "every limit fired")


@pytest.mark.parametrize(("broken", "failing"), [
    ({"days": 9.5}, "days of demo trading"),
    ({"duplicate": True}, "no duplicate orders"),
    ({"sent_while_halted": True}, "every limit fired"),
    ({"overfilled_cap": True}, "every limit fired"),
    ({"traded_while_stale": True}, "every limit fired"),
    ({"unhalted": "reject_breaker"}, "every limit fired"),
    ({"unhalted": "weekly_loss"}, "every limit fired"),
    ({"crash": True}, "without a crash"),
    ({"losing": True}, "positive expectancy"),
])
def test_each_failing_criterion_alone_is_no_go(duckdb_db: Database, tmp_path: Path, broken: dict,
                                               failing: str) -> None:
    qualifying_record(duckdb_db, tmp_path, **broken)
    if "days" in broken:  # a shorter demo: the clock and heartbeat are at its end
        now = T0 + timedelta(days=broken["days"], minutes=5)
    else:
        now = NOW
    outcome = _outcome(duckdb_db, now)
    assert outcome == {**dict.fromkeys(CHECKS, True), failing: False, "GO": False}, golive_report(
        duckdb_db, now, backtest=BACKTEST).lines()


@pytest.mark.parametrize("limit", LIMITS)
def test_every_limit_must_have_fired_in_demo(duckdb_db: Database, tmp_path: Path, limit: str) -> None:
    qualifying_record(duckdb_db, tmp_path, skip=limit)
    outcome = _outcome(duckdb_db)
    assert outcome == {**dict.fromkeys(CHECKS, True), "every limit fired": False, "GO": False}
    detail = _detail(duckdb_db, "every limit fired")
    assert f"never fired in demo (drill them): {limit}" in detail, detail


def test_limits_that_fired_only_in_shadow_do_not_count(duckdb_db: Database, tmp_path: Path) -> None:
    qualifying_record(duckdb_db, tmp_path, skip="daily_loss")
    _event(duckdb_db, "loss_limit", T0 - 2 * D - H, {"limit": "daily_loss", "actual": "x", "allowed": "y"})
    assert not _outcome(duckdb_db)["every limit fired"]


def test_no_restart_and_a_stale_heartbeat_each_fail(duckdb_db: Database, tmp_path: Path) -> None:
    qualifying_record(duckdb_db, tmp_path)
    assert not _outcome(duckdb_db, NOW + timedelta(hours=1))["without a crash"]   # heartbeat 65 min old
    duckdb_db.execute("DELETE FROM ops.runs WHERE run_id = 3")
    duckdb_db.execute("UPDATE ops.runs SET stopped_at = ? WHERE run_id = 2", [T0 + 11 * D])
    assert not _outcome(duckdb_db)["no duplicate orders"]                        # one run: no restart proven


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
        qualifying_record(db, tmp_path, t0=datetime.now(UTC) - timedelta(days=11, minutes=1))
    data = ["--data-dir", str(tmp_path), "--database-url", url]
    no_backtest = runner.invoke(app, [*data, "golive", "check"])
    assert no_backtest.exit_code == 1 and "no stored backtest with this configuration" in no_backtest.output
    config_hash = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path), "MILKBOT_DATABASE_URL": url}).config_hash
    _stored(tmp_path, "latest", "2025-01-01", "2025-02-28", "31.30", config_hash)
    passed = runner.invoke(app, [*data, "golive", "check"])
    assert passed.exit_code == 0 and "=> GO" in passed.output, passed.output
    assert "backtest of the latest recorded window 2025-01-01…2025-02-28" in passed.output, passed.output
    short = runner.invoke(app, [*data, "golive", "check", "--min-days", "12"])
    assert short.exit_code == 1 and "need >= 12 d" in short.output, short.output


def test_expectancy_needs_the_demo_record_and_the_latest_windows_backtest(duckdb_db: Database,
                                                                          tmp_path: Path) -> None:
    qualifying_record(duckdb_db, tmp_path)

    def check(lookup: Lookup | None) -> Any:
        return next(c for c in golive_report(duckdb_db, NOW, backtest=lookup).checks if "expectancy" in c.name)

    missing = check(None)
    assert not missing.passed and "no stored backtest" in missing.detail
    assert "+ record of these runs" in missing.detail            # says which part held and which did not
    folder = tmp_path / "data"
    _stored(folder, "older-winning", "2024-08-16", "2024-12-31", "80.00")
    _stored(folder, "latest-losing", "2025-01-01", "2025-02-28", "-4.10")
    _stored(folder, "other-config", "2025-01-01", "2025-03-31", "99.00", config_hash="another")
    lookup = latest_backtest(folder, "cfg")
    assert lookup.found is not None and lookup.found.end.isoformat() == "2025-02-28" and lookup.other_config == 1
    losing = check(lookup)
    assert not losing.passed and "- backtest of the latest recorded window 2025-01-01…2025-02-28" in losing.detail
    assert "latest-losing" in losing.detail and "$-4.10 after" in losing.detail
    _stored(folder, "latest-longer-winning", "2024-12-01", "2025-02-28", "12.00")
    winning = check(latest_backtest(folder, "cfg"))
    assert winning.passed and "latest-longer-winning" in winning.detail, winning.detail
    (folder / "backtests" / "broken").mkdir()
    (folder / "backtests" / "broken" / "result.json").write_text("{not json")
    assert latest_backtest(folder, "cfg").unreadable == [str(folder / "backtests" / "broken" / "result.json")]
