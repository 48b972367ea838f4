"""A failed COMMIT is a DatabaseError on both engines (the database-write breaker only sees DatabaseError)."""

from __future__ import annotations

import pytest

from daemon.ledger.db import Database, DatabaseError, connect


def test_duckdb_commit_conflict_is_a_database_error(tmp_path) -> None:
    with connect(f"duckdb:///{tmp_path / 'c.duckdb'}") as db:
        db.execute("CREATE TABLE t (id INTEGER PRIMARY KEY)")
        other = db.raw.cursor()  # a second connection to the same database
        with pytest.raises(DatabaseError, match="COMMIT failed"):
            with db.transaction():
                db.execute("INSERT INTO t VALUES (1)")
                other.execute("INSERT INTO t VALUES (1)")  # commits first: ours conflicts at COMMIT
        assert db.scalar("SELECT COUNT(*) FROM t") == 1
        db.execute("INSERT INTO t VALUES (2)")  # the connection is usable afterwards (no transaction left open)
        assert db.scalar("SELECT COUNT(*) FROM t") == 2


def test_postgres_deferred_constraint_failing_at_commit_is_a_database_error(pg_db: Database) -> None:
    pg_db.executescript(
        "CREATE TABLE public.t (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES public.t (id)"
        " DEFERRABLE INITIALLY DEFERRED)")
    with pytest.raises(DatabaseError, match="COMMIT failed"):
        with pg_db.transaction():
            pg_db.execute("INSERT INTO public.t VALUES (1, 99)")  # the missing parent is checked at COMMIT
    assert pg_db.scalar("SELECT COUNT(*) FROM public.t") == 0
    pg_db.execute("INSERT INTO public.t VALUES (2, NULL)")
    assert pg_db.scalar("SELECT COUNT(*) FROM public.t") == 1
