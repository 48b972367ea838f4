"""Signing: exact message format, RSA-PSS parameters, key-file hygiene, no key material leaks."""

from __future__ import annotations

import base64
import logging
import os
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding
from kalshi_stub import FIXTURES, KEY_ID

from daemon.clock import UTC, SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import ExchangeConfig
from daemon.exchange.errors import KeyFileError
from daemon.exchange.signing import (
    auth_headers,
    load_private_key,
    load_public_key_pem,
    message_to_sign,
    sign_request,
    verify_signature,
)

# Produced once with the test key over "1703123456789GET/trade-api/v2/portfolio/balance".
KNOWN_SIGNATURE = (
    "I5W5TIw2N46kWsDodyvcTXX3mZpL5MBGuT4vsdXFOXeM4QHZnzllf6LcCGigApGB/+4GAIO4rKx3xmjBKF7hLp/lAnA/oytJsSWswYO/"
    "8QvfZ/eEl4B8ZRZDNenGLjgBqtavQluc5VbuO/a0rSR73mvAtJ5FjAX0r/OYho7Z09YXr2KmeROzUG/f5S+9XuXRvHHLCmR10pzgTw/"
    "xsYYiM9MYLITs9CcXeOypCIpZP4LzIuQ0T6CODbFNxlqphNymZDFtmbxPcKJ7Z/5ZFWnNbV0TVwdiAZVHROVMfck1bFlp7+Z9AoXOgz1"
    "hX+pLjpP/BOB8LVzlIV2Sz+HHz8M+ww==")
PUBLIC = load_public_key_pem((FIXTURES / "test_rsa_public_key.pem").read_bytes())


def _raw_verify(signature_b64: str, message: bytes) -> None:
    """Independent check with `cryptography` and Kalshi's stated parameters (salt = 32 = digest length)."""
    PUBLIC.verify(base64.b64decode(signature_b64), message,
                  padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32), hashes.SHA256())


def test_message_is_timestamp_method_path_without_query() -> None:
    assert message_to_sign(1703123456789, "get", "/trade-api/v2/portfolio/orders?limit=5") == \
        b"1703123456789GET/trade-api/v2/portfolio/orders"
    with pytest.raises(ValueError):
        message_to_sign(1703123456789, "GET", "trade-api/v2/x")


def test_known_answer_signature_verifies() -> None:
    message = b"1703123456789GET/trade-api/v2/portfolio/balance"
    _raw_verify(KNOWN_SIGNATURE, message)
    assert verify_signature(PUBLIC, KNOWN_SIGNATURE, 1703123456789, "GET", "/trade-api/v2/portfolio/balance")


def test_fresh_signature_verifies_independently(rsa_key) -> None:
    sig = sign_request(rsa_key, 1768478400000, "POST", "/trade-api/v2/portfolio/events/orders?x=1")
    assert len(base64.b64decode(sig, validate=True)) == 256     # 2048-bit RSA
    _raw_verify(sig, b"1768478400000POST/trade-api/v2/portfolio/events/orders")


@pytest.mark.parametrize("ts, method, path", [
    (1703123456790, "GET", "/trade-api/v2/portfolio/balance"),      # timestamp changed
    (1703123456789, "POST", "/trade-api/v2/portfolio/balance"),     # method changed
    (1703123456789, "GET", "/trade-api/v2/portfolio/balances"),     # path tampered
    (1703123456789, "GET", "/portfolio/balance"),                   # prefix missing
])
def test_tampered_request_fails(ts: int, method: str, path: str) -> None:
    assert not verify_signature(PUBLIC, KNOWN_SIGNATURE, ts, method, path)


@pytest.mark.parametrize("garbage", ["", "not base64!!", "AAAA", KNOWN_SIGNATURE[:-8] + "AAAAAAA="])
def test_garbage_signature_is_false_not_exception(garbage: str) -> None:
    assert verify_signature(PUBLIC, garbage, 1703123456789, "GET", "/trade-api/v2/portfolio/balance") is False


