"""Database URLs and driver error texts with every password removed. Pure string work, no imports of the daemon
(the publisher must never import it; the daemon uses this module too, so there is one definition).

A Postgres password can sit in three places, and each is redacted:
- the URL's userinfo: `postgresql://user:PASSWORD@host/db`;
- the URL's query: `postgresql://user@host/db?password=PASSWORD` (also `sslpassword=`);
- a libpq keyword/value string: `host=h user=u password=PASSWORD` or `password='with spaces'`.
Drivers echo the part of a URL they cannot parse (psycopg: `invalid percent-encoded token: "…"`), so an error
text is scrubbed of the passwords its URL holds, in raw and percent-decoded form, and of any `password=…`.
May assume nothing about the input: a string that does not parse is redacted more, never less.
"""

from __future__ import annotations

import re
from urllib.parse import unquote

MASK = "***"
# `password=` / `sslpassword=` followed by a quoted value (possibly unterminated) or a bare one.
_KEYWORD = re.compile(r"(?i)(\b\w*password\s*=\s*)('(?:[^'\\]|\\.)*'?|[^\s'\"]+)")
_URL_IN_TEXT = re.compile(r"(?i)\b[a-z][a-z0-9+.-]*://[^\s\"'<>]+")
# A password shorter than this could not be replaced in free text without mangling it: the detail is withheld.
_MIN_SCRUB = 4


def redact_url(url: str) -> str:
    """`url` safe to print: every password replaced by ***. Keyword/value strings are handled too."""
    if "://" not in url:
        return _KEYWORD.sub(lambda m: m.group(1) + MASK, url)
    scheme, rest = url.split("://", 1)
    head, qmark, query = rest.partition("?")
    query, hash_, fragment = query.partition("#")
    # userinfo ends at the last '@' before the query (a password may contain '/' or '@').
    userinfo, at, hostpath = head.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":" + MASK
    head = f"{userinfo}{at}{hostpath}"
    if qmark:
        query = "&".join(_redact_param(p) for p in query.split("&"))
    return f"{scheme}://{head}{qmark}{query}{hash_}{fragment}"


def _redact_param(param: str) -> str:
    key, eq, _value = param.partition("=")
    if eq and unquote(key).strip().lower().endswith("password"):
        return f"{key}={MASK}"
    return param


def passwords_in(url: str) -> list[str]:
    """Every password `url` carries, as written and percent-decoded (drivers echo either)."""
    found: list[str] = []
    if "://" in url:
        rest = url.split("://", 1)[1]
        head, _, query = rest.partition("?")
        userinfo, at, _ = head.rpartition("@")
        if at and ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
        for param in query.partition("#")[0].split("&"):
            key, eq, value = param.partition("=")
            if eq and unquote(key).strip().lower().endswith("password"):
                found.append(value)
    for match in _KEYWORD.finditer(url):
        value = match.group(2)
        found.append(value)
        if value.startswith("'"):
            found.append(value.strip("'"))
    out: list[str] = []
    for value in found:
        for form in (value, _unquote(value)):
            if form and form not in out:
                out.append(form)
    return out


def _unquote(value: str) -> str:
    try:
        return unquote(value, errors="strict")
    except UnicodeDecodeError:
        return value


def redact_error(text: str, url: str | None = None) -> str:
    """A driver's error text with no password in it: those of `url`, any URL or `password=` it quotes."""
    secrets = passwords_in(url) if url else []
    for secret in sorted((s for s in secrets if len(s) >= _MIN_SCRUB), key=len, reverse=True):
        text = text.replace(secret, MASK)
    text = _URL_IN_TEXT.sub(lambda m: redact_url(m.group(0)), text)
    text = _KEYWORD.sub(lambda m: m.group(1) + MASK, text)
    if any(s in text for s in secrets if len(s) < _MIN_SCRUB):
        return "details withheld: the driver's message quotes the password"
    return text
