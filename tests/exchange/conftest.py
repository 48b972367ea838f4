"""Fixtures for exchange-client tests; the loopback Kalshi stub lives in kalshi_stub.py."""

from kalshi_stub import private_key_copy, rsa_key, stub  # noqa: F401  (pytest fixtures)
