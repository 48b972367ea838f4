"""A COMMIT that fails for real (a deferred check on Postgres) trips the database-write breaker: HALTED with a
db_failure risk event, and no order is sent."""

from __future__ import annotations

from pathlib import Path

from _runtime_kit import account_orders, live_world, step

from daemon.ledger.db import Database
from daemon.trading import state as st

_FAIL_AT_COMMIT = """
CREATE FUNCTION public.fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'disk full (test: deferred check fails at COMMIT)'; END $$;
CREATE CONSTRAINT TRIGGER fail_at_commit AFTER INSERT ON ops.market_snapshots
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION public.fail_at_commit();
"""


def test_failed_commit_halts_with_a_db_failure_event(pg_db: Database, tmp_path: Path) -> None:
    with live_world(pg_db, tmp_path) as world:
        world.daemon.start()
        pg_db.executescript(_FAIL_AT_COMMIT)
        stats = step(world, 60, slow=False)
        assert any("COMMIT failed" in e for e in stats.errors), stats.errors
        assert world.daemon.risk.current_state() == "HALTED"
        current = st.latest(pg_db)
        assert current.state == "HALTED" and current.set_by == "risk:db_failure"
        events = pg_db.query("SELECT detail FROM ops.risk_events WHERE kind = 'breaker'")
        assert any(e["detail"].get("limit") == "db_failure" for e in events)
        pg_db.executescript("DROP TRIGGER fail_at_commit ON ops.market_snapshots")
        step(world, 60)
        assert account_orders(world.exchange) == []  # halted until an operator resumes
