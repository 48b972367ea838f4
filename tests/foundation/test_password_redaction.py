"""No database password reaches output, errors, logs or the ledger, in any of the forms a URL can carry it.

Forms: userinfo (`user:pw@`), the query (`?password=pw`), a libpq keyword string (`password=pw`), and the
malformed ones psycopg echoes back (`invalid percent-encoded token: "…"`). Real Postgres throughout: the test
server trusts loopback, so a password in the URL is accepted and ignored there, and a missing role or a
malformed token gives the real driver errors.
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.clock import SimulatedClock
from daemon.config import load_settings
from daemon.ledger.db import connect
from daemon.ledger.runs import start_run
from daemon.observability import configure_logging
from publisher.redact import passwords_in, redact_error, redact_url

REPO = Path(__file__).resolve().parents[2]
CANARY = "Canary7pw"
runner = CliRunner()


def _server(pg_server_url: str) -> str:
    """host:port of the test server."""
    return pg_server_url.split("@", 1)[-1].split("/", 1)[0]


def _bad_urls(hostport: str) -> dict[str, str]:
    """URLs whose connection fails, each carrying the canary as a password."""
    return {
        "userinfo, unknown role": f"postgresql://no_such_role:{CANARY}@{hostport}/postgres",
        "query, unknown role": f"postgresql://no_such_role@{hostport}/postgres?password={CANARY}",
        "malformed userinfo password": f"postgresql://postgres:{CANARY}%ZZ@{hostport}/postgres",
        "malformed query password": f"postgresql://postgres@{hostport}/postgres?password={CANARY}%ZZ",
        "query password, bad option": f"postgresql://postgres@{hostport}/postgres?password={CANARY}&sslmode=no",
    }


@pytest.mark.parametrize(("url", "expected"), [
    ("postgresql://u:pw@h:5432/db", "postgresql://u:***@h:5432/db"),
    ("postgresql://u@h/db?password=pw&sslmode=require", "postgresql://u@h/db?password=***&sslmode=require"),
    ("postgresql://u@h/db?sslmode=require&PassWord=pw", "postgresql://u@h/db?sslmode=require&PassWord=***"),
    ("postgresql://u@h/db?sslpassword=pw", "postgresql://u@h/db?sslpassword=***"),
    ("postgresql://u:p/w@h/db", "postgresql://u:***@h/db"),         # '/' in the password
    ("postgresql://u:p@w@h/db", "postgresql://u:***@h/db"),         # '@' in the password
    ("postgresql://u:pw@h/db?password=x#frag", "postgresql://u:***@h/db?password=***#frag"),
    ("host=h user=u password=pw dbname=d", "host=h user=u password=*** dbname=d"),
    ("host=h password = 'p w' dbname=d", "host=h password = *** dbname=d"),
    ("host=h password='unterminated", "host=h password=***"),
    ("duckdb:///tmp/x.duckdb", "duckdb:///tmp/x.duckdb"),
])
def test_redact_url_removes_every_password_form(url, expected):
    assert redact_url(url) == expected


def test_driver_errors_lose_the_password_raw_or_decoded():
    url = "postgresql://u:S3cr%21t-pw@h/db"
    assert set(passwords_in(url)) == {"S3cr%21t-pw", "S3cr!t-pw"}
    assert "S3cr" not in redact_error('invalid token "S3cr!t-pw" near S3cr%21t-pw', url)
    # A password too short to replace safely in free text: the whole detail is withheld.
    assert "pq" not in redact_error('invalid percent-encoded token: "pq%"', "postgresql://u:pq%@h/db")


def test_config_show_and_check_hide_a_query_password(tmp_path):
    url = f"postgresql://u@127.0.0.1:5432/db?password={CANARY}&sslpassword={CANARY}x"
    shown = runner.invoke(app, ["--data-dir", str(tmp_path), "--database-url", url, "config", "show"])
    assert shown.exit_code == 0, shown.output
    assert CANARY not in shown.output
    assert "password=***&sslpassword=***" in shown.output


def test_config_versions_never_store_a_password(pg_url, tmp_path):
    """The canonical config is stored in ops.config_versions on every run; the password is not in it."""
    for url in (f"{pg_url}?password={CANARY}", pg_url.replace("postgres@", f"postgres:{CANARY}@", 1)):
        settings = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path), "MILKBOT_DATABASE_URL": url})
        with connect(url) as db:  # the server trusts loopback: the password is accepted and ignored
            start_run(db, settings, "test", SimulatedClock(datetime(2026, 1, 15, 12, 0, tzinfo=UTC)))
            stored = db.query("SELECT config::text AS c FROM ops.config_versions")
        assert stored and all(CANARY not in row["c"] for row in stored)


def test_migrate_output_hides_a_query_password(pg_url, tmp_path):
    url = f"{pg_url}?password={CANARY}"
    result = runner.invoke(app, ["--data-dir", str(tmp_path), "--database-url", url, "db", "migrate"])
    assert result.exit_code == 0, result.output
    assert CANARY not in result.output and "password=***" in result.output


@pytest.mark.parametrize("command", [["db", "migrate"], ["db", "status"], ["status"], ["run", "--once"]])
def test_daemon_connect_errors_are_one_line_without_the_password(pg_server_url, tmp_path, command):
    for label, url in _bad_urls(_server(pg_server_url)).items():
        result = runner.invoke(app, ["--data-dir", str(tmp_path), "--database-url", url, *command])
        assert result.exit_code == 2, (label, result.output)
        assert CANARY not in result.output, (label, result.output)
        assert "Canary" not in result.output, (label, result.output)
        lines = result.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: cannot connect to Postgres"), (label, lines)


def test_publisher_connect_errors_are_one_line_without_the_password(pg_server_url, tmp_path):
    """`python -m publisher` in its own process, as the timer runs it."""
    for label, url in _bad_urls(_server(pg_server_url)).items():
        env = {k: v for k, v in os.environ.items() if not k.startswith("MILKBOT_")}
        env.update(PYTHONPATH=str(REPO), MILKBOT_PUBLISHER_DATABASE_URL=url)
        done = subprocess.run([sys.executable, "-m", "publisher", "--out", str(tmp_path / "site")], env=env,
                              cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False)
        assert done.returncode != 0, (label, done.stderr)
        assert "Canary" not in done.stdout + done.stderr, (label, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("publish failed: cannot open"), (label, lines)


def test_log_filter_knows_query_passwords(tmp_path):
    settings = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path),
                                    "MILKBOT_DATABASE_URL": f"postgresql://u@h/db?password={CANARY}"})
    stream = io.StringIO()
    handler = configure_logging(settings, stream=stream)
    try:
        logging.getLogger("milkbot.test").error("driver said: %s", f'bad token "{CANARY}"')
    finally:
        logging.getLogger().removeHandler(handler)
    assert "driver said" in stream.getvalue() and CANARY not in stream.getvalue()
