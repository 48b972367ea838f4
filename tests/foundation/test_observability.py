import io
import logging

from daemon.config import load_settings
from daemon.observability import _scrub_tree, configure_logging, cycle_id_var, secret_values

CANARY = "canary-5ecret-77aa"


def settings_with_secrets():
    return load_settings(env={"MILKBOT_SENTRY_DSN": f"https://{CANARY}@o1.ingest.example/2",
                              "MILKBOT_OPENROUTER_API_KEY": CANARY + "-or",
                              "MILKBOT_DATABASE_URL": f"postgresql://bot:{CANARY}pw@127.0.0.1/milkbot"})


def test_all_secrets_are_found():
    found = secret_values(settings_with_secrets())
    assert f"https://{CANARY}@o1.ingest.example/2" in found and CANARY + "-or" in found and CANARY + "pw" in found


def test_secrets_never_reach_log_output_even_in_exceptions():
    stream = io.StringIO()
    handler = configure_logging(settings_with_secrets(), stream, level="DEBUG")
    log = logging.getLogger("milkbot.test")
    try:
        token = cycle_id_var.set("c-42")
        log.info("connecting with %s", CANARY + "-or")
        try:
            raise RuntimeError(f"auth failed for postgresql://bot:{CANARY}pw@127.0.0.1/milkbot")
        except RuntimeError:
            log.exception("db down")
        cycle_id_var.reset(token)
    finally:
        logging.getLogger().removeHandler(handler)
    out = stream.getvalue()
    assert CANARY not in out
    assert "[cycle=c-42]" in out and "***" in out and "RuntimeError" in out


def test_sentry_events_are_scrubbed():
    secrets = secret_values(settings_with_secrets())
    event = {"message": f"key {CANARY}-or", "extra": {"list": [f"x{CANARY}pw"]}}
    assert CANARY not in repr(_scrub_tree(event, secrets))


def test_default_handler_follows_stderr_and_is_not_stacked(monkeypatch, capsys):
    """A handler installed while stderr was redirected must not write into that (closed) stream later."""
    import io
    import logging

    root = logging.getLogger()
    before = list(root.handlers)
    redirected = io.StringIO()
    monkeypatch.setattr("sys.stderr", redirected)
    first = configure_logging(settings_with_secrets())
    second = configure_logging(settings_with_secrets())
    try:
        assert [h for h in root.handlers if h.get_name() == "milkbot"] == [second]
        redirected.close()
        monkeypatch.undo()
        logging.getLogger("milkbot.test").warning("after the redirect")
        assert "after the redirect" in capsys.readouterr().err
        assert first not in root.handlers
    finally:
        for handler in [h for h in root.handlers if h not in before]:
            root.removeHandler(handler)
