"""The kill switch and status while an embedded (DuckDB) daemon runs as a real process.

The running daemon holds the DuckDB file, so no other process can open it. `milkbot kill` writes a kill request
to the control file beside the ledger; the daemon refuses every order from the moment it exists and records the
kill switch; `milkbot status` prints the daemon's last snapshot, labelled as such. `resume` refuses while the
daemon runs. Waits are bounded polls on what the daemon writes, never sleeps standing in for events.
"""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from test_run_sigterm import _start, _terminate, _wait_for
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.ledger.db import connect
from daemon.simulation.demo import KEY_FILE

runner = CliRunner()


def _snapshot(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return {}


def test_kill_and_status_while_the_embedded_daemon_runs(tmp_path: Path) -> None:
    ledger = tmp_path / "data" / "milkbot.duckdb"
    url = f"duckdb:///{ledger}"
    snapshot = ledger.with_name("milkbot.duckdb.status.json")
    control = ledger.with_name("milkbot.duckdb.control.json")
    proc, log = _start(tmp_path, url)
    try:
        _wait_for("a status snapshot", lambda: bool(_snapshot(snapshot)), proc, log)
        status = runner.invoke(app, ["--database-url", url, "status"])
        assert status.exit_code == 0, status.output
        assert "LAST SNAPSHOT" in status.output and f"pid {proc.pid}" in status.output
        assert "trading state ACTIVE" in status.output

        killed = runner.invoke(app, ["--database-url", url, "kill", "--reason", "drill"])
        assert killed.exit_code == 0, killed.output
        assert "kill request written" in killed.output
        _wait_for("the daemon to apply the kill", lambda: not control.exists(), proc, log)
        _wait_for("a snapshot showing the kill switch",
                  lambda: _snapshot(snapshot).get("status", {}).get("trading_state", {}).get("kill_switch"),
                  proc, log)
        status = runner.invoke(app, ["--database-url", url, "status"])
        assert status.exit_code == 0 and "KILL SWITCH ON" in status.output, status.output

        env = {"MILKBOT_EXCHANGE__ENVIRONMENT": "custom", "MILKBOT_EXCHANGE__BASE_URL": "http://127.0.0.1:9/x",
               "MILKBOT_EXCHANGE__KEY_ID": "k", "MILKBOT_EXCHANGE__PRIVATE_KEY_PATH": str(ledger.parent / KEY_FILE)}
        resumed = runner.invoke(app, ["--database-url", url, "resume"], env=env)
        assert resumed.exit_code == 2, resumed.output
        assert "stop it first" in resumed.output and len(resumed.output.strip().splitlines()) == 1
    finally:
        if proc.poll() is None:
            _terminate(proc, log)
    with connect(url) as db:
        kill = db.query_one("SELECT set_at, set_by, reason FROM ops.trading_state WHERE kill_switch"
                            " ORDER BY id LIMIT 1")
        assert kill is not None and kill["reason"] == "drill" and kill["set_by"].startswith("operator:")
        assert db.scalar("SELECT COUNT(*) FROM ops.orders WHERE sent_at >= ?", [kill["set_at"]]) == 0
        after = db.query("SELECT outcome FROM ops.decisions WHERE decided_at > ?", [kill["set_at"]])
        assert all(r["outcome"] in ("blocked", "skip") for r in after)
        assert db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'kill_switch'") >= 1


def test_a_pending_kill_request_stops_the_next_send_before_any_cycle_sees_it(duckdb_db, duckdb_url: str,
                                                                             tmp_path: Path) -> None:
    from _runtime_kit import account_orders, live_world, step

    from daemon.ledger.access import duckdb_path
    from daemon.runtime.control import ControlFiles
    from daemon.runtime.guard import DaemonGuard
    from daemon.runtime.lock import DaemonLock
    from daemon.trading import state as st
    from daemon.trading.intents import Intent, climate_day_from_ticker, make_intent_key

    control = ControlFiles(duckdb_path(duckdb_url))
    with DaemonLock(duckdb_db, duckdb_url) as lock, live_world(duckdb_db, tmp_path) as world:
        world.daemon.guard = DaemonGuard(duckdb_db, lock, world.clock, control)
        world.daemon.start()
        step(world, 60)
        sent = len(account_orders(world.exchange))
        control.request_kill("drill", "operator:test", world.clock.now(), False)
        ticker = next(m.ticker for m in world.exchange.markets.values() if m.status in ("active", "open"))
        day = climate_day_from_ticker(ticker)
        intent = Intent(make_intent_key(ticker, "yes", "buy", day, "probe"), ticker, "NYC", day, "yes", "buy",
                        Decimal(1), Decimal("0.99"))
        result = world.daemon.oms.submit(intent)
        assert result.status == "blocked" and "kill switch requested" in result.reasons[0]
        assert len(account_orders(world.exchange)) == sent           # nothing left for the exchange
        assert not st.latest(duckdb_db).kill_switch                  # not yet recorded: no cycle ran
        step(world, 60)                                              # the next cycle records it
        assert st.latest(duckdb_db).kill_switch and not control.control_path.exists()
        step(world, 60)
        assert len(account_orders(world.exchange)) == sent
