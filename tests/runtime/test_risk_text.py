"""`milkbot status` and `milkbot risk show` on a real ledger (a daemon run against the simulator): one state,
named the same in both; every worst-case figure labelled with what it measures; human durations; no Python
(None, timedelta reprs) in the text."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path

from _runtime_kit import live_world, step
from test_risk_e2e import _seed_flat_loss
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.clock import SystemClock
from daemon.ledger.db import connect
from daemon.trading import state as st

LABELS = ("open risk (worst-case loss, positions and pending orders together)", "open-risk cap",
          "worst-case loss on open positions", "pending orders' worst-case loss", "bankroll ")
PYTHON = re.compile(r"\bNone\b|\d+ days?, \d+:\d\d:\d\d|\b\d+:\d\d:\d\d(\.\d+)?\b|\{'|Decimal\(")


def _both(url: str, folder: Path) -> tuple[str, str]:
    runner = CliRunner()
    status = runner.invoke(app, ["--database-url", url, "--data-dir", str(folder), "status"])
    risk = runner.invoke(app, ["--database-url", url, "--data-dir", str(folder), "risk", "show"])
    assert status.exit_code == 0 and risk.exit_code == 0, (status.output, risk.output)
    return status.output, risk.output


def _state(output: str) -> str:
    found = re.search(r"^trading state (\S+?)[:,( ]", output, re.MULTILINE)
    assert found, output
    return found.group(1)


def _clean(output: str) -> None:
    assert not PYTHON.search(output), PYTHON.search(output).group(0) + "\n" + output  # type: ignore[union-attr]
    for label in LABELS:
        assert label in output, (label, output)


def test_status_and_risk_show_agree_in_words_a_person_reads(duckdb_url: str, tmp_path: Path) -> None:
    with connect(duckdb_url) as db, live_world(db, tmp_path) as world:
        _seed_flat_loss(db, world.clock.now(), 400)            # > 5 % of $5,000: the daily loss limit trips
        world.daemon.start()
        step(world, 60)
        step(world, 60)
        assert st.latest(db).set_by == "risk:daily_loss"
    # The simulated run was in January: its 24 h pause has ended by the wall clock the CLI reads. Both commands
    # say ACTIVE and that the pause ended — neither "HALTED" nor "ACTIVE until <past time>".
    status, risk = _both(duckdb_url, tmp_path)
    assert _state(status) == _state(risk) == "ACTIVE", (status, risk)
    for output in (status, risk):
        _clean(output)
        assert "bankroll $5000.00 = the lower of configured $5000.00 and exchange cash $" in output, output
        assert "the HALTED pause (daily_loss" in output and "over 24 h) ended at" in output, output
    assert "daily_loss: lost" in risk and "over 24 h" in risk
    assert re.search(r"^  2026-01-05 19:00Z  critical loss_limit ", risk, re.MULTILINE), risk
    assert re.search(r"daily\s+over 24 h\s+\$\s*[\d.]+ / \$250\.00 → HALTED for 24 h", risk), risk

    # A pause running now (written through the engine's own state code with the wall clock): HALTED in both,
    # with its end and the time left in hours.
    with connect(duckdb_url) as db:
        clock = SystemClock()
        st.write(db, clock, "HALTED", "3 order rejects in 10 min", "risk:reject_breaker",
                 until=clock.now() + timedelta(hours=24))
    status, risk = _both(duckdb_url, tmp_path)
    assert _state(status) == _state(risk) == "HALTED"
    for output in (status, risk):
        _clean(output)
        assert re.search(r"trading state HALTED until \d{4}-\d\d-\d\d \d\d:\d\dZ \(in 2[34] h( \d+ min)?\): "
                         r"3 order rejects in 10 min — set by risk:reject_breaker at ", output), output

    # The kill switch: the same words in both.
    assert CliRunner().invoke(app, ["--database-url", duckdb_url, "kill", "--reason", "drill"]).exit_code == 0
    status, risk = _both(duckdb_url, tmp_path)
    assert _state(status) == _state(risk) == "HALTED"
    for output in (status, risk):
        _clean(output)
        assert "HALTED, KILL SWITCH ON: drill — set by operator:" in output, output


def test_a_fresh_ledger_says_no_state_was_recorded(duckdb_url: str, tmp_path: Path) -> None:
    status, risk = _both(duckdb_url, tmp_path)
    for output in (status, risk):
        assert "trading state ACTIVE (no trading state recorded yet)" in output, output
        assert "bankroll unknown: exchange cash never read" in output and "orders blocked" in output, output
        _clean(output)
