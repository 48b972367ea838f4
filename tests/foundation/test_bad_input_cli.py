"""Bad input through the real CLI (a subprocess running the `milkbot` entry point): one line on stderr, exit 2,
no traceback, nothing lost.

Unwritable places are made in a way that fails even as root: a path under a regular FILE (`…/file/sub`).
A damaged ledger is a real DuckDB file with bytes overwritten mid-file; it must be left byte-for-byte as it was.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
MILKBOT = "from daemon.cli.main import app; app(prog_name='milkbot')"


def milkbot(*args: str, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_") or k == "MILKBOT_TEST_DATABASE_URL"}
    clean.update(PYTHONPATH=str(REPO), **(env or {}))
    return subprocess.run([sys.executable, "-c", MILKBOT, *args], cwd=cwd, env=clean, capture_output=True,
                          text=True, timeout=300, check=False)


def publisher(*args: str, cwd: Path, url: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
    env.update(PYTHONPATH=str(REPO), MILKBOT_PUBLISHER_DATABASE_URL=url)
    return subprocess.run([sys.executable, "-m", "publisher", *args], cwd=cwd, env=env, capture_output=True,
                          text=True, timeout=300, check=False)


def assert_one_line_exit_2(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    err = done.stderr.strip()
    assert done.returncode == 2, (done.returncode, done.stdout[-2000:], err[-3000:])
    assert "Traceback" not in err and "│" not in err, err[-3000:]
    lines = err.splitlines()
    assert len(lines) == 1, lines
    for word in expected:
        assert word in lines[0], lines[0]
    return lines[0]


@pytest.fixture
def under_a_file(tmp_path: Path) -> Path:
    """A directory path whose parent is a regular file: nobody, not even root, can create it."""
    blocker = tmp_path / "file"
    blocker.write_text("keep me\n")
    return blocker / "sub"


@pytest.mark.parametrize("command", [
    ["demo", "--days", "1", "--no-publish"],
    ["status"],
    ["run", "--once"],
    ["db", "migrate"],
    ["kill"],
    ["publish"],
], ids=lambda c: " ".join(c))
def test_a_data_dir_that_cannot_be_created_is_one_line_exit_2(tmp_path, under_a_file, command):
    if command[0] == "demo":
        done = milkbot(*command, "--data-dir", str(under_a_file), cwd=tmp_path)
    else:
        done = milkbot("--data-dir", str(under_a_file), *command, cwd=tmp_path)
    assert_one_line_exit_2(done, str(under_a_file.parent))
    assert under_a_file.parent.read_text() == "keep me\n"


def test_publish_out_that_cannot_be_written_is_one_line_exit_2(tmp_path, under_a_file, duckdb_url):
    done = milkbot("--database-url", duckdb_url, "publish", "--out", str(under_a_file), cwd=tmp_path)
    assert_one_line_exit_2(done, "cannot write the site", str(under_a_file))
    # --out naming an existing regular file: refused, and the file is not replaced by a site.
    done = milkbot("--database-url", duckdb_url, "publish", "--out", str(under_a_file.parent), cwd=tmp_path)
    assert_one_line_exit_2(done, "cannot write the site")
    assert under_a_file.parent.read_text() == "keep me\n"
    done = publisher("--out", str(under_a_file), cwd=tmp_path, url=duckdb_url)
    assert_one_line_exit_2(done, "cannot write the site", str(under_a_file))
    assert under_a_file.parent.read_text() == "keep me\n"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def damaged_ledger(tmp_path: Path) -> Path:
    """A migrated DuckDB ledger with real rows, then 64 KiB overwritten in the middle of its table data.

    The block to damage is the middle one of those DuckDB reports holding ops.risk_events rows
    (`pragma_storage_info`); the file's 3 header blocks of 4 KiB come first, then 256 KiB blocks."""
    import duckdb

    from daemon.ledger.db import connect
    from daemon.ledger.migrate import migrate

    folder = tmp_path / "data"
    path = folder / "milkbot.duckdb"
    with connect(f"duckdb:///{path}") as db:
        migrate(db)
        db.execute("INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) "
                   "SELECT TIMESTAMPTZ '2026-01-01 00:00:00+00' + i * INTERVAL 1 MINUTE, 'stale_data', 'info', "
                   "md5(i::TEXT) || md5((i + 1)::TEXT), '{}' FROM range(200000) t(i)")
        db.execute("CHECKPOINT")
    with duckdb.connect(str(path), read_only=True) as conn:
        blocks = sorted(b for (b,) in conn.execute(
            "SELECT DISTINCT block_id FROM pragma_storage_info('ops.risk_events') WHERE block_id >= 0").fetchall())
        block_size = conn.execute("SELECT block_size FROM pragma_database_size()").fetchone()[0]
    assert len(blocks) > 4, blocks
    with path.open("r+b") as f:
        f.seek(3 * 4096 + blocks[len(blocks) // 2] * block_size + 4096)
        f.write(b"\xde\xad\xbe\xef" * 16384)
    return path


@pytest.mark.parametrize("command", [["status"], ["demo", "--days", "1", "--no-publish"], ["kill"],
                                     ["run", "--once"], ["db", "migrate"]], ids=lambda c: " ".join(c))
def test_a_damaged_ledger_is_one_line_exit_2_and_left_untouched(tmp_path, damaged_ledger, command):
    before = _sha(damaged_ledger)
    folder = damaged_ledger.parent
    if command[0] == "demo":
        done = milkbot(*command, "--data-dir", str(folder), cwd=tmp_path)
    else:
        done = milkbot("--data-dir", str(folder), *command, cwd=tmp_path)
    assert_one_line_exit_2(done, "damaged", str(damaged_ledger), "left as it was")
    assert damaged_ledger.exists() and _sha(damaged_ledger) == before
    assert not damaged_ledger.with_name(damaged_ledger.name + ".wal").exists()


def test_a_healthy_ledger_passes_the_check(tmp_path):
    from daemon.ledger.db import connect
    from daemon.ledger.integrity import check_duckdb_file
    from daemon.ledger.migrate import migrate

    path = tmp_path / "ok.duckdb"
    with connect(f"duckdb:///{path}") as db:
        migrate(db)
    check_duckdb_file(str(path))
    with connect(f"duckdb:///{path}") as db:  # and opens again for writing
        assert db.scalar("SELECT COUNT(*) FROM ops.risk_events") == 0
