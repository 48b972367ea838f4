"""Every duration and limit has finite, sane bounds, checked at config load; a limit that cannot be evaluated
at run time refuses orders (fail closed) and records why."""

from __future__ import annotations

import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from daemon.clock import SimulatedClock
from daemon.config import ConfigError, load_settings
from daemon.ledger.db import Database
from daemon.trading.config import TradingConfig
from daemon.trading.risk import ProposedOrder, RiskEngine

sys.path.insert(0, str(Path(__file__).parent))
from _risk_kit import DAY, add_fill, add_settlement, risk_events, ticker

D = Decimal
# Every duration / count / amount of the trading policy and the weather staleness limits, with a value past its
# bound. inf and 1e300 are refused for all of them.
TOO_BIG = {
    "trading": {"bankroll": "1e300", "max_contracts": "1e9", "min_depth": "1e12",
                "no_trade_minutes_before_close": "1441", "daily_pause_hours": "721",
                "reject_breaker_count": "1001", "reject_breaker_minutes": "1441",
                "reject_pause_minutes": "43201", "max_market_data_age_seconds": "3601",
                "reprice_seconds": "86401", "max_chase_cents": "100", "stale_intent_seconds": "86401"},
    "weather": {"max_forecast_age_minutes": "2881", "max_observation_age_minutes": "1441",
                "gridpoint_ttl_hours": "721", "poll_interval_minutes": "1441",
                "connect_timeout_seconds": "301", "read_timeout_seconds": "301"},
    "exchange": {"connect_timeout_s": "301", "read_timeout_s": "301", "write_timeout_s": "301"},
    "exchange.retry": {"backoff_base_s": "61", "backoff_max_s": "301"},
}
CASES = [(section, name, value) for section, fields in TOO_BIG.items() for name, value in fields.items()]
_INTEGERS = {"reject_breaker_count", "max_chase_cents", "max_forecast_age_minutes", "max_observation_age_minutes",
             "gridpoint_ttl_hours", "poll_interval_minutes"}
FLOATS = [(s, n) for s, n, _ in CASES if n not in _INTEGERS]


def _load(tmp_path: Path, section: str, name: str, value: str) -> Any:
    """As an environment override where one exists (one level deep), else from a TOML file."""
    if "." not in section:
        return load_settings(None, {f"MILKBOT_{section.upper()}__{name.upper()}": value})
    config = tmp_path / "milkbot.toml"
    config.write_text(f"[{section}]\n{name} = {value}\n")
    return load_settings(config, {})


@pytest.mark.parametrize(("section", "name", "value"), CASES)
def test_a_limit_past_its_bound_is_refused_at_load(tmp_path: Path, section: str, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, section, name, value)
    assert [path for path, _ in err.value.problems] == [f"{section}.{name}"], err.value.problems


@pytest.mark.parametrize(("section", "name"), FLOATS)
@pytest.mark.parametrize("value", ["inf", "1e300", "nan"])
def test_infinite_durations_are_refused_at_load(tmp_path: Path, section: str, name: str, value: str) -> None:
    with pytest.raises(ConfigError) as err:
        _load(tmp_path, section, name, value)
    assert [path for path, _ in err.value.problems] == [f"{section}.{name}"], err.value.problems


def test_inf_in_a_toml_file_is_refused_with_one_clear_line(tmp_path: Path) -> None:
    from daemon.cli.main import app

    config = tmp_path / "milkbot.toml"
    config.write_text("[trading]\ndaily_pause_hours = inf\n")
    result = CliRunner().invoke(app, ["--config", str(config), "--data-dir", str(tmp_path), "config", "check"])
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("config error: trading.daily_pause_hours:"), result.output
    assert "Traceback" not in result.output


def test_the_defaults_and_the_bounds_themselves_load() -> None:
    TradingConfig(daily_pause_hours=720.0, reject_pause_minutes=43200.0, stale_intent_seconds=86400.0)
    load_settings(None, {})


# -- fail closed -----------------------------------------------------------------------------------------------
def _unevaluable(**broken: Any) -> TradingConfig:
    """A policy that slipped past validation (as `inf` did before the bounds): built without validating."""
    valid = TradingConfig(bankroll=D("1000"))
    return TradingConfig.model_construct(**{**dict(valid), **broken})


def _order(count: str = "5") -> ProposedOrder:
    return ProposedOrder(ticker("NYC", "B44.5"), "NYC", DAY, "yes", "buy", D(count), D("0.40"), "k1")


def _lose_today(db: Database, clock: SimulatedClock) -> None:
    t = add_fill(db, clock, "NYC", bracket="B30.5", count="100", price="0.60")  # 61.68 > the $50 daily limit
    add_settlement(db, clock, t, "NYC", result="no", revenue="0", at=clock.now())


def test_a_loss_limit_that_cannot_be_evaluated_refuses_every_order(db: Database, clock: SimulatedClock,
                                                                  registry) -> None:
    _lose_today(db, clock)
    policy = _unevaluable(daily_pause_hours=float("inf"))
    risk = RiskEngine(db, clock, policy, registry, lambda: policy.bankroll)
    with pytest.raises(OverflowError):
        risk.evaluate_loss_limits()           # the slow cycle's evaluation fails ...
    verdict = risk.check(_order())            # ... and the next order, at the same instant, is refused
    assert not verdict.allowed and verdict.max_count == 0, verdict
    assert "risk check failed" in verdict.reasons[0]
    errors = risk_events(db, "limit_error")
    assert errors and errors[0]["detail"]["limit"] == "loss_limits" and "OverflowError" in errors[0]["message"]
    refused = [e for e in errors if e["intent_key"] == "k1"]
    assert refused and refused[0]["detail"]["allowed"] == "every limit evaluable"
    assert not risk.check(_order("1")).allowed  # still refused: nothing lets a failing limit through
    assert len([e for e in risk_events(db, "limit_error") if e["detail"]["limit"] == "loss_limits"]) == 1


def test_a_cap_that_cannot_be_evaluated_refuses_without_halting(db: Database, clock: SimulatedClock,
                                                               registry) -> None:
    from daemon.trading import state as st

    policy = _unevaluable(max_per_trade_pct="0.02")  # a str where a Decimal belongs: the cap arithmetic raises
    risk = RiskEngine(db, clock, policy, registry, lambda: policy.bankroll)
    verdict = risk.check(_order())
    assert not verdict.allowed and verdict.max_count == 0
    assert risk_events(db, "limit_error")[0]["detail"]["limit"] == "risk_check"
    assert st.latest(db).state == "ACTIVE"  # not a database failure: the breaker's HALT is not claimed
