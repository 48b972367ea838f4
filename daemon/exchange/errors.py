"""Exchange error taxonomy, grouped by how the caller must react.

    ExchangeError(code, message, http_status, retryable, details)
    ├── TemporaryError          retry later (5xx, timeouts, resets); `retryable=True`
    │   ├── RateLimitedError    429 — back off, the bucket keeps refilling (request not processed)
    │   ├── NotDeliveredError   could not connect: the request was never sent
    │   └── MalformedResponseError  schema mismatch; log the raw body, treat as temporary
    ├── RejectedError           4xx business refusal: record and move on
    │   ├── NotFoundError       404
    │   └── DuplicateOrderError 409 duplicate client_order_id — the order may exist: look it up
    │       (`possible_duplicate`: also any 409 whose code is not a known refusal such as market_closed)
    ├── AuthError               401/403 — stop trading and alert
    └── ConfigError             our own setup is wrong (no key, deprecated endpoint) — stop and alert
        └── KeyFileError        private key missing / unreadable / too permissive

`error_from_response` maps an HTTP status + body (Kalshi wraps errors as {"error":{code,message,details}},
except 429 whose `error` is a plain string) onto this tree. Never includes request headers.
"""

from __future__ import annotations

import json
from typing import Any


class ExchangeError(Exception):
    """Base of every exchange failure."""

    default_retryable = False

    def __init__(self, code: str, message: str = "", http_status: int | None = None,
                 retryable: bool | None = None, details: str | None = None) -> None:
        self.code = code
        self.message = message
        self.http_status = http_status
        self.retryable = self.default_retryable if retryable is None else retryable
        self.details = details
        super().__init__(f"{code}: {message}" if message else code)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(code={self.code!r}, message={self.message!r}, "
                f"http_status={self.http_status!r}, retryable={self.retryable!r})")


class TemporaryError(ExchangeError):
    default_retryable = True


class RateLimitedError(TemporaryError):
    """429: the exchange refused before processing — a definite non-acceptance."""


class NotDeliveredError(TemporaryError):
    """The request never left this host (connection refused / connect timeout): safe to resend."""


class MalformedResponseError(TemporaryError):
    """The body did not match the expected schema. `raw` keeps (a prefix of) the body for the log."""

    def __init__(self, code: str, message: str = "", http_status: int | None = None,
                 raw: str | None = None) -> None:
        super().__init__(code, message, http_status)
        self.raw = raw[:2000] if raw else raw


class RejectedError(ExchangeError):
    pass


class NotFoundError(RejectedError):
    pass


class DuplicateOrderError(RejectedError):
    pass


class AuthError(ExchangeError):
    pass


class ConfigError(ExchangeError):
    pass


class KeyFileError(ConfigError):
    def __init__(self, message: str) -> None:
        super().__init__("key_file", message)


# Error codes (case-insensitive) that mean "our setup is wrong", not "this order is wrong".
_CONFIG_CODES = {"deprecated_v1_order_endpoint"}
_DUPLICATE_CODES = {"order_already_exists", "duplicate_client_order_id", "duplicate_order"}
_DUPLICATE_HINTS = ("already exists", "already_exists", "duplicate", "clordid already used")  # code or text
# 409 codes that refuse THIS request for a reason other than our client order id (lower case). Kalshi's exact
# duplicate code is unverified (reference/kalshi_api.md §4.6, §12), so any other 409 may be a duplicate.
# Sources: §4.7 (`market_closed` recorded live; MARKET_INACTIVE; FIX reasons that probably mirror REST).
NON_DUPLICATE_409_CODES = frozenset({
    "market_closed", "market_inactive", "market_already_closed", "market_not_found",
    "trading_paused", "exchange_paused", "available_balance_too_low", "insufficient_balance",
    "exceeded_per_market_risk_limit", "post_only_cross", "fok_insufficient_volume", "self_cross_attempt",
})


def _error_fields(body: Any) -> tuple[str | None, str, str | None]:
    """(code, message, details) from either the wrapped or the flat Kalshi error shape."""
    if not isinstance(body, dict):
        return None, "", None
    inner = body.get("error", body)
    if isinstance(inner, str):                       # 429: {"error": "too many requests"}
        return None, inner, None
    if not isinstance(inner, dict):
        return None, "", None
    code = inner.get("code")
    message = inner.get("message") or ""
    details = inner.get("details")
    return (str(code) if code else None), str(message), (str(details) if details else None)


def possible_duplicate(error: Any) -> bool:
    """Could this refusal of a create mean our client order id is already at the exchange? A duplicate
    answer, or a 409 whose code is not a known refusal of another kind. Such an order must be looked up."""
    if isinstance(error, DuplicateOrderError):
        return True
    if getattr(error, "http_status", None) != 409:
        return False
    return str(getattr(error, "code", "") or "").lower() not in NON_DUPLICATE_409_CODES


def parse_error_body(raw: bytes | str) -> tuple[str | None, str, str | None]:
    try:
        body = json.loads(raw) if raw else None
    except (ValueError, UnicodeDecodeError):
        text = raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw
        return None, text[:200], None
    return _error_fields(body)


def error_from_response(status: int, raw: bytes | str) -> ExchangeError:
    """Map an HTTP error response onto the taxonomy."""
    code, message, details = parse_error_body(raw)
    lowered = (code or "").lower()
    code = code or f"http_{status}"
    if lowered in _CONFIG_CODES:
        return ConfigError(code, message, status, details=details)
    if status == 429:
        return RateLimitedError(code, message or "too many requests", status)
    if status >= 500:
        return TemporaryError(code, message, status, details=details)
    if status in (401, 403):
        return AuthError(code, message, status, details=details)
    if status == 404:
        return NotFoundError(code, message, status, details=details)
    if status == 409 and (lowered in _DUPLICATE_CODES
                          or any(h in f"{lowered} {message} {details or ''}".lower() for h in _DUPLICATE_HINTS)):
        return DuplicateOrderError(code, message, status, details=details)
    if status in (408, 425):
        return TemporaryError(code, message, status, details=details)
    if 400 <= status < 500:
        return RejectedError(code, message, status, details=details)
    return MalformedResponseError(code, f"unexpected HTTP status {status}: {message}", status,
                                  raw=raw.decode("utf-8", "replace") if isinstance(raw, bytes) else raw)
