"""Fixtures shared by the order-manager tests: the simulator over loopback HTTP and a signed client for it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from daemon.clock import SimulatedClock

sys.path.insert(0, str(Path(__file__).parent))
from _oms_kit import running_sim


@pytest.fixture
def sim(clock: SimulatedClock, tmp_path: Path):
    with running_sim(clock, tmp_path) as handle:
        yield handle


@pytest.fixture
def client(sim, clock: SimulatedClock):
    with sim.client(clock) as c:
        yield c
