"""`milkbot backtest` keeps its result beside the run's ledger, where `golive check` finds the latest window's."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from daemon.backtest.stored import latest_backtest
from daemon.config import load_settings
from daemon.simulation.replay import SAMPLE_DIR

REPO = Path(__file__).resolve().parents[2]


def test_a_backtest_run_stores_its_result_for_the_golive_gate(tmp_path: Path) -> None:
    from daemon.cli.main import app

    config = REPO / "bench" / "reference_maker.toml"
    args = ["--config", str(config), "--data-dir", str(tmp_path), "backtest", "--data", str(SAMPLE_DIR),
            "--from", "2025-02-24", "--to", "2025-02-24", "--no-refit", "--cadence-minutes", "240", "--json"]
    done = CliRunner().invoke(app, args)
    assert done.exit_code == 0, done.output
    printed = json.loads(done.output.strip().splitlines()[-1])
    config_hash = load_settings(config, {"MILKBOT_DATA_DIR": str(tmp_path)}).config_hash
    lookup = latest_backtest(tmp_path, config_hash)
    assert lookup.found is not None, lookup
    stored = json.loads(lookup.found.path.read_text())
    assert lookup.found.path.parent.parent == tmp_path / "backtests"
    assert stored == {**printed, "config_hash": config_hash}
    assert str(lookup.found.start) == "2025-02-24" and lookup.found.fills == printed["fills"]
    assert latest_backtest(tmp_path, "another configuration").found is None
