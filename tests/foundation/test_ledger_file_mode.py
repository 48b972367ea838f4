"""The DuckDB ledger is its owner's alone: file 0600, a directory milkbot creates 0700, loose modes
handled."""

from __future__ import annotations

import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.ledger.db import connect


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture(autouse=True)
def permissive_umask() -> Iterator[None]:
    """The usual umask (files 0644, folders 0755): what made the ledger world-readable."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def test_a_new_ledger_and_its_new_folders_are_private(tmp_path):
    tmp_path.chmod(0o755)
    ledger = tmp_path / "data" / "deep" / "ledger.duckdb"
    with connect(f"duckdb:///{ledger}") as db:
        db.execute("CREATE TABLE t (a INTEGER)")
        db.execute("INSERT INTO t VALUES (1)")
    assert mode(ledger) == 0o600
    assert mode(ledger.parent) == 0o700 and mode(ledger.parent.parent) == 0o700
    assert mode(tmp_path) == 0o755  # an existing folder is left as it was (see the warning test)


def test_milkbot_db_migrate_creates_a_private_ledger(tmp_path):
    from daemon.cli.main import app

    data = tmp_path / "milkbot-data"
    result = CliRunner().invoke(
        app, ["--data-dir", str(data), "db", "migrate"], env={"MILKBOT_DATABASE_URL": ""}
    )
    assert result.exit_code == 0, result.output
    ledgers = list(data.glob("*.duckdb"))
    assert ledgers, list(data.iterdir())
    assert all(mode(p) == 0o600 for p in ledgers) and mode(data) == 0o700


def test_an_existing_readable_ledger_and_wal_are_tightened(tmp_path):
    folder = tmp_path / "private"
    folder.mkdir(mode=0o700)
    ledger = folder / "ledger.duckdb"
    wal = ledger.with_name(ledger.name + ".wal")
    with connect(f"duckdb:///{ledger}") as db:
        db.execute("CREATE TABLE t (a INTEGER)")
        db.execute("PRAGMA disable_checkpoint_on_shutdown")  # leave a WAL behind, as a crash would
        db.execute("INSERT INTO t VALUES (2)")
    assert wal.exists()
    ledger.chmod(0o644)  # as older versions left them
    wal.chmod(0o644)
    db = connect(f"duckdb:///{ledger}", read_only=True)
    try:
        assert mode(ledger) == 0o600 and mode(wal) == 0o600
        assert db.scalar("SELECT count(*) FROM t") == 1
    finally:
        db.close()


def test_an_existing_open_folder_is_warned_about_not_changed(tmp_path, caplog):
    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o755)
    ledger = shared / "ledger.duckdb"
    with caplog.at_level(logging.WARNING, logger="daemon.ledger.file_mode"):
        connect(f"duckdb:///{ledger}").close()
    assert mode(shared) == 0o755 and mode(ledger) == 0o600
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any(str(shared) in w and "chmod 700" in w for w in warnings), warnings


def test_a_private_folder_gives_no_warning(tmp_path, caplog):
    folder = tmp_path / "p"
    folder.mkdir(mode=0o700)
    with caplog.at_level(logging.WARNING, logger="daemon.ledger.file_mode"):
        connect(f"duckdb:///{folder / 'ledger.duckdb'}").close()
    assert [r for r in caplog.records if r.name == "daemon.ledger.file_mode"] == []
