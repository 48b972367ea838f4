"""The foundation commands, run as an operator would: one clear line and exit 2 on every fixable problem."""

import subprocess
import sys

from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.ledger.db import connect

runner = CliRunner()


def run(*args, env=None):
    return runner.invoke(app, list(args), env=env or {})


def test_config_show_redacts_secrets_and_prints_the_hash(tmp_path):
    result = run("config", "show", env={"MILKBOT_OPENROUTER_API_KEY": "sk-or-canary-123", "MILKBOT_DATA_DIR": str(tmp_path)})
    assert result.exit_code == 0
    assert "sk-or-canary-123" not in result.output and '"openrouter_api_key": "***"' in result.output
    assert "config_hash: " in result.output


def test_config_check_exits_2_with_field_path(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[trading]\nno_such_limit = 3\n')
    result = run("config", "check", str(bad))
    assert result.exit_code == 2 and "trading.no_such_limit: unknown key" in result.output
    result = run("config", "check", str(tmp_path / "missing.toml"))
    assert result.exit_code == 2 and "does not exist" in result.output


def test_db_migrate_twice_then_status(tmp_path):
    url = f"duckdb:///{tmp_path / 'l.duckdb'}"
    first = run("--database-url", url, "db", "migrate")
    assert first.exit_code == 0 and "applied 0001_ops.sql" in first.output
    second = run("--database-url", url, "db", "migrate")
    assert second.exit_code == 0 and "0 applied" in second.output
    status = run("--database-url", url, "db", "status")
    assert status.exit_code == 0 and "pending" not in status.output


def test_edited_migration_is_reported_and_refused(tmp_path):
    url = f"duckdb:///{tmp_path / 'l.duckdb'}"
    assert run("--database-url", url, "db", "migrate").exit_code == 0
    with connect(url) as db:
        db.execute("UPDATE ops.schema_migrations SET checksum = 'x' WHERE version = '0001_ops.sql'")
    status = run("--database-url", url, "db", "status")
    assert status.exit_code == 2 and "CHANGED" in status.output
    migrate = run("--database-url", url, "db", "migrate")
    assert migrate.exit_code == 2 and "0001_ops.sql" in migrate.output


def test_unreachable_postgres_is_one_line_exit_2():
    result = run("--database-url", "postgresql://nobody:pw-canary@127.0.0.1:1/none?connect_timeout=2", "db", "migrate")
    assert result.exit_code == 2
    assert "cannot connect to Postgres" in result.output and "pw-canary" not in result.output


def test_locked_duckdb_file_is_one_line_exit_2(tmp_path):
    path = tmp_path / "l.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", f"import duckdb,sys; c=duckdb.connect({str(path)!r}); print('ready', flush=True); sys.stdin.read()"],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ready"
        result = run("--database-url", f"duckdb:///{path}", "db", "migrate")
        assert result.exit_code == 2
        assert "another milkbot process" in result.output
    finally:
        holder.stdin.close()
        holder.wait(timeout=30)
