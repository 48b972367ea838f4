"""Pages target (wrangler invocation, `_headers`), chart determinism, and the `milkbot publish` command."""

from __future__ import annotations

import json
import os
import stat
from datetime import timedelta

import pytest
from pydantic import SecretStr

from publisher import charts
from publisher.build import build_site
from publisher.config import PublisherConfig
from publisher.headers import CSP, headers_file, parse_headers
from publisher.models import CalibrationBin, EquityPoint
from publisher.targets.pages import PagesError, deploy


def test_headers_file_is_strict_and_within_pages_limits():
    text = headers_file()
    blocks = parse_headers(text)
    assert len(blocks) <= 100 and all(len(line) <= 2000 for line in text.splitlines())
    root = dict(blocks[0][1])
    assert blocks[0][0] == "/*" and root["Content-Security-Policy"] == CSP
    assert "default-src 'none'" in CSP and "unsafe" not in CSP and "frame-ancestors 'none'" in CSP
    assert root["X-Content-Type-Options"] == "nosniff"
    charts_block = next(b for b in blocks if b[0] == "/charts/*")
    assert "Content-Security-Policy" in charts_block[2] and "script" not in charts_block[1]["Content-Security-Policy"]


def fake_wrangler(tmp_path):
    """Stands in for the network deploy (never run for real in tests): records its argv and environment."""
    script = tmp_path / "wrangler"
    script.write_text("#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$HOME/argv\"\nenv > \"$HOME/env\"\nls \"$3\" > \"$HOME/files\"\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return script


def test_pages_deploy_passes_only_the_cloudflare_token(tmp_path, monkeypatch, duckdb_db, publish_at):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KALSHI_PRIVATE_KEY", "must-not-reach-wrangler")
    config = PublisherConfig(target="pages", pages_project="milkbot", wrangler_command=str(fake_wrangler(tmp_path)),
                             cloudflare_api_token=SecretStr("cf-token"), cloudflare_account_id="acct",
                             r2_secret_access_key=SecretStr("r2-secret"))
    site = tmp_path / "site"
    build_site(duckdb_db, config, publish_at, site)
    report = deploy(config, site)
    argv = (tmp_path / "argv").read_text().split()
    assert argv[:3] == ["pages", "deploy", str(site)] and "--project-name=milkbot" in argv
    env = (tmp_path / "env").read_text()
    assert "CLOUDFLARE_API_TOKEN=cf-token" in env and "CLOUDFLARE_ACCOUNT_ID=acct" in env
    assert "must-not-reach-wrangler" not in env and "r2-secret" not in env
    files = (tmp_path / "files").read_text().split()
    assert "_headers" in files and "index.html" in files and "release.json" not in files
    assert "index.html" in report.uploaded


def test_pages_without_wrangler_is_a_clear_error(tmp_path, duckdb_db, publish_at):
    config = PublisherConfig(pages_project="milkbot", wrangler_command="/nonexistent/wrangler")
    build_site(duckdb_db, config, publish_at, tmp_path / "site")
    with pytest.raises(PagesError, match="not found"):
        deploy(config, tmp_path / "site")


def test_charts_are_byte_deterministic_and_carry_no_date():
    points = [EquityPoint(date=f"2026-01-{d:02d}", daily_pnl="1.0000", cumulative_pnl=f"{d - 10}.5000",
                          settled_markets=1) for d in range(1, 31)]
    first, second = charts.equity_chart(points, "x"), charts.equity_chart(list(points), "x")
    assert first == second and b"<dc:date>" not in first and b"Matplotlib v" not in first
    assert charts.equity_chart(points[:-1], "x") != first
    bins = [CalibrationBin(lo=i / 10, hi=(i + 1) / 10, trades=i * 3, mean_predicted=i / 10 + 0.05 if i else None,
                           realised_rate=i / 10 if i else None, enough_data=i > 4) for i in range(10)]
    assert charts.calibration_chart(bins, "c") == charts.calibration_chart(bins, "c")


def test_home_page_is_small(duckdb_db, publish_at, tmp_path):
    import random

    from publisher_ledger_kit import LedgerKit, seed_history

    seed_history(LedgerKit(duckdb_db), publish_at, random.Random(2), days=40, trades_per_day=20)
    root = tmp_path / "site"
    build_site(duckdb_db, PublisherConfig(), publish_at, root)
    html = (root / "index.html").read_text()
    linked = [p for p in (root / "assets").iterdir()] + list((root / "charts").glob("equity-30d.*.svg"))
    total = len(html.encode()) + sum(p.stat().st_size for p in linked)
    assert total < 200_000, total


def test_milkbot_publish_command(duckdb_url, publish_at, tmp_path):
    import random

    from publisher_ledger_kit import LedgerKit, seed_history
    from typer.testing import CliRunner

    from daemon.cli.main import app
    from daemon.ledger.db import connect

    with connect(duckdb_url) as ledger:
        seed_history(LedgerKit(ledger), publish_at, random.Random(9))
    out = tmp_path / "site"
    args = ["--database-url", duckdb_url, "publish", "--target", "local", "--out", str(out),
            "--as-of", publish_at.isoformat()]
    result = CliRunner().invoke(app, args, env={"MILKBOT_PUBLISHER_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    assert "uploaded" in result.output and json.loads((out / "api/v1/hero.json").read_text())["as_of"] == \
        (publish_at - timedelta(minutes=60)).strftime("%Y-%m-%dT%H:%M:00Z")
    again = CliRunner().invoke(app, args, env={"MILKBOT_PUBLISHER_DATABASE_URL": ""})
    assert "uploaded 0," in again.output            # same data, same time: nothing changed
    assert not os.path.exists(out.with_name(".site.staging"))


def test_a_failed_build_leaves_the_previous_local_release(duckdb_db, publish_at, tmp_path):
    from publisher.db import PublisherDBError
    from publisher.publish import publish

    out = tmp_path / "site"
    publish(duckdb_db, PublisherConfig(), publish_at, target="local", out_dir=out)
    before = (out / "api/v1/hero.json").read_bytes()

    class Broken:
        engine = "duckdb"

        def query(self, sql, params=()):
            raise PublisherDBError("database went away")

        def stream(self, sql, params=()):
            raise PublisherDBError("database went away")
            yield  # pragma: no cover

        def close(self):
            pass

    with pytest.raises(PublisherDBError):
        publish(Broken(), PublisherConfig(), publish_at + timedelta(minutes=5), target="local", out_dir=out)
    assert (out / "api/v1/hero.json").read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
