"""Which exchange host each trading mode may talk to. Checked when settings load and again when a client is
built for a mode (before its first request), so a config, a `model_copy` or a hand-built client cannot point
DEMO at production.

- SHADOW: loopback only (127.0.0.0/8, ::1, localhost): the simulator, never a real exchange.
- DEMO: Kalshi's demo hosts only, over https on the default port.
- LIVE: Kalshi's production hosts only, over https on the default port (its go-live gate is separate).
Hosts come from the Kalshi reference (§1.1: the recommended and the still-supported REST host of each).

Parsing is strict on purpose: userinfo (`https://demo-api.kalshi.co@evil.example`), a trailing dot, an
explicit non-default port, a query, or any character outside a plain host name is refused, never guessed
around. The host must also be what httpx itself would connect to.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

from daemon.exchange.config import API_PATH_PREFIX
from daemon.exchange.errors import ConfigError

PRODUCTION_HOSTS = frozenset({"external-api.kalshi.com", "api.elections.kalshi.com"})
DEMO_HOSTS = frozenset({"external-api.demo.kalshi.co", "demo-api.kalshi.co"})
_NETLOC = re.compile(r"(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?")
_MODE_ENV = {"demo": "demo", "live": "live"}


class ExchangeTargetError(ConfigError):
    """A trading mode was pointed at an exchange it must never reach (an ExchangeError: code wrong_exchange)."""


def exchange_target_problem(mode: str, env: str, url: str) -> str | None:
    """Why `mode` (in `env`) must not send requests to `url`, or None when it may."""
    want_env = _MODE_ENV.get(mode)
    if mode not in ("shadow", "demo", "live"):
        return f"unknown mode {mode!r}"
    if want_env is not None and env != want_env:
        return f"mode {mode!r} requires env {want_env!r}, not {env!r}"
    host = _host(url)
    if host is None:
        return f"exchange URL {url!r} is not a plain http(s) URL with a host name (no user, query or fragment)"
    if mode == "shadow":
        if not _is_loopback(host):
            return f"mode 'shadow' only talks to a loopback simulator (127.0.0.0/8, ::1, localhost), not {host}"
        return None
    allowed, name = (DEMO_HOSTS, "demo") if mode == "demo" else (PRODUCTION_HOSTS, "production")
    parts = urlsplit(url)
    if host not in allowed:
        return f"mode {mode!r} only talks to Kalshi's {name} host ({', '.join(sorted(allowed))}), not {host}"
    if parts.scheme != "https" or parts.port not in (None, 443):
        return f"mode {mode!r} needs https on the default port, not {parts.scheme}://…:{parts.port}"
    if parts.path.rstrip("/") != API_PATH_PREFIX:
        return f"mode {mode!r} needs the path {API_PATH_PREFIX}, not {parts.path or '/'}"
    return None


def check_exchange_target(mode: str, env: str, url: str) -> None:
    problem = exchange_target_problem(mode, env, url)
    if problem is not None:
        raise ExchangeTargetError("wrong_exchange", problem)


def _host(url: str) -> str | None:
    """The lower-case host `url` names, or None if anything about it is unusual."""
    import httpx

    if any(ch.isspace() or ord(ch) < 32 or ch == "\\" for ch in url):
        return None
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
        via_httpx = httpx.URL(url).host
    except (ValueError, httpx.InvalidURL):
        return None
    netloc = parts.netloc.lower()
    if parts.scheme not in ("http", "https") or parts.query or parts.fragment or not _NETLOC.fullmatch(netloc):
        return None
    host = (parts.hostname or "").lower()
    if not host or host.endswith(".") or host != via_httpx.lower().strip("[]"):
        return None
    return host


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False
