"""Kalshi request signing (RSA-PSS/SHA-256, salt = digest length; Ed25519 also accepted).

The signed message is `<timestamp_ms><METHOD><path>` with no separators, where path is the URL path
from the root including `/trade-api/v2` and WITHOUT the query string; the body never enters it.
Never logs, reprs or returns key material; `load_private_key` refuses files readable by group/others.
"""

from __future__ import annotations

import base64
import binascii
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Union

from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ed25519, padding, rsa

from daemon.clock import UTC, Clock, ensure_utc
from daemon.exchange.errors import KeyFileError

PrivateKey = Union[rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey]
PublicKey = Union[rsa.RSAPublicKey, ed25519.Ed25519PublicKey]

HEADER_KEY = "KALSHI-ACCESS-KEY"
HEADER_TIMESTAMP = "KALSHI-ACCESS-TIMESTAMP"
HEADER_SIGNATURE = "KALSHI-ACCESS-SIGNATURE"

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_PSS = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=padding.PSS.DIGEST_LENGTH)


def message_to_sign(timestamp_ms: int, method: str, path: str) -> bytes:
    """`1703123456789GET/trade-api/v2/portfolio/balance` — query stripped defensively."""
    if isinstance(timestamp_ms, bool) or not isinstance(timestamp_ms, int) or timestamp_ms < 0:
        raise ValueError("timestamp_ms must be a non-negative int (Unix milliseconds)")
    bare_path = path.split("?", 1)[0]
    if not bare_path.startswith("/"):
        raise ValueError(f"path must start at the root, got {bare_path!r}")
    return f"{timestamp_ms}{method.upper()}{bare_path}".encode()


def load_private_key(path: str | os.PathLike[str], *, allow_insecure_permissions: bool = False) -> PrivateKey:
    """Load a PEM private key (PKCS#1 or PKCS#8, unencrypted). Refuses group/other-readable files."""
    key_path = Path(path)
    try:
        mode = key_path.stat().st_mode
    except FileNotFoundError:
        raise KeyFileError(f"private key file not found: {key_path}") from None
    except OSError as exc:
        raise KeyFileError(f"cannot stat private key file {key_path}: {exc.strerror}") from None
    if not stat.S_ISREG(mode):
        raise KeyFileError(f"private key path is not a regular file: {key_path}")
    if mode & (stat.S_IRWXG | stat.S_IRWXO) and not allow_insecure_permissions:
        raise KeyFileError(
            f"private key file {key_path} is accessible by group/others (mode {stat.S_IMODE(mode):o}); "
            f"run: chmod 600 {key_path}")
    try:
        data = key_path.read_bytes()
    except OSError as exc:
        raise KeyFileError(f"cannot read private key file {key_path}: {exc.strerror}") from None
    return load_private_key_pem(data, source=str(key_path))


def load_private_key_pem(data: bytes, *, source: str = "<memory>") -> PrivateKey:
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        # Never echo the contents: the exception text can include fragments of the key.
        raise KeyFileError(f"{source} is not an unencrypted PEM private key") from None
    if not isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)):
        raise KeyFileError(f"{source}: only RSA and Ed25519 keys are supported")
    return key


def load_public_key_pem(data: bytes | str) -> PublicKey:
    """Load a PEM public key (used by the simulator to verify registered accounts)."""
    raw = data.encode("ascii") if isinstance(data, str) else data
    try:
        key = serialization.load_pem_public_key(raw)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError("not a PEM public key") from None
    if not isinstance(key, (rsa.RSAPublicKey, ed25519.Ed25519PublicKey)):
        raise KeyFileError("only RSA and Ed25519 public keys are supported")
    return key


def public_key_pem(key: PrivateKey | PublicKey) -> str:
    public = key.public_key() if isinstance(key, (rsa.RSAPrivateKey, ed25519.Ed25519PrivateKey)) else key
    return public.public_bytes(serialization.Encoding.PEM,
                               serialization.PublicFormat.SubjectPublicKeyInfo).decode("ascii")


def sign_request(key: PrivateKey, timestamp_ms: int, method: str, path: str) -> str:
    """Base64 (standard, padded) signature of `timestamp_ms + METHOD + path-without-query`."""
    message = message_to_sign(timestamp_ms, method, path)
    if isinstance(key, rsa.RSAPrivateKey):
        signature = key.sign(message, _PSS, hashes.SHA256())
    elif isinstance(key, ed25519.Ed25519PrivateKey):
        signature = key.sign(message)
    else:
        raise TypeError(f"unsupported key type {type(key).__name__}")
    return base64.b64encode(signature).decode("ascii")


def verify_signature(public_key: PublicKey, signature_b64: str, timestamp_ms: int, method: str,
                     path: str) -> bool:
    """True iff `signature_b64` is a valid signature of the request. Never raises on bad input."""
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        message = message_to_sign(timestamp_ms, method, path)
    except (binascii.Error, ValueError, TypeError):
        return False
    try:
        if isinstance(public_key, rsa.RSAPublicKey):
            public_key.verify(signature, message, _PSS, hashes.SHA256())
        elif isinstance(public_key, ed25519.Ed25519PublicKey):
            public_key.verify(signature, message)
        else:
            return False
    except InvalidSignature:
        return False
    return True


def timestamp_ms(clock: Clock) -> int:
    """Unix milliseconds of the clock's now, in exact integer arithmetic (no float rounding)."""
    return (ensure_utc(clock.now()) - _EPOCH) // timedelta(milliseconds=1)


def auth_headers(key_id: str, key: PrivateKey, clock: Clock, method: str, path: str) -> dict[str, str]:
    """The three Kalshi auth headers, signed fresh with the clock's current time."""
    ts = timestamp_ms(clock)
    return {
        HEADER_KEY: key_id,
        HEADER_TIMESTAMP: str(ts),
        HEADER_SIGNATURE: sign_request(key, ts, method, path),
    }
