"""`--as-of` later than the clock is refused on both engines, before the ledger is read.

DuckDB has no clamp of its own: a publish "as of 2030" once showed a fill one minute old on every
target.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from publisher_ledger_kit import LedgerKit
from typer.testing import CliRunner

from daemon.ledger.db import connect
from publisher.clock import FixedClock, SystemClock

FUTURE = "2030-01-01T00:00:00Z"


def _fresh_fill(db_url: str):
    """A ledger whose only fill is one minute old by the real clock; returns that clock reading."""
    with connect(db_url) as db:
        now = db.scalar("SELECT now()") if db.engine == "postgres" else SystemClock().now()
        LedgerKit(db, secret="asof").trade(
            now - timedelta(minutes=1),
            "NYC",
            now.date(),
            44,
            received_at=now - timedelta(minutes=1),
        )
    return now


def _one_line(output: str) -> str:
    lines = [line for line in output.splitlines() if line.strip()]
    assert len(lines) == 1, output
    return lines[0]


def test_milkbot_publish_refuses_an_as_of_in_the_future(db_url, tmp_path):
    from daemon.cli.main import app

    _fresh_fill(db_url)
    out = tmp_path / "site"
    args = [
        "--database-url",
        db_url,
        "publish",
        "--target",
        "local",
        "--out",
        str(out),
        "--as-of",
        FUTURE,
    ]
    result = CliRunner().invoke(app, args, env={"MILKBOT_PUBLISHER_DATABASE_URL": ""})
    assert result.exit_code == 2, result.output
    line = _one_line(result.output)
    assert line.startswith(f"publish failed: publish time {FUTURE} is ahead of the clock"), line
    assert "Traceback" not in result.output
    assert not (out / "index.html").exists() and not (out / "api").exists()


def test_python_m_publisher_refuses_an_as_of_in_the_future(db_url, tmp_path):
    from publisher.cli import app

    _fresh_fill(db_url)
    out = tmp_path / "site"
    result = CliRunner().invoke(
        app, ["--target", "local", "--out", str(out), "--at", FUTURE, "--database-url", db_url]
    )
    assert result.exit_code == 2, result.output
    assert "is ahead of the clock" in _one_line(result.output)
    assert not (out / "index.html").exists()


def test_an_as_of_of_now_publishes_without_the_fresh_fill(db_url, tmp_path):
    """The control: the same ledger published as of the present shows no trade under an hour old."""
    from daemon.cli.main import app

    now = _fresh_fill(db_url)
    out = tmp_path / "site"
    as_of = (now - timedelta(seconds=1)).isoformat()
    args = [
        "--database-url",
        db_url,
        "publish",
        "--target",
        "local",
        "--out",
        str(out),
        "--as-of",
        as_of,
    ]
    result = CliRunner().invoke(app, args, env={"MILKBOT_PUBLISHER_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert " 0 trades)" in result.output and (out / "index.html").exists()


def test_parse_at_compares_with_the_injected_clock():
    from publisher.cli import AheadOfClockError, parse_at

    clock = FixedClock(
        SystemClock()
        .now()
        .replace(year=2026, month=1, day=15, hour=12, minute=0, second=0, microsecond=0)
    )
    assert parse_at("2026-01-15T12:00:00Z", clock) == clock.now()
    assert parse_at(None, clock) == clock.now()
    with pytest.raises(AheadOfClockError, match="use --as-of 2026-01-15T12:00Z or earlier"):
        parse_at("2026-01-15T12:00:01Z", clock)
