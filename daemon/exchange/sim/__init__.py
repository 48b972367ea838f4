"""Local Kalshi exchange simulator: `SimExchange` (engine) and `SimServer` (wire-compatible HTTP)."""

from daemon.exchange.sim.config import SimConfig
from daemon.exchange.sim.engine import SimExchange
from daemon.exchange.sim.faults import Faults
from daemon.exchange.sim.server import SimServer
from daemon.exchange.sim.state import SimError

__all__ = ["Faults", "SimConfig", "SimError", "SimExchange", "SimServer"]