def test_wrong_salt_length_would_not_verify(rsa_key) -> None:
    # Guards the PSS parameters: a zero-salt signature (a common mistake) is rejected by our verifier.
    bad = rsa_key.sign(b"1GET/x", padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=0), hashes.SHA256())
    assert not verify_signature(rsa_key.public_key(), base64.b64encode(bad).decode(), 1, "GET", "/x")


def test_ed25519_keys_sign_the_same_string() -> None:
    key = ed25519.Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
    sig = sign_request(key, 1703123456789, "GET", "/trade-api/v2/portfolio/balance")
    assert sig == sign_request(key, 1703123456789, "GET", "/trade-api/v2/portfolio/balance")  # deterministic
    key.public_key().verify(base64.b64decode(sig), b"1703123456789GET/trade-api/v2/portfolio/balance")
    assert verify_signature(key.public_key(), sig, 1703123456789, "GET", "/trade-api/v2/portfolio/balance")
    with pytest.raises(InvalidSignature):
        key.public_key().verify(base64.b64decode(sig), b"1703123456789GET/trade-api/v2/portfolio/fills")


def test_auth_headers_use_clock_milliseconds(rsa_key) -> None:
    clock = SimulatedClock(datetime(2026, 1, 15, 12, 0, 0, 123456, tzinfo=UTC))
    headers = auth_headers(KEY_ID, rsa_key, clock, "get", "/trade-api/v2/portfolio/balance")
    assert headers["KALSHI-ACCESS-KEY"] == KEY_ID
    assert headers["KALSHI-ACCESS-TIMESTAMP"] == "1768478400123"
    _raw_verify(headers["KALSHI-ACCESS-SIGNATURE"], b"1768478400123GET/trade-api/v2/portfolio/balance")
    clock.advance(timedelta(milliseconds=5))
    assert auth_headers(KEY_ID, rsa_key, clock, "GET", "/x")["KALSHI-ACCESS-TIMESTAMP"] == "1768478400128"


def test_key_file_permissions_enforced(private_key_copy: Path) -> None:
    assert load_private_key(private_key_copy).key_size == 2048
    for mode in (0o640, 0o604, 0o644):
        os.chmod(private_key_copy, mode)
        with pytest.raises(KeyFileError, match="chmod 600"):
            load_private_key(private_key_copy)


def test_missing_and_invalid_key_files(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="not found"):
        load_private_key(tmp_path / "absent.pem")
    secretish = tmp_path / "bad.pem"
    secretish.write_text("-----BEGIN RSA PRIVATE KEY-----\nSUPERSECRETBYTES\n-----END RSA PRIVATE KEY-----\n")
    os.chmod(secretish, 0o600)
    with pytest.raises(KeyFileError) as info:
        load_private_key(secretish)
    assert "SUPERSECRET" not in str(info.value)


def test_pkcs8_key_loads(tmp_path: Path, rsa_key) -> None:
    path = tmp_path / "pkcs8.pem"
    path.write_bytes(rsa_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    os.chmod(path, 0o600)
    assert load_private_key(path).private_numbers() == rsa_key.private_numbers()


def test_no_key_material_in_repr_or_logs(stub, private_key_copy: Path, caplog: pytest.LogCaptureFixture) -> None:
    state, url = stub
    cfg = ExchangeConfig(environment="custom", base_url=url, key_id=KEY_ID, private_key_path=private_key_copy)
    clock = SimulatedClock(datetime(2026, 1, 15, 12, tzinfo=UTC))
    pem_body = private_key_copy.read_text().splitlines()[1]
    caplog.set_level(logging.DEBUG)
    with KalshiClient.from_config(cfg, clock) as client:
        assert client.get_balance().balance_cents == 123456
        texts = [repr(client), repr(cfg), str(cfg.model_dump()), caplog.text]
    signature = state.requests[-1].headers["KALSHI-ACCESS-SIGNATURE"]
    for text in texts:
        assert pem_body not in text and "PRIVATE KEY" not in text and signature not in text
