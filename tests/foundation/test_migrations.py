import shutil
from pathlib import Path

import pytest

from daemon.ledger.db import connect
from daemon.ledger.migrate import MIGRATIONS_DIR, MigrationError, discover, migrate, status


def test_migrate_is_idempotent_and_recorded(db):
    assert migrate(db) == []  # the fixture already migrated
    rows = db.query("SELECT version, checksum FROM ops.schema_migrations ORDER BY version")
    expected = [m.version for m in discover(MIGRATIONS_DIR, db.engine)]
    assert [r["version"] for r in rows] == sorted(expected)
    assert all(len(r["checksum"]) == 64 for r in rows)


def test_engine_specific_files_apply_only_to_their_engine():
    pg = {m.version for m in discover(MIGRATIONS_DIR, "postgres")}
    duck = {m.version for m in discover(MIGRATIONS_DIR, "duckdb")}
    assert "0002_publisher_role.postgres.sql" in pg and "0002_publisher_role.postgres.sql" not in duck


def copy_migrations(tmp_path: Path) -> Path:
    folder = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS_DIR, folder)
    return folder


def test_an_edited_applied_migration_stops_the_runner(tmp_path):
    folder = copy_migrations(tmp_path)
    with connect(f"duckdb:///{tmp_path / 'l.duckdb'}") as db:
        migrate(db, directory=folder)
        first = folder / "0001_ops.sql"
        first.write_text(first.read_text() + "\n-- edited\n")
        assert [s.migration.version for s in status(db, folder) if s.changed] == ["0001_ops.sql"]
        with pytest.raises(MigrationError, match="0001_ops.sql"):
            migrate(db, directory=folder)


def test_a_failing_migration_leaves_nothing_behind(tmp_path):
    folder = copy_migrations(tmp_path)
    (folder / "0009_broken.sql").write_text("CREATE TABLE ops.half (x INTEGER);\nSELECT * FROM no_such_table;\n")
    with connect(f"duckdb:///{tmp_path / 'l.duckdb'}") as db:
        with pytest.raises(MigrationError, match="0009_broken.sql"):
            migrate(db, directory=folder)
        assert db.scalar("SELECT count(*) FROM information_schema.tables WHERE table_name = 'half'") == 0
        assert "0009_broken.sql" not in {r["version"] for r in db.query("SELECT version FROM ops.schema_migrations")}


def test_badly_named_or_duplicate_numbers_are_refused(tmp_path):
    folder = copy_migrations(tmp_path)
    (folder / "0001_other.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="two migrations numbered 0001"):
        discover(folder, "duckdb")
    (folder / "0001_other.sql").unlink()
    (folder / "7_bad.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name"):
        discover(folder)
