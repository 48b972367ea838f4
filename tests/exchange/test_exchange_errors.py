"""HTTP status + Kalshi error body → the taxonomy the daemon acts on."""

from __future__ import annotations

import pytest

from daemon.exchange.errors import (
    AuthError,
    ConfigError,
    DuplicateOrderError,
    NotFoundError,
    RateLimitedError,
    RejectedError,
    TemporaryError,
    error_from_response,
)


@pytest.mark.parametrize("status, body, cls, code, retryable", [
    (429, b'{"error":"too many requests"}', RateLimitedError, "http_429", True),
    (500, b'{"error":{"code":"internal_server_error","message":"x"}}', TemporaryError, "internal_server_error", True),
    (503, b"<html>bad gateway</html>", TemporaryError, "http_503", True),
    (401, b'{"error":{"code":"unauthorized"}}', AuthError, "unauthorized", False),
    (403, b'{"code":"insufficient_scope","message":"write scope needed"}', AuthError, "insufficient_scope", False),
    (404, b'{"error":{"code":"not_found"}}', NotFoundError, "not_found", False),
    (409, b'{"error":{"code":"order_already_exists","message":"order with this client_order_id already exists"}}',
     DuplicateOrderError, "order_already_exists", False),
    (409, b'{"error":{"code":"conflict","message":"ClOrdID already used"}}', DuplicateOrderError, "conflict", False),
    (409, b'{"error":{"code":"market_closed"}}', RejectedError, "market_closed", False),
    (400, b'{"error":{"code":"available_balance_too_low","message":"x"}}', RejectedError,
     "available_balance_too_low", False),
    (400, b'{"error":{"code":"MARKET_INACTIVE"}}', RejectedError, "MARKET_INACTIVE", False),
    (400, b'{"error":{"code":"deprecated_v1_order_endpoint","message":"Please switch to the V2 endpoints"}}',
     ConfigError, "deprecated_v1_order_endpoint", False),
    (400, b"", RejectedError, "http_400", False),
])
def test_mapping(status, body, cls, code, retryable) -> None:
    error = error_from_response(status, body)
    assert type(error) is cls
    assert error.code == code and error.retryable is retryable and error.http_status == status


def test_duplicate_is_a_rejection_and_429_is_temporary() -> None:
    assert issubclass(DuplicateOrderError, RejectedError) and issubclass(RateLimitedError, TemporaryError)
    assert not issubclass(AuthError, (RejectedError, TemporaryError))


def test_message_and_details_kept() -> None:
    error = error_from_response(400, b'{"error":{"code":"invalid order","message":"m","details":"post only cross"}}')
    assert error.message == "m" and error.details == "post only cross" and "invalid order" in str(error)


@pytest.mark.parametrize("body", [
    b'{"error":{"code":"duplicate_client_id"}}',
    b'{"error":{"code":"ORDER_ALREADY_EXISTS_FOR_CLIENT_ID","message":"conflict"}}',
])
def test_409_duplicate_recognised_by_its_code_alone(body: bytes) -> None:
    """Review r7: duplicate detection matches the error code as well as the message."""
    assert type(error_from_response(409, body)) is DuplicateOrderError
