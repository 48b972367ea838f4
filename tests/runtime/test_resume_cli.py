"""`milkbot resume` reconciles first: with no exchange reachable it refuses (one line, exit 2, state unchanged);
with the simulator reachable it reconciles and returns to ACTIVE."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.clock import SimulatedClock
from daemon.ledger.db import connect
from daemon.ledger.migrate import migrate
from daemon.trading import state as st

sys.path.insert(0, str(Path(__file__).parents[1] / "trading"))
from _oms_kit import KEY_ID, running_sim

runner = CliRunner()


def _killed_ledger(folder: Path) -> str:
    url = f"duckdb:///{folder / 'ledger.duckdb'}"
    with connect(url) as db:
        migrate(db)
        st.kill(db, SimulatedClock(datetime(2026, 1, 15, tzinfo=UTC)), "drill", "operator:test")
    return url


def test_resume_without_a_reachable_exchange_refuses_and_changes_nothing(tmp_path: Path) -> None:
    url = _killed_ledger(tmp_path)
    with connect(url) as db:
        rows_before = db.scalar("SELECT COUNT(*) FROM ops.trading_state")
    result = runner.invoke(app, ["--database-url", url, "resume"], env={"MILKBOT_MODE": "shadow"})
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and "cannot reconcile" in lines[0] and "no exchange reachable" in lines[0]
    with connect(url) as db:
        current = st.latest(db)
        assert current.state == "HALTED" and current.kill_switch
        assert db.scalar("SELECT COUNT(*) FROM ops.trading_state") == rows_before


def test_resume_with_the_simulator_reconciles_then_activates(tmp_path: Path) -> None:
    from daemon.runtime.control import ControlFiles

    url = _killed_ledger(tmp_path)
    control = ControlFiles(tmp_path / "ledger.duckdb")  # a kill request no daemon ever applied
    control.request_kill("drill", "operator:test", datetime(2026, 1, 15, tzinfo=UTC), False)
    status = runner.invoke(app, ["--database-url", url, "status"])
    assert status.exit_code == 0 and "KILL REQUESTED" in status.output, status.output
    clock = SimulatedClock(datetime.now(UTC))  # the CLI signs with the system clock
    with running_sim(clock, tmp_path) as sim:
        env = {"MILKBOT_EXCHANGE__ENVIRONMENT": "custom", "MILKBOT_EXCHANGE__BASE_URL": sim.url,
               "MILKBOT_EXCHANGE__KEY_ID": KEY_ID, "MILKBOT_EXCHANGE__PRIVATE_KEY_PATH": str(sim.key_path)}
        result = runner.invoke(app, ["--database-url", url, "resume"], env=env)
    assert result.exit_code == 0, result.output
    assert "reconciled" in result.output and result.output.strip().endswith("ACTIVE")
    with connect(url) as db:
        current = st.latest(db)
        assert current.state == "ACTIVE" and not current.kill_switch
    assert not control.control_path.exists()  # resume is the explicit go: the stale request is gone too
