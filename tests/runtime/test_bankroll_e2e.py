"""The bankroll the caps are sized on: the configured bankroll, never more than the exchange's cash — through the
real daemon against the simulator, and `risk show` / `status` print exactly the numbers the engine enforces."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from _runtime_kit import live_world, settings_for, step
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.ledger.db import connect
from daemon.trading.config import TradingConfig

PER_EVENT = Decimal("0.004")   # $20 of the $5,000 configured bankroll; $4,000 of a $1 M account


def _settings(folder: Path):
    return settings_for(folder).model_copy(update={"trading": TradingConfig(max_per_event_pct=PER_EVENT)})


def _cli(url: str, folder: Path, *args: str):
    return CliRunner().invoke(app, ["--database-url", url, "--data-dir", str(folder), *args])


def test_a_million_dollar_account_sizes_caps_on_the_configured_bankroll(pg_url: str, tmp_path: Path) -> None:
    with connect(pg_url) as db, live_world(db, tmp_path, settings=_settings(tmp_path),
                                           balance_cents=100_000_000) as world:
        world.daemon.start()
        breaches = []
        for _ in range(4):
            step(world, 60)
            breaches = [r["detail"] for r in db.query("SELECT detail FROM ops.risk_events WHERE kind = 'cap_breach'")
                        if r["detail"]["limit"] == "per_event"]
            if breaches:
                break
        assert breaches, "the per-event cap never fired"
        assert {d["allowed"] for d in breaches} == {"20.00"}                 # not $4,000
        engine_limits = world.daemon.risk.limits()
        assert world.daemon._bankroll == Decimal(5000) and engine_limits.per_event == Decimal("20.00")
        report = world.daemon.risk.exposure_report()
        assert report.by_event and max(report.by_event.values()) <= Decimal("20.00")

        shown = _cli(pg_url, tmp_path, "risk", "show", "--json")            # while the daemon's ledger is open
        assert shown.exit_code == 0, shown.output
        data = json.loads(shown.output)
        assert data["bankroll"]["enforced"] == "5000" and data["bankroll"]["basis"] == "configured"
        assert Decimal(data["bankroll"]["exchange_cash"]) > Decimal(900_000)
        assert data["caps"] == {k: str(v) for k, v in report.limits.items()}   # the engine's own numbers
        assert Decimal(data["exposure"]["open_risk"]) == report.open_risk
        text = _cli(pg_url, tmp_path, "risk", "show").output
        status = _cli(pg_url, tmp_path, "status").output
        for output in (text, status):
            assert "bankroll $5000.00 = the lower of configured $5000.00 and exchange cash" in output, output
            assert f"of the ${engine_limits.open_risk} open-risk cap" in output, output
        assert "per event $20.00" in text


def test_no_balance_ever_read_blocks_every_order(pg_url: str, tmp_path: Path) -> None:
    """Unknown bankroll (the exchange never answered the balance): no order, a risk event, and both commands
    say orders are blocked."""
    with connect(pg_url) as db, live_world(db, tmp_path, settings=_settings(tmp_path)) as world:
        world.server.faults.fail_next(r"/portfolio/balance", "500", count=10_000)   # never answers
        world.daemon.start()
        stats = step(world, 60)
        assert stats.decisions > 0
        assert db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL") == 0
        assert world.daemon._bankroll is None
        data = json.loads(_cli(pg_url, tmp_path, "risk", "show", "--json").output)
        assert data["bankroll"]["enforced"] is None and data["orders_blocked"] is True
        status = _cli(pg_url, tmp_path, "status").output
        assert "bankroll unknown" in status and "orders blocked" in status, status

