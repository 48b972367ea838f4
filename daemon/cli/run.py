"""`milkbot run`: the trading daemon in the configured mode (SHADOW, DEMO or LIVE)."""

from __future__ import annotations

import signal
from typing import Any

import typer

from daemon.cli.common import EXIT_CONFIG, open_db, settings_from_ctx, user_errors

SHADOW_KEY_ID = "5ad0c0de-0000-4000-8000-00000000a11c"
EXIT_FATAL = 1  # the daemon stopped itself (lock lost, database away too long): not an operator input error


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_CONFIG)


def _shadow_world(settings: Any, registry: Any, clock: Any) -> tuple[Any, Any, Any]:
    """SHADOW: the full live path against an in-process simulator on loopback — never a real exchange."""
    from daemon.exchange.client import KalshiClient
    from daemon.exchange.signing import load_private_key
    from daemon.exchange.sim import SimExchange, SimServer
    from daemon.simulation.demo import _key
    from daemon.simulation.truth import SyntheticTruth
    from daemon.simulation.weather_feed import TruthWeatherFeed

    folder = settings.data_dir.resolve()
    folder.mkdir(parents=True, exist_ok=True)
    truth = SyntheticTruth(settings.sim.seed, registry)
    exchange = SimExchange(registry, truth, clock, settings.sim, folder / "shadow-sim-journal.jsonl")
    key_path, public_pem = _key(folder)
    exchange.register_account(SHADOW_KEY_ID, public_pem, int(settings.trading.bankroll * 100))
    exchange.step()
    server = SimServer(exchange, step_interval_s=1.0).start()
    client = KalshiClient(server.url, SHADOW_KEY_ID, load_private_key(key_path), clock, mode="shadow",
                          env=settings.env)
    return client, TruthWeatherFeed(truth), server


def _exchange_world(settings: Any, registry: Any, clock: Any) -> tuple[Any, Any, Any]:
    from daemon.exchange.client import KalshiClient
    from daemon.weather.feed import NwsWeatherFeed
    from daemon.weather.nws import NwsClient

    if not settings.exchange.has_credentials:
        raise _fail(f"mode {settings.mode} needs exchange.key_id and exchange.private_key_path")
    want = "production" if settings.mode == "live" else "demo"
    if settings.exchange.environment != want:
        raise _fail(f"mode {settings.mode} needs exchange.environment = {want!r}")
    client = KalshiClient.from_config(settings.exchange, clock, mode=settings.mode, env=settings.env)
    nws = NwsClient(clock, settings.weather.user_agent, settings.weather.nws_base_url)
    return client, NwsWeatherFeed(nws, registry, clock, settings.weather), None


def _guard(settings: Any, db: Any, lock: Any, clock: Any) -> Any:
    """The lock check before every order, reconnects (Postgres), the control file (embedded DuckDB)."""
    from daemon.ledger.access import duckdb_path
    from daemon.runtime.control import ControlFiles
    from daemon.runtime.guard import DaemonGuard

    path = duckdb_path(settings.database_url)
    return DaemonGuard(db, lock, clock, ControlFiles(path) if path is not None else None)


def _fatal(daemon: Any, reason: str) -> typer.Exit:
    """The lock is lost or the database stayed away: exit non-zero (systemd restarts the unit)."""
    try:
        daemon.stop(reason[:200])
    except Exception:  # noqa: BLE001 - the ledger may be what is gone
        pass
    typer.echo(f"error: {reason}", err=True)
    return typer.Exit(EXIT_FATAL)


def run(
    ctx: typer.Context,
    i_understand_live_trading: bool = typer.Option(False, "--i-understand-live-trading",
                                                   help="Required (with a passing `golive check`) for LIVE."),
    fast_seconds: float = typer.Option(60.0, "--fast-seconds", min=1),
    slow_seconds: float = typer.Option(600.0, "--slow-seconds", min=1),
    once: bool = typer.Option(False, "--once", help="One slow and one fast cycle, then exit."),
) -> None:
    """Run the daemon until SIGTERM/Ctrl-C (finishes the current step, flushes, exits)."""
    from daemon.clock import SystemClock
    from daemon.exchange.hosts import ExchangeTargetError
    from daemon.observability import configure_logging
    from daemon.runtime.daemon import Daemon
    from daemon.runtime.golive import golive_report
    from daemon.runtime.lock import AlreadyRunningError, DaemonLock
    from daemon.runtime.scheduler import DaemonScheduler
    from daemon.simulation.demo import registry_for

    settings = settings_from_ctx(ctx)
    configure_logging(settings)
    clock = SystemClock()
    registry = registry_for(settings)
    with user_errors():
        db = open_db(settings)
    lock = DaemonLock(db, settings.database_url)
    server = None
    try:
        try:
            lock.acquire()
        except AlreadyRunningError as exc:
            raise _fail(str(exc)) from None
        if settings.mode == "live":
            if not i_understand_live_trading:
                raise _fail("LIVE refuses to start without --i-understand-live-trading")
            from daemon.backtest.stored import latest_backtest

            report = golive_report(db, clock.now(), backtest=latest_backtest(settings.data_dir, settings.config_hash))
            if not report.passed:
                typer.echo("\n".join(report.lines()), err=True)
                raise _fail("LIVE refuses to start: the go/no-go report does not pass")
        try:  # the client and the daemon each refuse a host this mode must never reach
            if settings.mode == "shadow":
                client, feed, server = _shadow_world(settings, registry, clock)
            else:
                client, feed, server = _exchange_world(settings, registry, clock)
            guard = _guard(settings, db, lock, clock)
            daemon = Daemon(settings, db, clock, client, feed, registry, guard=guard)
        except ExchangeTargetError as exc:
            raise _fail(exc.message) from None
        daemon.start()
        typer.echo(f"daemon run {daemon.run_id} in {settings.mode} (cities: {len(registry)})", err=True)
        if once:
            daemon.slow_cycle()
            stats = daemon.fast_cycle()
            if guard.fatal:
                raise _fatal(daemon, guard.fatal)
            daemon.stop("once")
            typer.echo(f"cycle {stats.cycle_id}: {stats.decisions} decisions, {stats.trades} to trade,"
                       f" submits {stats.submits}, errors {stats.errors}")
            return
        scheduler = DaemonScheduler(daemon, fast_seconds=fast_seconds, slow_seconds=slow_seconds)
        guard.on_fatal = lambda reason: scheduler.stop()
        signal.signal(signal.SIGTERM, lambda *_: scheduler.stop())
        signal.signal(signal.SIGINT, lambda *_: scheduler.stop())
        scheduler.start()
        scheduler.wait()
        if guard.fatal:
            raise _fatal(daemon, guard.fatal)
        daemon.stop("sigterm")
        typer.echo("daemon stopped cleanly", err=True)
    finally:
        if server is not None:
            server.stop()
            server.exchange.close()
        lock.release()
        db.close()


def register(app: typer.Typer) -> None:
    app.command("run")(run)
