from pathlib import Path

import pytest

from daemon.config import ConfigError, load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "milkbot.toml"
    path.write_text(text)
    return path


def test_defaults_need_no_file_and_use_embedded_duckdb(tmp_path):
    settings = load_settings(env={"MILKBOT_DATA_DIR": str(tmp_path)})
    assert settings.database_url == f"duckdb:///{tmp_path.resolve()}/milkbot.duckdb"
    assert (settings.env, settings.mode) == ("dev", "shadow")


def test_environments_get_separate_default_databases(tmp_path):
    demo = load_settings(env={"MILKBOT_DATA_DIR": str(tmp_path), "MILKBOT_ENV": "demo", "MILKBOT_MODE": "demo"})
    dev = load_settings(env={"MILKBOT_DATA_DIR": str(tmp_path)})
    assert demo.database_url != dev.database_url


def test_unknown_key_in_file_is_an_error_with_its_path(tmp_path):
    with pytest.raises(ConfigError) as err:
        load_settings(write(tmp_path, "[cities]\nenabeld = ['NYC']\n"), env={})
    assert ("cities.enabeld", "unknown key") in err.value.problems


def test_unknown_environment_override_is_an_error():
    with pytest.raises(ConfigError) as err:
        load_settings(env={"MILKBOT_DATABSE_URL": "duckdb:///x"})
    assert err.value.problems[0][0] == "MILKBOT_DATABSE_URL"


def test_environment_overrides_file(tmp_path):
    path = write(tmp_path, 'log_level = "DEBUG"\n')
    assert load_settings(path, env={}).log_level == "DEBUG"
    assert load_settings(path, env={"MILKBOT_LOG_LEVEL": "ERROR"}).log_level == "ERROR"


def test_live_mode_refused_outside_live_env():
    with pytest.raises(ConfigError, match="requires env 'live'"):
        load_settings(env={"MILKBOT_MODE": "live"})


def test_bad_database_url_is_refused():
    with pytest.raises(ConfigError, match="database_url"):
        load_settings(env={"MILKBOT_DATABASE_URL": "mysql://x"})


def test_missing_and_malformed_files_give_clear_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_settings(tmp_path / "nope.toml", env={})
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_settings(write(tmp_path, "log_level = \n"), env={})


def test_secrets_never_appear_in_canonical_form_or_repr():
    canary = "sk-canary-0d1e2f"
    settings = load_settings(env={"MILKBOT_SENTRY_DSN": f"https://{canary}@sentry.example/1",
                                  "MILKBOT_OPENROUTER_API_KEY": canary,
                                  "MILKBOT_DATABASE_URL": f"postgresql://bot:{canary}@db.example/milkbot"})
    for text in (settings.canonical_json(), repr(settings), str(settings)):
        assert canary not in text
    assert settings.sentry_dsn.get_secret_value().startswith("https://")


def test_hash_is_stable_and_changes_with_any_setting(tmp_path):
    env = {"MILKBOT_DATA_DIR": str(tmp_path)}
    first, again = load_settings(env=env), load_settings(env=env)
    assert first.config_hash == again.config_hash and len(first.config_hash) == 64
    changed = load_settings(env={**env, "MILKBOT_LOG_LEVEL": "DEBUG"})
    assert changed.config_hash != first.config_hash


def test_settings_are_frozen():
    settings = load_settings(env={})
    with pytest.raises(Exception):
        settings.mode = "live"
