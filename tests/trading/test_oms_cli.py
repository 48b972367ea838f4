"""`milkbot orders list|show|reconcile|cancel` on the embedded DuckDB default, against the simulator over loopback."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cities import default_registry
from daemon.cli.main import app
from daemon.clock import SimulatedClock
from daemon.ledger.db import connect
from daemon.ledger.migrate import migrate
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import KEY_ID, active_tickers, resting_intent, running_sim

runner = CliRunner()


@pytest.fixture
def setup(tmp_path: Path):
    # The CLI signs with the system clock, so the simulator's (frozen) clock starts at the real now.
    clock = SimulatedClock(datetime.now(UTC))
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    with running_sim(clock, tmp_path) as sim:
        env = {"MILKBOT_DATA_DIR": str(data_dir), "MILKBOT_EXCHANGE__ENVIRONMENT": "custom",
               "MILKBOT_EXCHANGE__BASE_URL": sim.url, "MILKBOT_EXCHANGE__KEY_ID": KEY_ID,
               "MILKBOT_EXCHANGE__PRIVATE_KEY_PATH": str(sim.key_path)}
        url = f"duckdb:///{(data_dir / 'milkbot.duckdb').resolve()}"      # the embedded default's file
        with connect(url) as db, sim.client(clock) as client:
            migrate(db)
            oms = OrderManager(db, client, clock, registry=default_registry())
            oms.reconcile()
            tickers = active_tickers(sim, clock)
            placed = [oms.submit(resting_intent(tickers[i], i)) for i in range(3)]
        yield env, placed, sim


def run(env: dict[str, str], *args: str):
    return runner.invoke(app, ["orders", *args], env=env)


def test_list_show_reconcile_cancel(setup) -> None:
    env, placed, sim = setup
    listed = run(env, "list", "--json")
    assert listed.exit_code == 0, listed.output
    rows = json.loads(listed.output)
    assert {r["client_order_id"] for r in rows} == {p.client_order_id for p in placed}
    assert {r["state"] for r in rows} == {"resting"}
    plain = run(env, "list", "--state", "resting")
    assert plain.exit_code == 0 and placed[0].client_order_id in plain.output

    shown = run(env, "show", placed[0].client_order_id, "--json")
    assert shown.exit_code == 0, shown.output
    data = json.loads(shown.output)
    assert [e["to_state"] for e in data["events"]] == ["new", "submitted", "resting"]
    assert data["intent"]["intent_key"] == placed[0].intent_key
    assert run(env, "show", "no-such-order").exit_code == 1

    reconciled = run(env, "reconcile")
    assert reconciled.exit_code == 0 and "ok=True" in reconciled.output, reconciled.output

    one = run(env, "cancel", placed[0].client_order_id)
    assert one.exit_code == 0 and "canceled" in one.output, one.output
    rest = run(env, "cancel", "--all", "--json")
    assert rest.exit_code == 0, rest.output
    assert {r["state"] for r in json.loads(rest.output)} == {"canceled"}
    assert json.loads(run(env, "list", "--open", "--json").output) == []
    assert {o.status for o in sim.exchange.orders.values() if o.account == KEY_ID} == {"canceled"}
    assert run(env, "cancel").exit_code == 2                       # neither an id nor --all


def test_unreachable_exchange_is_one_line_exit_2(setup) -> None:
    env, _, _ = setup
    env = {**env, "MILKBOT_EXCHANGE__BASE_URL": "http://127.0.0.1:9/trade-api/v2"}
    result = run(env, "reconcile")
    assert result.exit_code in (1, 2)
    assert "Traceback" not in result.output and len(result.output.strip().splitlines()) <= 3
