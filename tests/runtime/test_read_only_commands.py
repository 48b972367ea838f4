"""Read-only commands never create, migrate or write a ledger; a missing ledger is an error naming the path.
`kill` works on an existing ledger and never creates one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.clock import SimulatedClock
from daemon.ledger.access import open_read_only
from daemon.ledger.db import DatabaseError, connect
from daemon.ledger.migrate import MIGRATIONS_DIR, migrate
from daemon.trading import state as st

READ_ONLY = (["status"], ["positions"], ["pnl"], ["risk", "show"], ["orders", "list"], ["orders", "show", "x"],
             ["golive", "check"], ["replay", "1"])
runner = CliRunner()


@pytest.mark.parametrize("command", [*READ_ONLY, ["kill"]], ids=lambda c: " ".join(c))
def test_missing_duckdb_ledger_is_an_error_naming_the_path_and_nothing_is_created(tmp_path: Path,
                                                                                   command: list[str]) -> None:
    typo = tmp_path / "typo"
    result = runner.invoke(app, ["--data-dir", str(typo), *command], env={"MILKBOT_DATABASE_URL": ""})
    assert result.exit_code == 2, result.output
    assert f"no ledger at {typo / 'milkbot.duckdb'}" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert not typo.exists()


@pytest.mark.parametrize("command", [*READ_ONLY, ["kill"]], ids=lambda c: " ".join(c))
def test_postgres_database_without_a_ledger_is_an_error_and_nothing_is_created(
        pg_server_url: str, command: list[str]) -> None:
    import os
    from urllib.parse import urlsplit, urlunsplit

    name = f"milkbot_empty_{os.getpid()}"
    with connect(pg_server_url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(pg_server_url)._replace(path=f"/{name}"))
    try:
        result = runner.invoke(app, ["--database-url", url, *command])
        assert result.exit_code == 2, result.output
        assert "no ledger schema in" in result.output
        with connect(url) as db:
            assert db.scalar("SELECT to_regclass('ops.schema_migrations') IS NULL")
            assert db.scalar("SELECT COUNT(*) FROM pg_namespace WHERE nspname = 'ops'") == 0
    finally:
        with connect(pg_server_url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def test_read_only_commands_do_not_migrate_an_older_ledger(tmp_path: Path) -> None:
    first_only = tmp_path / "migrations"
    first_only.mkdir()
    shutil.copy(MIGRATIONS_DIR / "0001_ops.sql", first_only)
    url = f"duckdb:///{tmp_path / 'old.duckdb'}"
    with connect(url) as db:
        migrate(db, directory=first_only)
    for command in READ_ONLY:
        result = runner.invoke(app, ["--database-url", url, *command])
        assert result.exit_code == 2, (command, result.output)
        assert "pending migration" in result.output and "milkbot db migrate" in result.output
    with connect(url) as db:
        assert db.scalar("SELECT COUNT(*) FROM ops.schema_migrations") == 1


def test_read_only_open_refuses_writes_on_both_engines(db_url: str) -> None:
    with open_read_only(db_url) as db:
        assert db.scalar("SELECT COUNT(*) FROM ops.trading_state") == 0
        with pytest.raises(DatabaseError):
            db.execute("INSERT INTO ops.trading_state (state, kill_switch, reason, set_by, set_at)"
                       " VALUES ('ACTIVE', FALSE, 'x', 'x', now())")


def test_read_only_commands_work_on_an_existing_ledger(duckdb_url: str, clock: SimulatedClock) -> None:
    with connect(duckdb_url) as db:
        st.kill(db, clock, "drill", "operator:test")
    for command in READ_ONLY[:5] + (["golive", "check"],):
        result = runner.invoke(app, ["--database-url", duckdb_url, *command])
        assert result.exit_code in (0, 1), (command, result.output)  # golive check: 1 = NO-GO
    assert "KILL SWITCH ON" in runner.invoke(app, ["--database-url", duckdb_url, "status"]).output


def test_kill_on_an_existing_ledger_sets_the_kill_switch(duckdb_url: str) -> None:
    result = runner.invoke(app, ["--database-url", duckdb_url, "kill", "--reason", "drill"])
    assert result.exit_code == 0, result.output
    with connect(duckdb_url) as db:
        assert st.latest(db).kill_switch
