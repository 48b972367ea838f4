"""`milkbot backtest`: replay recorded days through the daemon's own decision, risk and order code.

Only the exchange and the clock differ from a live run: the exchange is `TapeExchange` (the recorded trade tape,
point-in-time, with a fill rule), the clock a `SimulatedClock` the runner steps through a schedule, the weather
the recorded feed, the ledger a fresh DuckDB file per run. Everything else — the Daemon's fast and slow cycles,
the strategies, the risk engine, the order manager and its reconciliation — is the code that trades live.

Walk-forward: the model parameters in force on climate day D were fitted on days before the first day of D's
month only (`fit_params(…, to=month start − 1)`), so nothing is ever fitted on a day it is scored on.
The schedule: a fast cycle every `cadence` minutes while any market is open, plus each strategy's wake times
(e.g. close − 18 h for the reference rule), a slow cycle (weather, settlements, reconcile, loss limits) every
`slow_cadence`; after the last close the clock runs on until every recorded settlement is known.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

from daemon.backtest.fills import parse_fill_rule
from daemon.backtest.results import BacktestResult, results_from_ledger
from daemon.backtest.walkforward import ParamsSchedule
from daemon.cities import CityRegistry
from daemon.clock import SimulatedClock
from daemon.config import Settings
from daemon.ledger.db import connect
from daemon.ledger.migrate import migrate

log = logging.getLogger(__name__)


class BacktestError(ValueError):
    """The backtest cannot run on these inputs (no data in the range, bad dates, unknown fill rule)."""


@dataclass(frozen=True)
class BacktestSpec:
    data_dir: Path
    start: date
    end: date
    fill: str = "strict"
    cadence_minutes: int = 60
    slow_cadence_minutes: int = 60
    out_dir: Path | None = None
    refit: bool = True              # walk-forward model fits; False = the built-in default parameters


def run_backtest(settings: Settings, spec: BacktestSpec, registry: CityRegistry,
                 progress: Callable[[int, int], None] | None = None) -> BacktestResult:
    from daemon.backtest.exchange import TapeExchange
    from daemon.backtest.spread import WalkForwardSpread
    from daemon.backtest.tape import Tape, TapeError
    from daemon.runtime.daemon import Daemon
    from daemon.weather.recorded import RecordedWeatherFeed

    if spec.end < spec.start:
        raise BacktestError(f"--to {spec.end} is before --from {spec.start}")
    fill_rule = parse_fill_rule(spec.fill)
    try:
        # The scored window's markets; the spread model is fitted on the whole record before each day.
        tape = Tape.load(spec.data_dir, start=spec.start, end=spec.end, cities=registry.codes, registry=registry)
        history = Tape.load(spec.data_dir, end=spec.end, cities=registry.codes, registry=registry)
    except TapeError as exc:
        raise BacktestError(str(exc)) from None
    events = recorded_events(tape)
    if not events:
        raise BacktestError(f"no recorded events between {spec.start} and {spec.end} in {spec.data_dir}")
    out_dir = spec.out_dir or settings.data_dir / "backtests" / _run_name(spec, settings)
    out_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    out_dir.chmod(0o700)  # the ledger holds every simulated order: private, like the live one
    ledger = out_dir / "backtest.duckdb"
    for stale in (ledger, ledger.with_name(ledger.name + ".wal")):  # a fresh ledger: never an old WAL replayed
        stale.unlink(missing_ok=True)
    first_open = min(e.open_time for e in events)
    clock = SimulatedClock(first_open - timedelta(minutes=1))
    db = connect(f"duckdb:///{ledger}")
    migrate(db)
    exchange = TapeExchange(tape, clock, fill_rule=fill_rule, spread=WalkForwardSpread(history),
                            balance_cents=int(settings.trading.bankroll * 100))
    weather = RecordedWeatherFeed(spec.data_dir, registry)
    bt_settings = settings.model_copy(update={"mode": "shadow", "env": "dev"})
    daemon = Daemon(bt_settings, db, clock, exchange, weather, registry, component="backtest")
    params = ParamsSchedule(spec.data_dir, db, clock, registry, enabled=spec.refit,
                            cache_dir=settings.data_dir / "fit-cache")
    schedule = build_schedule(events, daemon.strategies, spec.cadence_minutes)
    slow_every = timedelta(minutes=spec.slow_cadence_minutes)
    daemon.start()
    next_slow = schedule[0]
    for i, instant in enumerate(schedule):
        clock.set(instant)
        params.apply(daemon, instant, registry)
        if instant >= next_slow:
            daemon.slow_cycle()
            next_slow = instant + slow_every
        daemon.fast_cycle()
        if progress is not None:
            progress(i + 1, len(schedule))
    # Run on until every recorded settlement is known, then ingest them.
    last_known = max((e.settlement_known_at for e in events if e.settlement_known_at), default=clock.now())
    clock.set(max(clock.now(), last_known) + timedelta(minutes=1))
    daemon.slow_cycle()
    daemon.stop("backtest finished")
    result = results_from_ledger(db, tape, events, spec, inputs_hash=inputs_hash(spec, settings),
                                 exchange=exchange, params=params.summary())
    result.ledger_path = str(ledger)
    db.close()
    return result


@dataclass(frozen=True)
class RecordedEvent:
    event_ticker: str
    climate_day: date
    open_time: datetime
    close_time: datetime
    settlement_known_at: datetime | None


def recorded_events(tape: Any) -> list[RecordedEvent]:
    out = []
    for event_ticker, markets in tape.events.items():
        known = [tape.results[m.ticker].settles_at for m in markets if m.ticker in tape.results]
        out.append(RecordedEvent(event_ticker, markets[0].climate_day, min(m.open_time for m in markets),
                                 max(m.close_time for m in markets), max(known) if known else None))
    return sorted(out, key=lambda e: (e.close_time, e.event_ticker))


def build_schedule(events: list[Any], strategies: tuple[Any, ...], cadence_minutes: int) -> list[datetime]:
    """Every decision instant: a regular grid while markets are open plus each strategy's wake times."""
    step = timedelta(minutes=cadence_minutes)
    instants: set[datetime] = set()
    start = min(e.open_time for e in events)
    end = max(e.close_time for e in events)
    grid = start.replace(minute=0, second=0, microsecond=0)
    open_windows = sorted((e.open_time, e.close_time) for e in events)
    while grid < end:
        if any(o <= grid < c for o, c in open_windows):
            instants.add(grid)
        grid += step
    for event in events:
        for strategy in strategies:
            for wake in strategy.wake_times(event.close_time):
                if event.open_time <= wake < event.close_time:
                    instants.add(wake)
    return sorted(instants)


def inputs_hash(spec: BacktestSpec, settings: Settings) -> str:
    """One hash of the recorded inputs, the run's options, the configuration and the code."""
    digest = hashlib.sha256()
    digest.update(data_hash(spec.data_dir).encode())
    digest.update(f"{spec.start}|{spec.end}|{spec.fill}|{spec.cadence_minutes}|{spec.slow_cadence_minutes}|"
                  f"{spec.refit}".encode())
    digest.update(settings.config_hash.encode())
    digest.update(code_hash().encode())
    return digest.hexdigest()[:16]


def data_hash(data_dir: Path) -> str:
    """SHA-256 over every recorded file the backtest can read (Kalshi tape, weather), by relative path."""
    digest = hashlib.sha256()
    for path in sorted(p for sub in ("kalshi", "weather") for p in (data_dir / sub).rglob("*") if p.is_file()):
        digest.update(str(path.relative_to(data_dir)).encode())
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    return digest.hexdigest()


def code_hash() -> str:
    root = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _run_name(spec: BacktestSpec, settings: Settings) -> str:
    return f"{spec.start}_{spec.end}_{spec.fill.replace(':', '')}_{settings.config_hash[:8]}"


def utc(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
