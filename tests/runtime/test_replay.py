"""`milkbot replay`: a decision recomputed from the ledger alone is identical; a tampered one is not."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.ledger.db import connect
from daemon.runtime.replay import ReplayError, replay_decision


@pytest.fixture
def folder(demo_run, tmp_path: Path) -> Path:
    """A private copy of the shared demo ledger (one test tampers with it)."""
    import shutil

    source, _ = demo_run
    for name in ("milkbot.duckdb", "milkbot.duckdb.wal"):
        if (source / name).exists():
            shutil.copyfile(source / name, tmp_path / name)
    return tmp_path


def _ids(db, outcome: str, n: int) -> list[int]:
    rows = db.query("SELECT id FROM ops.decisions WHERE outcome = ? ORDER BY id", [outcome])
    step = max(1, len(rows) // n)
    return [int(r["id"]) for r in rows[::step][:n]]


def test_trades_and_skips_replay_identically(folder: Path) -> None:
    with connect(f"duckdb:///{folder / 'milkbot.duckdb'}") as db:
        trades, skips = _ids(db, "trade", 8), _ids(db, "skip", 8)
        assert trades and skips
        for decision_id in trades + skips:
            result = replay_decision(db, decision_id)
            assert result.identical, (decision_id, result.original, result.recomputed, result.notes)
        traded = replay_decision(db, trades[0])
        assert traded.recomputed["size"] > 0 and traded.recomputed["side"] in ("yes", "no")


def test_cli_replay_prints_side_by_side_and_exit_codes(folder: Path) -> None:
    url = f"duckdb:///{folder / 'milkbot.duckdb'}"
    with connect(url) as db:
        decision_id = _ids(db, "trade", 1)[0]
    runner = CliRunner()
    ok = runner.invoke(app, ["--database-url", url, "replay", str(decision_id)])
    assert ok.exit_code == 0, ok.output
    assert "original" in ok.output and "recomputed" in ok.output and "identical" in ok.output
    with connect(url) as db:  # tamper with the stored result: replay must notice
        db.execute("UPDATE ops.decisions SET edge = edge + 0.0100 WHERE id = ?", [decision_id])
    bad = runner.invoke(app, ["--database-url", url, "replay", str(decision_id)])
    assert bad.exit_code == 1
    assert "differs" in bad.output and "DIFFERENT: edge" in bad.output
    missing = runner.invoke(app, ["--database-url", url, "replay", "999999999"])
    assert missing.exit_code == 2


def test_replay_refuses_missing_inputs(folder: Path) -> None:
    with connect(f"duckdb:///{folder / 'milkbot.duckdb'}") as db, pytest.raises(ReplayError):
        replay_decision(db, 10**9)
