"""Interrupted demo → rerun with the same data directory resumes (reconciling first), never restarts."""

from __future__ import annotations

import json
from datetime import datetime

from _runtime_kit import check_ledger_matches_exchange, replayed_exchange, run_demo

from daemon.ledger.db import connect


def test_interrupted_demo_resumes_where_it_stopped(tmp_path) -> None:
    first = run_demo(tmp_path, fast_minutes=120, slow_minutes=120, max_cycles=5)
    assert first.cycles == 5 and not first.resumed
    state = json.loads((tmp_path / "demo-state.json").read_text())
    stopped_at = datetime.fromisoformat(state["at"])
    with connect(f"duckdb:///{tmp_path / 'milkbot.duckdb'}") as db:
        decisions_before = db.scalar("SELECT COUNT(*) FROM ops.decisions")
        last_before = db.scalar("SELECT MAX(decided_at) FROM ops.decisions")
        assert db.scalar("SELECT exit_reason FROM ops.runs ORDER BY run_id DESC LIMIT 1") == "interrupted"
    assert last_before == stopped_at

    second = run_demo(tmp_path, fast_minutes=120, slow_minutes=120)
    assert second.resumed
    assert second.cycles == 13 - 5  # 13 ticks in one day at 2 h, inclusive; 5 were done
    with connect(f"duckdb:///{tmp_path / 'milkbot.duckdb'}") as db:
        runs = db.query("SELECT run_id, started_at, exit_reason FROM ops.runs ORDER BY run_id")
        assert [r["exit_reason"] for r in runs] == ["interrupted", "completed"]
        # The second run started where the first stopped (simulated time), not from the beginning.
        assert runs[1]["started_at"] >= stopped_at
        first_after = db.scalar("SELECT MIN(decided_at) FROM ops.decisions WHERE run_id = ?", [runs[1]["run_id"]])
        assert first_after > stopped_at
        assert db.scalar("SELECT COUNT(*) FROM ops.decisions") > decisions_before
        exchange = replayed_exchange(tmp_path)
        try:
            check_ledger_matches_exchange(db, exchange)
        finally:
            exchange.close()


def test_other_seed_in_same_folder_is_refused(tmp_path) -> None:
    import pytest

    from daemon.simulation.demo import DemoStateError

    run_demo(tmp_path, fast_minutes=120, slow_minutes=120, max_cycles=1)
    with pytest.raises(DemoStateError):
        run_demo(tmp_path, seed=8, fast_minutes=120, slow_minutes=120)
