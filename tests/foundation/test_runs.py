from daemon.config import load_settings
from daemon.ledger.runs import finish_run, record_config_version, start_run


def test_each_run_names_its_config_version(db, clock, tmp_path):
    settings = load_settings(env={"MILKBOT_DATA_DIR": str(tmp_path)})
    first = start_run(db, settings, "daemon", clock)
    second = start_run(db, settings, "daemon", clock)
    assert second > first
    assert db.scalar("SELECT count(*) FROM ops.config_versions") == 1
    stored = db.query_one("SELECT config FROM ops.config_versions WHERE config_hash = ?", [settings.config_hash])
    assert stored["config"] == settings.canonical()
    other = load_settings(env={"MILKBOT_DATA_DIR": str(tmp_path), "MILKBOT_LOG_LEVEL": "DEBUG"})
    assert record_config_version(db, other, clock) != settings.config_hash
    assert db.scalar("SELECT count(*) FROM ops.config_versions") == 2
    finish_run(db, first, clock, "sigterm")
    row = db.query_one("SELECT exit_reason, stopped_at, config_hash FROM ops.runs WHERE run_id = ?", [first])
    assert row == {"exit_reason": "sigterm", "stopped_at": clock.now(), "config_hash": settings.config_hash}
