"""`milkbot run` (SHADOW, against its loopback simulator) as a real process: SIGTERM finishes the step and exits 0.

The daemon runs on the system clock with a 1 s fast loop; the test waits for evidence that it is trading
(a fast-cycle heartbeat in Postgres; the start-up line with DuckDB, whose file a second process cannot open),
sends SIGTERM, and checks the exit code and what the run left in the ledger. Waits are bounded polls.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.ledger.db import connect

MILKBOT = Path(sys.executable).with_name("milkbot")
WAIT_SECONDS = 60.0


def _start(tmp_path: Path, database_url: str) -> tuple[subprocess.Popen, Path]:
    log = tmp_path / "daemon.log"
    env = {**os.environ, "MILKBOT_CITIES__ENABLED": '["NYC"]', "MILKBOT_MODE": "shadow"}
    env.pop("MILKBOT_DATABASE_URL", None)
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [str(MILKBOT), "--data-dir", str(tmp_path / "data"), "--database-url", database_url, "run",
             "--fast-seconds", "1", "--slow-seconds", "600"],
            stdout=out, stderr=subprocess.STDOUT, env=env, cwd=tmp_path)
    return proc, log


def _wait_for(what: str, ready: Callable[[], bool], proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not ready():
        if proc.poll() is not None:
            pytest.fail(f"daemon exited early ({proc.returncode}) waiting for {what}:\n{log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"timed out waiting for {what}:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)


def _terminate(proc: subprocess.Popen, log: Path) -> str:
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=WAIT_SECONDS)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail(f"daemon ignored SIGTERM:\n{log.read_text()[-3000:]}")
    output = log.read_text()
    assert proc.returncode == 0, output[-3000:]
    assert "daemon stopped cleanly" in output
    assert "Traceback" not in output
    return output


def _assert_run_finished(url: str) -> None:
    with connect(url) as db:
        runs = db.query("SELECT mode, stopped_at, exit_reason FROM ops.runs WHERE component = 'daemon'")
        assert len(runs) == 1
        assert runs[0]["mode"] == "shadow" and runs[0]["exit_reason"] == "sigterm" and runs[0]["stopped_at"]
        beat = db.query_one("SELECT status, detail FROM ops.heartbeats WHERE component = 'daemon'")
        assert beat["status"] == "stopped" and beat["detail"]["reason"] == "sigterm"
        # the last step was finished, not cut off: no order is left between intent commit and send
        assert db.scalar("SELECT COUNT(*) FROM ops.orders WHERE state = 'new'") == 0


def test_sigterm_with_postgres_mid_run(pg_url: str, tmp_path: Path) -> None:
    proc, log = _start(tmp_path, pg_url)
    with connect(pg_url) as db:
        def trading() -> bool:
            beat = db.query_one("SELECT status, detail FROM ops.heartbeats WHERE component = 'daemon'")
            return beat is not None and beat["detail"].get("kind") == "fast"

        _wait_for("a fast cycle", trading, proc, log)
    _terminate(proc, log)
    _assert_run_finished(pg_url)
    with connect(pg_url) as db:
        assert db.scalar("SELECT COUNT(*) FROM ops.decisions") > 0


def test_sigterm_with_duckdb(tmp_path: Path) -> None:
    url = f"duckdb:///{tmp_path / 'data' / 'milkbot.duckdb'}"
    proc, log = _start(tmp_path, url)
    _wait_for("start-up", lambda: "daemon run" in log.read_text(), proc, log)
    _terminate(proc, log)
    _assert_run_finished(url)
    _assert_lock_free(tmp_path / "data" / "milkbot.duckdb.lock")


def _assert_lock_free(path: Path) -> None:
    """The lock file may stay behind; what matters is that nobody holds it any more."""
    import fcntl

    with open(path, "a+") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)   # BlockingIOError if still held
        fcntl.flock(handle, fcntl.LOCK_UN)
