"""Runs and the configuration versions they used: every decision can name its exact config."""

from __future__ import annotations

import os
import socket

from daemon import __version__
from daemon.clock import Clock
from daemon.config import Settings
from daemon.ledger.db import Database, Json


def record_config_version(db: Database, settings: Settings, clock: Clock) -> str:
    """Store the canonical config under its hash (once); return the hash."""
    db.execute(
        "INSERT INTO ops.config_versions (config_hash, config, first_seen_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
        [settings.config_hash, Json(settings.canonical()), clock.now()],
    )
    return settings.config_hash


def start_run(db: Database, settings: Settings, component: str, clock: Clock) -> int:
    """Open an ops.runs row for this process, after recording its config version."""
    with db.transaction():
        config_hash = record_config_version(db, settings, clock)
        row = db.query_one(
            "INSERT INTO ops.runs (component, mode, env, config_hash, code_version, host, pid, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
            [component, settings.mode, settings.env, config_hash, __version__, socket.gethostname(), os.getpid(), clock.now()],
        )
    return int(row["run_id"])


def finish_run(db: Database, run_id: int, clock: Clock, exit_reason: str) -> None:
    db.execute("UPDATE ops.runs SET stopped_at = ?, exit_reason = ? WHERE run_id = ?", [clock.now(), exit_reason, run_id])
