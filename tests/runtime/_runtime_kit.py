"""Test kit for tests/runtime: a short demo run, a live daemon against the simulator, ledger/exchange checks."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.config import Settings, load_settings
from daemon.exchange.sim import SimExchange
from daemon.ledger.db import Database
from daemon.simulation.demo import DEMO_KEY_ID, JOURNAL_FILE, Demo, DemoOptions
from daemon.simulation.truth import SyntheticTruth

# 18:00Z: the day's markets are open, and they settle (close + 6 h) within one simulated day.
START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


CITIES = ("NYC", "CHI", "MIA")  # three clusters; fewer cities keep the simulator's agents cheap in tests


def settings_for(folder: Path, **env: str) -> Settings:
    from daemon.config import CitiesConfig

    from daemon.strategies.config import StrategiesConfig

    settings = load_settings(None, {"MILKBOT_DATA_DIR": str(folder), **env})
    # The runtime's risk, limit and crash tests drive the taker: its Kelly sizes are what reach the caps.
    return settings.model_copy(update={"cities": CitiesConfig(enabled=CITIES),
                                       "strategies": StrategiesConfig(enabled=("taker",))})


def small_registry() -> Any:
    from daemon.cities import CityRegistry

    full = default_registry()
    return CityRegistry([full.get(code) for code in CITIES])


def short_options(folder: Path, **overrides: Any) -> DemoOptions:
    values = {"data_dir": folder, "days": 1, "seed": 7, "start": START, "fast_minutes": 60, "slow_minutes": 60,
              "publish": False}
    values.update(overrides)
    return DemoOptions(**values)


def run_demo(folder: Path, **overrides: Any) -> Any:
    return Demo(settings_for(folder), short_options(folder, **overrides)).run()


def replayed_exchange(folder: Path, seed: int = 7) -> SimExchange:
    """The demo's exchange, rebuilt from its journal (exactly the state the run left)."""
    settings = settings_for(folder)
    agents = settings.sim.agents.model_copy(update={"max_ticks_per_step": 1, "maker_levels": 1})
    config = settings.sim.model_copy(update={"seed": seed, "agents": agents})
    clock = SimulatedClock(START)
    return SimExchange(small_registry(), SyntheticTruth(seed, small_registry()), clock, config,
                       folder / JOURNAL_FILE)


def account_orders(exchange: SimExchange) -> list[Any]:
    return [o for o in exchange.orders.values() if o.account == DEMO_KEY_ID]


def check_ledger_matches_exchange(db: Database, exchange: SimExchange) -> dict[str, int]:
    """No duplicate client ids; every exchange order is a ledger order and vice versa; positions and cash agree."""
    orders = account_orders(exchange)
    by_cid = Counter(o.client_order_id for o in orders)
    assert all(n == 1 for n in by_cid.values()), {c: n for c, n in by_cid.items() if n > 1}
    ledger = {r["client_order_id"]: r for r in db.query("SELECT * FROM ops.orders")}
    assert set(by_cid) <= set(ledger), set(by_cid) - set(ledger)
    sent = {c for c, r in ledger.items() if r["exchange_order_id"] is not None}
    assert sent == set(by_cid)
    for o in orders:
        assert ledger[o.client_order_id]["exchange_order_id"] == o.order_id
    per_version = Counter((r["intent_key"], r["intent_version"]) for r in ledger.values() if r["exchange_order_id"])
    assert all(n == 1 for n in per_version.values())
    account = exchange.accounts[DEMO_KEY_ID]
    ex_pos = {t: p.position for t, p in account.positions.items() if p.position != 0}
    led_pos = {r["ticker"]: Decimal(r["position"]) for r in db.query("SELECT ticker, position FROM ops.positions")
               if Decimal(r["position"]) != 0}
    assert ex_pos == led_pos, (ex_pos, led_pos)
    return {"orders": len(orders), "fills": len(account.fills)}


@dataclass
class World:
    exchange: Any
    server: Any
    client: Any
    daemon: Any
    feed: Any
    clock: SimulatedClock


@contextmanager
def live_world(db: Database, folder: Path, *, settings: Settings | None = None, start: datetime = START,
               faults: dict[str, Any] | None = None, balance_cents: int | None = None,
               registry: Any = None) -> Iterator[World]:
    """A daemon (not yet started) wired to an in-process simulator over loopback HTTP, on a simulated clock."""
    from daemon.exchange.client import KalshiClient
    from daemon.exchange.config import RateLimitConfig
    from daemon.exchange.signing import load_private_key
    from daemon.exchange.sim import SimServer
    from daemon.runtime.daemon import Daemon
    from daemon.simulation.demo import _key
    from daemon.simulation.weather_feed import TruthWeatherFeed

    settings = settings or settings_for(folder)
    registry = registry or small_registry()
    clock = SimulatedClock(start)
    truth = SyntheticTruth(7, registry)
    agents = settings.sim.agents.model_copy(update={"max_ticks_per_step": 1, "maker_levels": 1})
    config = settings.sim.model_copy(update={"seed": 7, "agents": agents})
    if faults:
        config = config.model_copy(update={"faults": config.faults.model_copy(update=faults)})
    exchange = SimExchange(registry, truth, clock, config, None)
    key_path, public = _key(folder)
    exchange.register_account(DEMO_KEY_ID, public, balance_cents or int(settings.trading.bankroll * 100))
    exchange.step(clock.now())
    server = SimServer(exchange).start()
    big = RateLimitConfig(read_tokens_per_s=1e6, read_capacity=1e7, write_tokens_per_s=1e6, write_capacity=1e7)
    client = KalshiClient(server.url, DEMO_KEY_ID, load_private_key(key_path), clock, rate_limits=big, timeout=5.0)
    feed = TruthWeatherFeed(truth)
    daemon = Daemon(settings, db, clock, client, feed, registry)
    try:
        yield World(exchange, server, client, daemon, feed, clock)
    finally:
        client.close()
        server.stop()


def step(world: World, minutes: int = 60, *, slow: bool = True) -> Any:
    """Advance the simulated world and run the daemon's cycles, as the demo does."""
    from datetime import timedelta

    world.clock.advance(timedelta(minutes=minutes))
    world.exchange.step(world.clock.now())
    if slow:
        world.daemon.slow_cycle()
    return world.daemon.fast_cycle()
