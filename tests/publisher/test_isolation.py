"""The publisher reads analytics only, never imports the daemon, and runs with no trading credential."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest

from publisher.db import PostgresReader, PublisherDBError

REPO = Path(__file__).resolve().parents[2]


def test_publisher_never_imports_daemon():
    offenders = []
    for path in sorted((REPO / "publisher").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.name}: {n}" for n in names if n == "daemon" or n.startswith("daemon.")]
    assert offenders == []
    code = ("import sys, publisher.cli, publisher.publish, publisher.targets.r2, publisher.targets.pages, "
            "publisher.preview; bad = [m for m in sys.modules if m.split('.')[0] == 'daemon']; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_publishes_with_a_stripped_environment(duckdb_url, publish_at, tmp_path):
    import random

    from publisher_ledger_kit import LedgerKit, seed_history

    from daemon.ledger.db import connect

    with connect(duckdb_url) as ledger:
        seed_history(LedgerKit(ledger, secret="env"), publish_at, random.Random(5))
    env = {"PATH": os.environ["PATH"], "HOME": str(tmp_path), "MPLCONFIGDIR": str(tmp_path / "mpl")}
    out = tmp_path / "site"
    done = subprocess.run(
        [sys.executable, "-m", "publisher", "--target", "local", "--out", str(out), "--at", publish_at.isoformat(),
         "--database-url", duckdb_url], env=env, cwd=REPO, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert "uploaded" in done.stdout and (out / "index.html").exists()
    assert not any(k.startswith(("KALSHI", "MILKBOT_EXCHANGE")) for k in env)


@pytest.mark.postgres
def test_publisher_role_reads_analytics_but_not_ops(pg_db, pg_url):
    reader = PostgresReader(pg_url, role="milkbot_publisher")
    try:
        assert reader.query("SELECT current_user AS u")[0]["u"] == "milkbot_publisher"
        for table in ("ops.fills", "ops.orders", "ops.decisions", "ops.intents", "ops.runs", "ops.positions"):
            with pytest.raises(PublisherDBError, match="permission denied"):
                reader.query(f"SELECT * FROM {table}")
        status = reader.query("SELECT * FROM analytics.system_status(?)", ["2026-01-15T11:00:00Z"])
        assert status[0]["decisions_24h"] == 0
        with pytest.raises(PublisherDBError, match="read-only|permission denied"):
            reader.query("CREATE TABLE analytics.x (a INTEGER)")
    finally:
        reader.close()


@pytest.mark.postgres
def test_database_clamps_the_cutoff_to_its_own_clock(pg_db, pg_url):
    """Even a publisher asking for the present sees nothing younger than the database's now() − 60 min."""
    from publisher_ledger_kit import LedgerKit

    now = pg_db.scalar("SELECT now()")
    kit = LedgerKit(pg_db, secret="clamp")
    kit.trade(now - timedelta(minutes=90), "NYC", now.date(), 40, received_at=now - timedelta(minutes=89))
    kit.trade(now - timedelta(minutes=5), "NYC", now.date(), 41, received_at=now - timedelta(minutes=4))
    reader = PostgresReader(pg_url, role="milkbot_publisher")
    try:
        rows = reader.query("SELECT ticker FROM analytics.public_trades(?)", [now + timedelta(days=1)])
    finally:
        reader.close()
    assert [r["ticker"][-5:] for r in rows] == ["B40.5"]


@pytest.mark.postgres
def test_a_publish_time_ahead_of_the_database_clock_is_refused(pg_db, pg_url, tmp_path):
    from publisher.build import build_site
    from publisher.config import PublisherConfig
    from publisher.queries import EmbargoError

    future = pg_db.scalar("SELECT now()") + timedelta(days=2)
    with pytest.raises(EmbargoError, match="ahead of the database clock"):
        build_site(pg_url, PublisherConfig(), future, tmp_path / "site")


@pytest.mark.postgres
def test_the_future_cutoff_is_refused_before_anything_is_built(pg_db, pg_url, tmp_path):
    from publisher.build import build_site
    from publisher.config import PublisherConfig
    from publisher.queries import FutureCutoffError

    db_now = pg_db.scalar("SELECT now()")
    with pytest.raises(FutureCutoffError, match=r"use --as-of \S+ or earlier") as caught:
        build_site(pg_url, PublisherConfig(), db_now + timedelta(hours=3), tmp_path / "site")
    assert list((tmp_path / "site").iterdir()) == []
    # the hint is right: the suggested time (the database's now, floored) publishes
    latest = caught.value.database_cutoff.replace(second=0, microsecond=0) + timedelta(minutes=60)
    assert abs(latest - db_now) < timedelta(minutes=2)
    build_site(pg_url, PublisherConfig(), latest - timedelta(minutes=1), tmp_path / "ok")
    assert (tmp_path / "ok" / "index.html").exists()


@pytest.mark.postgres
def test_milkbot_publish_as_of_ahead_of_the_postgres_clock_is_one_line(pg_db, pg_url, tmp_path):
    from typer.testing import CliRunner

    from daemon.cli.main import app

    db_now = pg_db.scalar("SELECT now()")
    out = tmp_path / "site"

    def run(as_of):
        args = ["--database-url", pg_url, "publish", "--target", "local", "--out", str(out),
                "--as-of", as_of.isoformat()]
        return CliRunner().invoke(app, args, env={"MILKBOT_PUBLISHER_DATABASE_URL": ""})

    ok = run(db_now - timedelta(hours=1))
    assert ok.exit_code == 0, ok.output
    before = (out / "api/v1/hero.json").read_bytes()

    refused = run(db_now + timedelta(days=1))
    assert refused.exit_code == 2, refused.output
    assert refused.exception is None or isinstance(refused.exception, SystemExit)
    lines = [line for line in refused.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("publish failed: publish time "), refused.output
    assert "is ahead of the" in lines[0] and "Traceback" not in refused.output
    assert (out / "api/v1/hero.json").read_bytes() == before          # the previous release stays
