"""Kill switch and resume through the real daemon path; stale weather stops a city; the CLI commands."""

from __future__ import annotations

from pathlib import Path

from _runtime_kit import live_world, step
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.ledger.db import Database
from daemon.runtime.daemon import CANCEL_RESTING_MARK
from daemon.trading import state as st


def _orders(db: Database) -> int:
    return int(db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL"))


def test_kill_cancels_resting_and_blocks_then_resume_trades(duckdb_db: Database, tmp_path: Path) -> None:
    with live_world(duckdb_db, tmp_path) as world:
        world.daemon.start()
        for _ in range(6):
            step(world, 60)
            if world.exchange.accounts and any(
                    o.remaining_count > 0 for o in world.exchange.orders.values() if o.account == world.client.key_id):
                break
        placed = _orders(duckdb_db)
        assert placed > 0
        st.kill(duckdb_db, world.clock, f"test {CANCEL_RESTING_MARK}", "operator:test")
        stats = step(world, 60)
        resting = [o for o in world.exchange.orders.values()
                   if o.account == world.client.key_id and o.remaining_count > 0]
        assert resting == []                        # every resting order was cancelled
        assert _orders(duckdb_db) == placed          # and nothing new was sent while HALTED
        blocked = duckdb_db.scalar("SELECT COUNT(*) FROM ops.decisions WHERE cycle_id = ? AND outcome = 'blocked'",
                                   [stats.cycle_id])
        assert blocked == stats.decisions > 0
        assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'kill_switch'") >= 1
        step(world, 60)
        assert _orders(duckdb_db) == placed          # the kill switch survives cycles
        report = world.daemon.oms.reconcile()        # resume = reconcile, then ACTIVE
        assert report.complete
        st.resume(duckdb_db, world.clock, "test", "operator:test")
        for _ in range(4):
            step(world, 60)
        assert _orders(duckdb_db) > placed


def test_stale_weather_stops_one_city_with_a_risk_event(db: Database, tmp_path: Path) -> None:
    with live_world(db, tmp_path) as world:
        world.daemon.start()
        step(world, 60)
        world.feed.blackout.add("NYC")
        for _ in range(3):                            # 3 h without a snapshot: stale (max observation age 90 min)
            stats = step(world, 60)
        assert "NYC" in stats.blocked_cities
        rows = db.query("SELECT city_code, outcome, reason_codes FROM ops.decisions WHERE cycle_id = ?",
                        [stats.cycle_id])
        nyc = [r for r in rows if r["city_code"] == "NYC"]
        assert nyc and all(r["outcome"] == "blocked" for r in nyc)
        assert all(any(str(c).startswith("weather_") for c in r["reason_codes"]) for r in nyc)
        assert any(r["outcome"] != "blocked" for r in rows if r["city_code"] != "NYC")
        events = db.query("SELECT city_code, message FROM ops.risk_events WHERE kind = 'stale_data'")
        assert any(e["city_code"] == "NYC" for e in events)
        sent_after = db.scalar(
            "SELECT COUNT(*) FROM ops.orders WHERE city_code = 'NYC' AND created_at >= ?",
            [world.clock.now().replace(minute=0) - __import__("datetime").timedelta(hours=1)])
        assert sent_after == 0


def test_cli_kill_status_resume(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    runner = CliRunner()
    assert runner.invoke(app, ["--database-url", url, "db", "migrate"]).exit_code == 0  # kill never creates one
    killed = runner.invoke(app, ["--database-url", url, "kill", "--reason", "drill"])
    assert killed.exit_code == 0, killed.output
    assert "HALTED" in killed.output
    status = runner.invoke(app, ["--database-url", url, "status"])
    assert status.exit_code == 0, status.output
    assert "HALTED" in status.output and "KILL SWITCH ON" in status.output
    resumed = runner.invoke(app, ["--database-url", url, "resume"])  # no exchange to reconcile with: refused
    assert resumed.exit_code == 2, resumed.output
    status = runner.invoke(app, ["--database-url", url, "status"])
    assert "KILL SWITCH ON" in status.output
    for command in ("positions", "pnl"):
        result = runner.invoke(app, ["--database-url", url, command])
        assert result.exit_code == 0, result.output


def test_live_refuses_without_flag_and_report(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'ledger.duckdb'}"
    env = {"MILKBOT_MODE": "live", "MILKBOT_ENV": "live", "MILKBOT_EXCHANGE__ENVIRONMENT": "production"}
    runner = CliRunner()
    no_flag = runner.invoke(app, ["--database-url", url, "run"], env=env)
    assert no_flag.exit_code == 2 and "--i-understand-live-trading" in no_flag.output
    no_report = runner.invoke(app, ["--database-url", url, "run", "--i-understand-live-trading"], env=env)
    assert no_report.exit_code == 2 and "go/no-go" in no_report.output
    check = runner.invoke(app, ["--database-url", url, "golive", "check"])
    assert check.exit_code == 1 and "NO-GO" in check.output


def test_run_once_in_shadow_uses_the_loopback_simulator(tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "run", "--once"],
                           env={"MILKBOT_CITIES__ENABLED": '["NYC"]'})
    assert result.exit_code == 0, result.output
    assert "in shadow" in result.output and "decisions" in result.output
    from daemon.ledger.db import connect

    with connect(f"duckdb:///{tmp_path / 'milkbot.duckdb'}") as db:
        assert db.scalar("SELECT exit_reason FROM ops.runs") == "once"
        assert db.scalar("SELECT COUNT(*) FROM ops.decisions") > 0
        assert db.scalar("SELECT COUNT(DISTINCT city_code) FROM ops.decisions") == 1
        assert db.query_one("SELECT status FROM ops.heartbeats WHERE component = 'daemon'")["status"] == "stopped"
