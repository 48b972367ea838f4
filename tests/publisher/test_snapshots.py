"""syrupy snapshots of every JSON feed and HTML page for a fixed seeded ledger, and the same bytes from
both engines (the DuckDB macros and the Postgres functions must agree to the byte)."""

from __future__ import annotations

import random

import pytest
from publisher_ledger_kit import PUBLISH_AT, LedgerKit, seed_history, tree

from publisher.build import build_site
from publisher.config import PublisherConfig

SNAPSHOT_FILES = ["index.html", "trades/index.html", "trades/p000001.html", "cities/nyc.html", "methodology.html",
                  "health.html", "404.html", "_headers", "api/v1/hero.json", "api/v1/cities.json",
                  "api/v1/trades/recent.json", "api/v1/trades/2026-01.json", "api/v1/performance/equity.json",
                  "api/v1/performance/strategies.json", "api/v1/calibration.json", "api/v1/health.json", "api/v1/index.json"]


def _build(ledger, source, tmp_path, name):
    seed_history(LedgerKit(ledger, secret="snap"), PUBLISH_AT, random.Random(20260115), days=6, trades_per_day=4)
    root = tmp_path / name
    build_site(source, PublisherConfig(min_calibration_trades=5, trades_per_page=20), PUBLISH_AT, root)
    return tree(root)


@pytest.fixture(scope="module")
def duck_tree(duckdb_template, tmp_path_factory):
    """Built once per module from a private copy of the migrated DuckDB template."""
    import shutil

    from daemon.ledger.db import connect

    folder = tmp_path_factory.mktemp("snap")
    shutil.copyfile(duckdb_template, folder / "ledger.duckdb")
    with connect(f"duckdb:///{folder / 'ledger.duckdb'}") as ledger:
        return _build(ledger, ledger, folder, "duck")


@pytest.mark.parametrize("path", SNAPSHOT_FILES)
def test_snapshot(duck_tree, path, snapshot):
    assert duck_tree[path].decode("utf-8") == snapshot


def test_both_engines_build_the_same_bytes(duck_tree, pg_db, pg_url, tmp_path):
    pg_tree = _build(pg_db, pg_url, tmp_path, "pg")
    assert duck_tree.keys() == pg_tree.keys()
    assert [p for p in duck_tree if duck_tree[p] != pg_tree[p]] == []
