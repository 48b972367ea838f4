"""Logging and error reporting that cannot leak secrets.

Every log record carries the current cycle id (a context variable set by the scheduler), and every
message passes through a filter that replaces the value of each configured secret with `***` — so
even a secret that reaches a log call by mistake (an exception text, a URL) never reaches the output.
Sentry, when a DSN is configured, gets the same scrubbing before anything is sent.
"""

from __future__ import annotations

import contextvars
import logging
import sys
from collections.abc import Iterable
from typing import Any, TextIO

from pydantic import BaseModel, SecretStr

cycle_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("cycle_id", default="-")
LOG_FORMAT = "%(asctime)s %(levelname)s %(name)s [cycle=%(cycle_id)s] %(message)s"
_HANDLER_NAME = "milkbot"


def secret_values(settings: BaseModel) -> list[str]:
    """Every secret string in a settings tree, plus the passwords inside the database URL."""
    found: list[str] = []
    for name in type(settings).model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr) and value.get_secret_value():
            found.append(value.get_secret_value())
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
        elif name == "database_url" and isinstance(value, str):
            from publisher.redact import passwords_in

            found.extend(passwords_in(value))  # userinfo, ?password= and keyword forms
    return [s for s in found if len(s) >= 4]  # shorter strings would mangle ordinary text


def scrub(text: str, secrets: Iterable[str]) -> str:
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text


class RedactingFilter(logging.Filter):
    """Adds `cycle_id` and replaces secret values in the fully formatted message and exception text."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self._secrets = [s for s in secrets if s]

    def filter(self, record: logging.LogRecord) -> bool:
        record.cycle_id = cycle_id_var.get()
        if self._secrets:
            record.msg = scrub(record.getMessage(), self._secrets)
            record.args = None
            if record.exc_info:
                record.exc_text = scrub(logging.Formatter().formatException(record.exc_info), self._secrets)
                record.exc_info = None
        return True


class _StderrHandler(logging.StreamHandler):
    """Writes to whatever `sys.stderr` is at emit time, so a handler installed under a redirected stderr (a CLI
    runner, a test) never writes into a closed stream later."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property  # type: ignore[override]
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def configure_logging(settings: BaseModel, stream: TextIO | None = None, level: str | None = None) -> logging.Handler:
    """Install milkbot's one handler on the root logger (replacing an earlier one) with the redacting filter."""
    handler = logging.StreamHandler(stream) if stream is not None else _StderrHandler()
    handler.setFormatter(logging.Formatter(LOG_FORMAT))
    handler.addFilter(RedactingFilter(secret_values(settings)))
    handler.set_name(_HANDLER_NAME)
    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level or getattr(settings, "log_level", "INFO"))
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one INFO line per request would drown the cycle logs
    return handler


def init_sentry(settings: Any) -> bool:
    """Start Sentry if a DSN is configured. Events are scrubbed of every secret before they leave."""
    dsn = getattr(settings, "sentry_dsn", None)
    if dsn is None:
        return False
    import sentry_sdk

    secrets = secret_values(settings)

    def before_send(event: dict, _hint: dict) -> dict:
        return _scrub_tree(event, secrets)

    sentry_sdk.init(dsn=dsn.get_secret_value(), send_default_pii=False, before_send=before_send,
                    environment=getattr(settings, "env", "dev"))
    return True


def _scrub_tree(value: Any, secrets: list[str]) -> Any:
    if isinstance(value, str):
        return scrub(value, secrets)
    if isinstance(value, dict):
        return {k: _scrub_tree(v, secrets) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub_tree(v, secrets) for v in value]
    return value
