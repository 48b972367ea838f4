"""The embedded end-to-end run: simulator on loopback + DuckDB ledger + daemon in SHADOW on simulated time.

Time is driven directly: every `fast_minutes` of simulated time the exchange steps (agents, listings,
settlement) and the daemon runs a fast cycle; every `slow_minutes` a slow cycle first. Everything that must
survive an interruption is on disk under the data directory — the ledger, the simulator's journal, the
account key and `demo-state.json` (seed, window, last completed instant) — so a rerun resumes where it
stopped, reconciling with the (replayed) exchange before any new order.

Two worlds. Replay (`DemoOptions.replay` = a recorded data directory, by default the CLI's shipped sample in
daemon/data/replay): the exchange is the backtest's `TapeExchange` behind the simulator's HTTP surface
(`daemon.backtest.server.TapeServer`) — recorded trades at their recorded times and sizes are the background
flow, our resting orders fill by the chosen fill rule from later trades only, results settle from the record —
and the daemon runs on the backtest's own schedule (`build_schedule`: the cadence grid plus each strategy's wake
times, a slow cycle every `slow_minutes`), so it places the same orders and gets the same fills as
`run_backtest` on those days (tests/backtest/test_parity.py). Cities without recorded markets are left out and
named in the summary. Synthetic (`replay=None`): the seeded SimExchange with its background agents.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import SimulatedClock, SystemClock
from daemon.config import Settings
from daemon.ledger.db import Database, connect
from daemon.ledger.migrate import migrate

log = logging.getLogger(__name__)

# Wall time of the run, for the summary only.
_STOPWATCH = SystemClock()
DEMO_KEY_ID = "d3m0d3m0-0000-4000-8000-00000000a11c"
DEFAULT_START = datetime(2026, 1, 5, 6, 0, tzinfo=UTC)
STATE_FILE = "demo-state.json"
JOURNAL_FILE = "sim-journal.jsonl"
TAPE_JOURNAL_FILE = "tape-journal.jsonl"
KEY_FILE = "demo-key.pem"


def registry_for(settings: Settings) -> CityRegistry:
    """The configured registry, restricted to `cities.enabled` when set."""
    from daemon.cities import load_registry

    full = load_registry(settings.cities.file, settings.cities.extra_file)
    if not settings.cities.enabled:
        return full
    return CityRegistry([full.get(code) for code in settings.cities.enabled])


class DemoStateError(RuntimeError):
    """The data directory holds a different demo (seed or start) than the one asked for."""


@dataclass
class DemoOptions:
    data_dir: Path
    days: int = 10
    seed: int = 7
    start: datetime = DEFAULT_START
    fast_minutes: int = 60
    slow_minutes: int = 60
    publish: bool = True
    balance_cents: int | None = None   # default: the trading policy's bankroll
    max_cycles: int | None = None   # stop (as if interrupted) after this many fast cycles: tests, bench
    replay: Path | None = None      # a recorded data directory to replay; None = the synthetic world
    replay_from: date | None = None  # first climate day replayed (default: the first recorded day)
    fill: str = "strict"            # replay: the fill rule of our resting orders (strict | touch | volume:N)
    synthetic_forecasts: bool = True  # replay: seeded forecasts where the record has none (labelled)
    page_limit: int | None = None   # replay: cap the server's listing pages (tests: cursors followed)


@dataclass
class DemoState:
    seed: int
    start: str
    end: str
    at: str | None = None
    runs: int = 0
    source: str = "synthetic"       # or "replay:<data dir>"

    @classmethod
    def load(cls, path: Path) -> DemoState | None:
        return cls(**json.loads(path.read_text())) if path.exists() else None

    def save(self, path: Path) -> None:
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(self), indent=2))
        os.replace(tmp, path)


@dataclass
class DemoSummary:
    days: int
    seed: int
    sim_start: str
    sim_end: str
    resumed: bool
    cycles: int
    decisions: int
    trade_decisions: int
    orders: int
    fills: int
    contracts_filled: str
    fees: str
    settled_markets: int
    pnl_after_fees: str            # cash basis: what is still at stake in unsettled markets counts as spent
    realized_pnl_after_fees: str
    open_cost: str                 # at stake in unsettled markets (cost − netted YES/NO pairs)
    exchange_cash_change: str
    limits_fired: dict[str, int]
    trading_state: str
    site: str | None
    database: str
    wall_seconds: float
    errors: list[str] = field(default_factory=list)
    source: str = "synthetic"                       # "synthetic (seed N)" or "recorded (<data dir>)"
    recorded_days: list[str] = field(default_factory=list)
    recorded_cities: list[str] = field(default_factory=list)
    synthetic_cities: list[str] = field(default_factory=list)
    left_out_cities: list[str] = field(default_factory=list)
    fill_rule: str | None = None
    weather: str | None = None                      # replay: what the weather feed was, per kind and city


def _key(folder: Path) -> tuple[Path, str]:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    path = folder / KEY_FILE
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    else:
        key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        tmp = path.with_suffix(".tmp")
        tmp.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                          serialization.NoEncryption()))
        os.chmod(tmp, 0o600)
        os.replace(tmp, path)
    public = key.public_key().public_bytes(serialization.Encoding.PEM,
                                           serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return path, public


def _source(options: DemoOptions) -> str:
    return "synthetic" if options.replay is None else f"replay:{Path(options.replay).resolve()}"


def _state(options: DemoOptions, start: datetime | None = None, end: datetime | None = None) -> tuple[DemoState, bool]:
    path = options.data_dir / STATE_FILE
    start = start or options.start
    end = end or start + timedelta(days=options.days)
    state = DemoState.load(path)
    if state is None:
        return DemoState(options.seed, start.isoformat(), end.isoformat(), source=_source(options)), False
    if state.source != _source(options):
        raise DemoStateError(f"{options.data_dir} holds a demo of {state.source}, not {_source(options)}; "
                             "use another --data-dir")
    if state.seed != options.seed or state.start != start.isoformat():
        raise DemoStateError(f"{options.data_dir} holds a demo with seed {state.seed} from {state.start}; "
                             "use another --data-dir or the same --seed")
    if datetime.fromisoformat(state.end) < end:
        state.end = end.isoformat()  # asked for more days: extend the same world
    return state, True


def _cents(amount: Decimal) -> str:
    return str(Decimal(amount).quantize(Decimal("0.01")))


class Demo:
    """Owns the in-process simulator, the ledger and the daemon for one demo run."""

    def __init__(self, settings: Settings, options: DemoOptions, registry: CityRegistry | None = None,
                 progress: Callable[[float, str], None] | None = None) -> None:
        self.settings = settings
        self.options = options
        self.registry = registry or registry_for(settings)
        self.progress = progress or (lambda fraction, label: None)
        self.window: Any = None
        if options.replay is not None:
            from daemon.simulation.replay import plan_window

            self.window = plan_window(options.replay, self.registry, options.replay_from, options.days)
            first = datetime.combine(self.window.first_day, time(), UTC)
            options.data_dir.mkdir(parents=True, exist_ok=True)
            self.state, self.resumed = _state(options, first, first + timedelta(days=options.days))
        else:
            options.data_dir.mkdir(parents=True, exist_ok=True)
            self.state, self.resumed = _state(options)
        self.db_path = options.data_dir / "milkbot.duckdb"
        self.stop_requested = False
        self.cycles = 0
        self.errors: list[str] = []

    def run(self) -> DemoSummary:
        if self.options.replay is not None:
            return self._run_replay()
        summary = self._run_synthetic()
        return replace(summary, source=f"SYNTHETIC (seed {self.options.seed})",
                       synthetic_cities=list(self.registry.codes))

    def _run_synthetic(self) -> DemoSummary:
        from daemon.exchange.client import KalshiClient
        from daemon.exchange.config import RateLimitConfig
        from daemon.exchange.signing import load_private_key
        from daemon.exchange.sim import SimExchange, SimServer
        from daemon.runtime.control import ControlFiles
        from daemon.runtime.daemon import Daemon
        from daemon.runtime.guard import DaemonGuard
        from daemon.runtime.lock import DaemonLock
        from daemon.simulation.truth import SyntheticTruth
        from daemon.simulation.weather_feed import TruthWeatherFeed

        wall0 = _STOPWATCH.monotonic()
        start = datetime.fromisoformat(self.state.start)
        end = datetime.fromisoformat(self.state.end)
        at = datetime.fromisoformat(self.state.at) if self.state.at else start
        clock = SimulatedClock(at)
        truth = SyntheticTruth(self.options.seed, self.registry)
        # Agents simulate one tick per step: a 20-minute step costs one tick of liquidity, not five.
        agents = self.settings.sim.agents.model_copy(update={"max_ticks_per_step": 1, "maker_levels": 1})
        sim_config = self.settings.sim.model_copy(update={"seed": self.options.seed, "agents": agents})
        exchange = SimExchange(self.registry, truth, clock, sim_config, self.options.data_dir / JOURNAL_FILE)
        if exchange.last_step is not None and exchange.last_step > clock.now():
            clock.set(exchange.last_step)  # the journal got further than the state file: continue from there
        key_path, public_pem = _key(self.options.data_dir)
        balance = self.options.balance_cents
        if balance is None:
            balance = int(self.settings.trading.bankroll * 100)
        exchange.register_account(DEMO_KEY_ID, public_pem, balance)
        exchange.step(clock.now())
        server = SimServer(exchange).start()
        db = connect(f"duckdb:///{self.db_path}")
        lock = DaemonLock(db, f"duckdb:///{self.db_path}")
        big = RateLimitConfig(read_tokens_per_s=1e6, read_capacity=1e7, write_tokens_per_s=1e6, write_capacity=1e7)
        client = KalshiClient(server.url, DEMO_KEY_ID, load_private_key(key_path), clock, rate_limits=big,
                              timeout=10.0, mode=self.settings.mode, env=self.settings.env)
        daemon = None
        try:
            lock.acquire()
            migrate(db, clock)
            self.state.runs += 1
            daemon = Daemon(self.settings, db, clock, client, TruthWeatherFeed(truth), self.registry,
                            component="daemon", guard=DaemonGuard(db, lock, clock, ControlFiles(self.db_path)))
            daemon.start()
            self._loop(daemon, exchange, clock, start, end)
            daemon.oms.reconcile()  # final sync: fills, settlements and positions as the exchange has them
            reason = "interrupted" if self.stop_requested else "completed"
            daemon.stop(reason)
            site = self._publish(db, clock) if self.options.publish and not self.stop_requested else None
            return self._summary(db, client, exchange, start, end, site, _STOPWATCH.monotonic() - wall0)
        except BaseException:
            _record_crash(daemon)
            raise
        finally:
            client.close()
            server.stop()
            exchange.close()
            lock.release()
            db.close()

    def _run_replay(self) -> DemoSummary:
        """The recorded tape behind the simulator's HTTP surface; the daemon on the backtest's schedule."""
        from daemon.backtest.exchange import TapeExchange
        from daemon.backtest.fills import parse_fill_rule
        from daemon.backtest.runner import build_schedule, recorded_events
        from daemon.backtest.server import TapeBackend, TapeServer
        from daemon.backtest.spread import WalkForwardSpread
        from daemon.backtest.tape import Tape
        from daemon.exchange.client import KalshiClient
        from daemon.exchange.config import RateLimitConfig
        from daemon.exchange.signing import load_private_key
        from daemon.runtime.control import ControlFiles
        from daemon.runtime.daemon import Daemon
        from daemon.runtime.guard import DaemonGuard
        from daemon.runtime.lock import DaemonLock
        from daemon.simulation.replay import ReplayWeatherFeed, with_cities

        wall0 = _STOPWATCH.monotonic()
        fill_rule = parse_fill_rule(self.options.fill)
        window = self.window
        codes = self.registry.codes
        # The window's markets; the spread model is fitted on the whole record before each day (as the backtest).
        tape = Tape.load(window.data_dir, start=window.first_day, end=window.last_day, cities=codes,
                         registry=self.registry)
        history = Tape.load(window.data_dir, end=window.last_day, cities=codes, registry=self.registry)
        window = self.window = with_cities(window, tape, self.registry)
        registry = CityRegistry([self.registry.get(code) for code in window.recorded_cities])
        events = recorded_events(tape)
        at = datetime.fromisoformat(self.state.at) if self.state.at else None
        clock = SimulatedClock(at or min(e.open_time for e in events) - timedelta(minutes=1))
        key_path, public_pem = _key(self.options.data_dir)
        balance = self.options.balance_cents
        if balance is None:
            balance = int(self.settings.trading.bankroll * 100)
        exchange = TapeExchange(tape, clock, fill_rule=fill_rule, spread=WalkForwardSpread(history),
                                balance_cents=balance, key_id=DEMO_KEY_ID)
        backend = TapeBackend(exchange, public_pem, self.options.data_dir / TAPE_JOURNAL_FILE)
        if exchange._now is not None and exchange._now > clock.now():
            clock.set(exchange._now)  # the journal got further than the state file: continue from there
        server = TapeServer(backend, page_limit=self.options.page_limit).start()
        db = connect(f"duckdb:///{self.db_path}")
        lock = DaemonLock(db, f"duckdb:///{self.db_path}")
        big = RateLimitConfig(read_tokens_per_s=1e6, read_capacity=1e7, write_tokens_per_s=1e6, write_capacity=1e7)
        client = KalshiClient(server.url, DEMO_KEY_ID, load_private_key(key_path), clock, rate_limits=big,
                              timeout=10.0, mode=self.settings.mode, env=self.settings.env)
        weather = ReplayWeatherFeed(window.data_dir, registry, synthetic_forecasts=self.options.synthetic_forecasts,
                                    seed=self.options.seed)
        daemon = None
        try:
            lock.acquire()
            migrate(db, clock)
            self.state.runs += 1
            daemon = Daemon(self.settings, db, clock, client, weather, registry, component="daemon",
                            guard=DaemonGuard(db, lock, clock, ControlFiles(self.db_path)))
            daemon.start()
            schedule = build_schedule(events, daemon.strategies, self.options.fast_minutes)
            self._replay_loop(daemon, clock, schedule, events)
            daemon.oms.reconcile()  # final sync: fills, settlements and positions as the exchange has them
            reason = "interrupted" if self.stop_requested else "completed"
            daemon.stop(reason)
            site = self._publish(db, clock) if self.options.publish and not self.stop_requested else None
            first = datetime.combine(window.first_day, time(), UTC)
            summary = self._summary(db, client, backend, first, first + timedelta(days=self.options.days), site,
                                    _STOPWATCH.monotonic() - wall0)
            where = "the shipped sample" if window.label == "sample" else window.label
            return replace(summary, source=f"RECORDED from {where}",
                           recorded_days=[d.isoformat() for d in window.days],
                           recorded_cities=list(window.recorded_cities), left_out_cities=list(window.left_out_cities),
                           fill_rule=fill_rule.name, weather=weather.describe(window.recorded_cities))
        except BaseException:
            _record_crash(daemon)
            raise
        finally:
            client.close()
            server.stop()
            backend.close()
            lock.release()
            db.close()

    def _replay_loop(self, daemon: Any, clock: SimulatedClock, schedule: list[datetime], events: list[Any]) -> None:
        """`run_backtest`'s loop (a slow cycle first whenever `slow_minutes` have passed, then a fast cycle at
        every scheduled instant; at the end, on to the last recorded settlement), resumable at any instant."""
        slow = timedelta(minutes=self.options.slow_minutes)
        done = datetime.fromisoformat(self.state.at) if self.state.at else None
        state_path = self.options.data_dir / STATE_FILE
        next_slow = schedule[0]
        for i, instant in enumerate(schedule):
            if done is not None and instant <= done:
                if instant >= next_slow:
                    next_slow = instant + slow          # completed before: only its slow-cycle bookkeeping
                continue
            if self.stop_requested:
                return
            clock.set(max(instant, clock.now()))
            if instant >= next_slow:
                self._check(daemon.slow_cycle())
                next_slow = instant + slow
            self._check(daemon.fast_cycle())
            self.cycles += 1
            self.state.at = instant.isoformat()
            self.state.save(state_path)
            self.progress((i + 1) / len(schedule), instant.strftime("%Y-%m-%d %H:%MZ"))
            if self.options.max_cycles is not None and self.cycles >= self.options.max_cycles:
                self.stop_requested = True
        if self.stop_requested:
            return
        known = [e.settlement_known_at for e in events if e.settlement_known_at is not None]
        clock.set(max(clock.now(), max(known, default=clock.now())) + timedelta(minutes=1))
        self._check(daemon.slow_cycle())

    def _loop(self, daemon: Any, exchange: Any, clock: SimulatedClock, start: datetime, end: datetime) -> None:
        fast, slow = timedelta(minutes=self.options.fast_minutes), timedelta(minutes=self.options.slow_minutes)
        total = (end - start).total_seconds()
        # Resume on the grid: the tick after the last COMPLETED one. The exchange may already have stepped to
        # that tick (killed mid-cycle); stepping to the same instant again is a no-op, the cycle reruns.
        next_tick = datetime.fromisoformat(self.state.at) + fast if self.state.at else start
        state_path = self.options.data_dir / STATE_FILE
        while next_tick <= end and not self.stop_requested:
            clock.set(max(next_tick, clock.now()))
            exchange.step(clock.now())
            if (next_tick - start) % slow == timedelta(0):
                self._check(daemon.slow_cycle())
            self._check(daemon.fast_cycle())
            self.cycles += 1
            self.state.at = next_tick.isoformat()
            self.state.save(state_path)
            self.progress((next_tick - start).total_seconds() / total, next_tick.strftime("%Y-%m-%d %H:%MZ"))
            next_tick += fast
            if self.options.max_cycles is not None and self.cycles >= self.options.max_cycles:
                self.stop_requested = True

    def _check(self, stats: Any) -> None:
        if stats.errors:
            self.errors.extend(f"{stats.cycle_id}: {e}" for e in stats.errors)

    def _publish(self, db: Database, clock: SimulatedClock) -> str | None:
        from publisher.publish import publish

        out = self.options.data_dir / "site"
        try:
            publish(db, self.settings.publisher, clock.now(), target="local", out_dir=out)
        except Exception as exc:  # noqa: BLE001 - the trading run stands even if the site build fails
            self.errors.append(f"publish failed: {type(exc).__name__}: {exc}")
            return None
        return str(out)

    def _summary(self, db: Database, client: Any, exchange: Any, start: datetime, end: datetime,
                 site: str | None, wall: float) -> DemoSummary:
        from daemon.runtime.reports import pnl_summary

        pnl = pnl_summary(db)
        cash = exchange.accounts[DEMO_KEY_ID].cash          # the engine's books, read in-process
        deposits = exchange.accounts[DEMO_KEY_ID].deposits
        limits = {r["kind"]: int(r["n"]) for r in db.query(
            "SELECT kind, COUNT(*) AS n FROM ops.risk_events GROUP BY kind ORDER BY kind")}
        state = db.query_one("SELECT state FROM ops.trading_state ORDER BY id DESC LIMIT 1")
        return DemoSummary(
            days=self.options.days, seed=self.options.seed, sim_start=start.isoformat(), sim_end=end.isoformat(),
            resumed=self.resumed, cycles=self.cycles,
            decisions=int(db.scalar("SELECT COUNT(*) FROM ops.decisions")),
            trade_decisions=int(db.scalar("SELECT COUNT(*) FROM ops.decisions WHERE outcome = 'trade'")),
            orders=int(db.scalar("SELECT COUNT(*) FROM ops.orders WHERE exchange_order_id IS NOT NULL")),
            fills=int(db.scalar("SELECT COUNT(*) FROM ops.fills")),
            contracts_filled=str(pnl["contracts"]), fees=_cents(pnl["fees"]), settled_markets=pnl["settled_markets"],
            pnl_after_fees=_cents(pnl["pnl_after_fees"]), realized_pnl_after_fees=_cents(pnl["realized_after_fees"]),
            open_cost=_cents(pnl["open_cost"]),
            exchange_cash_change=_cents(Decimal(cash) - Decimal(deposits)),
            limits_fired=limits, trading_state=state["state"] if state else "ACTIVE", site=site,
            database=str(self.db_path), wall_seconds=round(wall, 1), errors=self.errors[:20],
        )


def _record_crash(daemon: Any) -> None:
    """Close a started run as crashed (both demo worlds); a failure to record it is logged, never raised."""
    if daemon is not None and daemon.run_id is not None:
        try:
            daemon.stop("crashed")
        except Exception:
            log.exception("could not record the crashed run")
