"""Fixtures for the exchange simulator: a quiet engine (no agents), a loopback server, signed clients."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from cryptography.hazmat.primitives.asymmetric import rsa
from sim_helpers import QUIET, START

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.exchange.client import KalshiClient
from daemon.exchange.config import RetryConfig
from daemon.exchange.signing import public_key_pem
from daemon.exchange.sim import SimExchange
from daemon.exchange.sim.server import SimServer
from daemon.simulation.truth import SyntheticTruth


@pytest.fixture(scope="session")
def sim_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="session")
def other_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture
def sim_clock() -> SimulatedClock:
    return SimulatedClock(START)


@pytest.fixture
def quiet_exchange(sim_clock: SimulatedClock, sim_key: rsa.RSAPrivateKey) -> SimExchange:
    registry = default_registry()
    exchange = SimExchange(registry, SyntheticTruth(11, registry), sim_clock, QUIET)
    exchange.register_account("me", public_key_pem(sim_key), 100_000)
    for name in ("alice", "bob"):
        exchange.register_account(name, None, 100_000)
    exchange.step()
    return exchange


@pytest.fixture
def sim_server(quiet_exchange: SimExchange) -> Iterator[SimServer]:
    with SimServer(quiet_exchange) as server:
        yield server


@pytest.fixture
def client(sim_server: SimServer, sim_key: rsa.RSAPrivateKey, sim_clock: SimulatedClock) -> Iterator[KalshiClient]:
    retry = RetryConfig(max_read_attempts=2, backoff_base_s=0.01, backoff_max_s=0.02)
    with KalshiClient(sim_server.url, "me", sim_key, sim_clock, timeout=2.0, retry=retry) as kalshi:
        yield kalshi
