"""Mode, environment and exchange host agree: SHADOW loopback only, DEMO Kalshi's demo host only, LIVE
production only. Refused when the settings load (`milkbot config check`: one line, exit 2) and again when a
client or a daemon is built for the mode, before any request (a real loopback server counts them)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from daemon.cli.main import app
from daemon.config import ConfigError, load_settings
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import ExchangeConfig
from daemon.exchange.hosts import ExchangeTargetError, exchange_target_problem

PROD = "https://external-api.kalshi.com/trade-api/v2"
PROD_OLD = "https://api.elections.kalshi.com/trade-api/v2"
DEMO = "https://external-api.demo.kalshi.co/trade-api/v2"
DEMO_OLD = "https://demo-api.kalshi.co/trade-api/v2"
DEMO_ENV = {"MILKBOT_ENV": "demo", "MILKBOT_MODE": "demo"}
LIVE_ENV = {"MILKBOT_ENV": "live", "MILKBOT_MODE": "live", "MILKBOT_EXCHANGE__ENVIRONMENT": "production"}
SHADOW_CUSTOM = {"MILKBOT_EXCHANGE__ENVIRONMENT": "custom"}

# (label, mode environment, base URL): each must be refused.
WRONG = [
    ("demo + production URL", DEMO_ENV, PROD),
    ("demo + old production URL", DEMO_ENV, PROD_OLD),
    ("shadow + demo URL", SHADOW_CUSTOM, DEMO),
    ("shadow + demo URL, demo environment", {}, DEMO_OLD),
    ("shadow + production URL", SHADOW_CUSTOM, PROD),
    ("live + demo URL", LIVE_ENV, DEMO),
    ("live + old demo URL", LIVE_ENV, DEMO_OLD),
    ("shadow + private address", SHADOW_CUSTOM, "http://10.0.0.7:8765/trade-api/v2"),
    ("shadow + public name", SHADOW_CUSTOM, "http://example.com/trade-api/v2"),
    ("shadow + userinfo loopback", SHADOW_CUSTOM, "http://127.0.0.1@evil.example:8765/trade-api/v2"),
    ("shadow + localhost look-alike", SHADOW_CUSTOM, "http://localhost.evil.example:8765/trade-api/v2"),
    ("shadow + loopback-looking name", SHADOW_CUSTOM, "http://127.0.0.1.nip.io:8765/trade-api/v2"),
    ("shadow + short IPv4 form", SHADOW_CUSTOM, "http://127.1:8765/trade-api/v2"),
    ("demo + userinfo trick", DEMO_ENV, "https://demo-api.kalshi.co@evil.example/trade-api/v2"),
    ("demo + userinfo with password", DEMO_ENV, "https://demo-api.kalshi.co:443@evil.example/trade-api/v2"),
    ("demo + subdomain look-alike", DEMO_ENV, "https://demo-api.kalshi.co.evil.example/trade-api/v2"),
    ("demo + prefix look-alike", DEMO_ENV, "https://evil-demo-api.kalshi.co/trade-api/v2"),
    ("demo + trailing dot", DEMO_ENV, "https://demo-api.kalshi.co./trade-api/v2"),
    ("demo + other port", DEMO_ENV, "https://demo-api.kalshi.co:8443/trade-api/v2"),
    ("demo + plain http", DEMO_ENV, "http://demo-api.kalshi.co/trade-api/v2"),
    ("demo + backslash", DEMO_ENV, "https://evil.example\\@demo-api.kalshi.co/trade-api/v2"),
    ("demo + query", DEMO_ENV, "https://demo-api.kalshi.co/trade-api/v2?host=x"),
    ("demo + other path", DEMO_ENV, "https://demo-api.kalshi.co/other/v2"),
    ("live + subdomain look-alike", LIVE_ENV, "https://external-api.kalshi.com.evil.example/trade-api/v2"),
    ("live + userinfo trick", LIVE_ENV, "https://external-api.kalshi.com@evil.example/trade-api/v2"),
]
RIGHT = [
    ("demo, default host", DEMO_ENV, None),
    ("demo, old host", DEMO_ENV, DEMO_OLD),
    ("demo, explicit :443, any case", DEMO_ENV, "https://Demo-Api.Kalshi.co:443/trade-api/v2/"),
    ("live, default host", LIVE_ENV, None),
    ("live, old host", LIVE_ENV, PROD_OLD),
    ("shadow, no exchange", {}, None),
    ("shadow, 127.0.0.1", SHADOW_CUSTOM, "http://127.0.0.1:8765/trade-api/v2"),
    ("shadow, 127.8.9.10", SHADOW_CUSTOM, "http://127.8.9.10:8765/trade-api/v2"),
    ("shadow, ::1", SHADOW_CUSTOM, "http://[::1]:8765/trade-api/v2"),
    ("shadow, localhost", SHADOW_CUSTOM, "http://localhost:8765/trade-api/v2"),
]


def _env(tmp_path, base: dict[str, str], url: str | None) -> dict[str, str]:
    env = {"MILKBOT_DATA_DIR": str(tmp_path), **base}
    if url is not None:
        env["MILKBOT_EXCHANGE__BASE_URL"] = url
    return env


@pytest.mark.parametrize(("label", "base", "url"), WRONG, ids=[w[0] for w in WRONG])
def test_wrong_host_for_the_mode_is_refused_at_load(tmp_path, label, base, url):
    with pytest.raises(ConfigError, match="exchange.base_url"):
        load_settings(None, _env(tmp_path, base, url))


@pytest.mark.parametrize(("label", "base", "url"), WRONG[:8], ids=[w[0] for w in WRONG[:8]])
def test_config_check_fails_with_one_line_and_exit_2(tmp_path, monkeypatch, label, base, url):
    for key in [k for k in list(__import__("os").environ) if k.startswith("MILKBOT_")]:
        monkeypatch.delenv(key)
    for key, value in _env(tmp_path, base, url).items():
        monkeypatch.setenv(key, value)
    result = CliRunner().invoke(app, ["config", "check"])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("config error:") and "exchange.base_url" in lines[0], lines


@pytest.mark.parametrize(("label", "base", "url"), RIGHT, ids=[r[0] for r in RIGHT])
def test_matching_host_for_the_mode_loads(tmp_path, label, base, url):
    load_settings(None, _env(tmp_path, base, url))


def test_demo_mode_needs_the_demo_environment(tmp_path):
    with pytest.raises(ConfigError, match="exchange.environment"):
        load_settings(None, _env(tmp_path, {**DEMO_ENV, "MILKBOT_EXCHANGE__ENVIRONMENT": "custom"}, DEMO))
    with pytest.raises(ConfigError, match="exchange.environment"):
        load_settings(None, _env(tmp_path, {**DEMO_ENV, "MILKBOT_EXCHANGE__ENVIRONMENT": "production"}, None))


def _mode_env(base: dict[str, str]) -> tuple[str, str]:
    return base.get("MILKBOT_MODE", "shadow"), base.get("MILKBOT_ENV", "dev")


@pytest.mark.parametrize(("label", "base", "url"), WRONG, ids=[w[0] for w in WRONG])
def test_a_client_built_for_the_mode_refuses_before_any_request(clock, label, base, url):
    mode, env = _mode_env(base)
    with pytest.raises(ExchangeTargetError):
        KalshiClient(url, None, None, clock, mode=mode, env=env)
    environment = base.get("MILKBOT_EXCHANGE__ENVIRONMENT", "demo" if mode != "live" else "production")
    cfg = ExchangeConfig.model_construct(**{**ExchangeConfig().__dict__, "environment": environment,
                                            "base_url": url})  # as if validation had been bypassed
    with pytest.raises(ExchangeTargetError):
        KalshiClient.from_config(cfg, clock, mode=mode, env=env)


def test_mode_and_env_must_agree_at_the_client_too(clock):
    assert exchange_target_problem("demo", "dev", DEMO) is not None
    assert exchange_target_problem("live", "demo", PROD) is not None
    with pytest.raises(ExchangeTargetError, match="requires env"):
        KalshiClient(DEMO, None, None, clock, mode="demo", env="live")


def test_the_daemon_refuses_a_client_its_mode_must_not_use(tmp_path, duckdb_db, clock, registry, stub):
    """Settings copied past validation (as `model_copy` does) and a client built without a mode: the daemon
    still refuses before its first request, and nothing is recorded as a run."""
    from daemon.runtime.daemon import Daemon

    state, loopback_url = stub
    shadow = load_settings(None, {"MILKBOT_DATA_DIR": str(tmp_path)})
    demo = shadow.model_copy(update={"env": "demo", "mode": "demo"})
    for settings, url in ((demo, loopback_url), (demo, PROD), (shadow, DEMO),
                          (shadow.model_copy(update={"mode": "live"}), PROD)):
        client = KalshiClient(url, None, None, clock)
        with pytest.raises(ExchangeTargetError):
            Daemon(settings, duckdb_db, clock, client, None, registry)
        assert client.request_count == 0
        client.close()
    assert state.requests == []
    assert duckdb_db.scalar("SELECT COUNT(*) FROM ops.runs") == 0
    # The one that matches: SHADOW on loopback is built (no request needed to construct it).
    with KalshiClient(loopback_url, None, None, clock) as client:
        Daemon(shadow, duckdb_db, clock, client, None, registry)
