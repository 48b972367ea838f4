"""Test kit: writes realistic ledger rows (through the daemon's Database) for the publisher tests.

Every trade goes through the real chain decision → intent → order → order event → fill, so the analytics
functions' joins are exercised. Internal ids can be chosen, so canary strings can be planted. A trade made with a
`purpose` gets the daemon's intent key (`<ticker>:<side>:<action>:<climate_day>:<purpose>`, the taker's purpose
being `entry`); without one its key is an internal id the public record cannot attribute to a strategy.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from daemon.ledger.db import Database, Json

CONFIG_HASH = "c0ffee" * 10 + "c0ff"
PUBLISH_AT = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)


def tree(root) -> dict[str, bytes]:
    """Every file of a built site: relative path → bytes."""
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def source_for(db, db_url: str):
    """Postgres: the publisher's own connection as milkbot_publisher. DuckDB: the embedded ledger."""
    return db_url if db.engine == "postgres" else db
SERIES = {"NYC": "KXHIGHNY", "CHI": "KXHIGHCHI", "LAX": "KXHIGHLAX", "MIA": "KXHIGHMIA", "AUS": "KXHIGHAUS",
          "DEN": "KXHIGHDEN", "PHL": "KXHIGHPHIL", "BOS": "KXHIGHTBOS", "SEA": "KXHIGHTSEA", "SFO": "KXHIGHTSFO"}


def ticker_for(city: str, day: date, strike: int) -> str:
    return f"{SERIES[city]}-{day:%y%b%d}".upper() + f"-B{strike}.5"


@dataclass
class LedgerKit:
    db: Database
    secret: str = "internal"
    _n: int = 0
    tickers: dict[str, tuple[str, date]] = field(default_factory=dict)
    settled: set[str] = field(default_factory=set)
    versions: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.db.execute("INSERT INTO ops.config_versions (config_hash, config, first_seen_at) VALUES (?, ?, ?) "
                        "ON CONFLICT DO NOTHING",
                        [CONFIG_HASH, Json({"note": self.secret}), datetime(2025, 1, 1, tzinfo=UTC)])

    def _next(self) -> int:
        self._n += 1
        return self._n

    def run(self, at: datetime, mode: str = "demo", component: str = "daemon") -> int:
        return self.db.scalar(
            "INSERT INTO ops.runs (component, mode, env, config_hash, code_version, host, pid, started_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING run_id",
            [component, mode, "demo" if mode == "demo" else "dev", CONFIG_HASH, f"v-{self.secret}",
             f"host-{self.secret}", 4242, at])

    def trade(self, at: datetime, city: str, day: date, strike: int, *, side: str = "yes", action: str = "buy",
              count: str = "10", price: str = "0.45", fee: str = "0.02", p_yes: float | None = 0.6,
              received_at: datetime | None = None, is_taker: bool = True, run_id: int | None = None,
              with_decision: bool = True, purpose: str | None = None) -> str:
        n = self._next()
        ticker = ticker_for(city, day, strike)
        self.tickers[ticker] = (city, day)
        key = f"ik-{self.secret}-{n}" if purpose is None else f"{ticker}:{side}:{action}:{day.isoformat()}:{purpose}"
        version = self.versions[key] = self.versions.get(key, 0) + 1   # a re-placed intent is its next version
        coid = f"coid-{self.secret}-{n}"
        order_id = f"oid-{self.secret}-{n}"
        decision_id = None if not with_decision else self.db.scalar(
            "INSERT INTO ops.decisions (run_id, cycle_id, decided_at, ticker, event_ticker, city_code, climate_day, "
            "config_hash, p_yes, p_uncertainty, side, action, price, fee_per_contract, edge, size, outcome, "
            "reason_codes, features, intent_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "RETURNING id",
            [run_id, f"cycle-{self.secret}-{n}", at - timedelta(seconds=20), ticker, ticker.rsplit("-", 1)[0], city,
             day, CONFIG_HASH, p_yes, 0.05, side, action, Decimal(price), Decimal("0.02"), Decimal("0.05"),
             Decimal(count), "trade", Json([f"reason-{self.secret}"]), Json({"payload": self.secret}), key])
        self.db.execute(
            "INSERT INTO ops.intents (intent_key, version, decision_id, ticker, city_code, climate_day, side, action, "
            "count, limit_price, client_order_id, state, reason, created_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'done', ?, ?, ?)",
            [key, version, decision_id, ticker, city, day, side, action, Decimal(count), Decimal(price),
             coid, f"why-{self.secret}", at - timedelta(seconds=15), at])
        self.db.execute(
            "INSERT INTO ops.orders (client_order_id, exchange_order_id, intent_key, intent_version, ticker, city_code, "
            "climate_day, side, action, count, limit_price, state, filled_count, remaining_count, fees_paid, "
            "last_error, created_at, sent_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'executed', ?, 0, ?, "
            "?, ?, ?, ?)",
            [coid, order_id, key, version, ticker, city, day, side, action, Decimal(count), Decimal(price),
             Decimal(count), Decimal(fee), f"err-{self.secret}", at - timedelta(seconds=10),
             at - timedelta(seconds=10), at])
        self.db.execute(
            "INSERT INTO ops.order_events (client_order_id, occurred_at, from_state, to_state, cause, detail) "
            "VALUES (?, ?, 'sent', 'executed', 'fill', ?)", [coid, at, Json({"raw": self.secret})])
        self.db.execute(
            "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code, "
            "climate_day, side, action, count, price, is_taker, fee, filled_at, received_at) "
            "VALUES (?, ?, NULL, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [f"fill-{self.secret}-{n}", order_id, ticker, city, day, side, action, Decimal(count), Decimal(price),
             is_taker, Decimal(fee), at, received_at or at + timedelta(seconds=2)])
        return ticker

    def settle(self, ticker: str, result: str, at: datetime, received_at: datetime | None = None) -> None:
        city, day = self.tickers[ticker]
        self.db.execute(
            "INSERT INTO ops.settlements (ticker, event_ticker, city_code, climate_day, market_result, settled_value, "
            "yes_count, no_count, revenue, settled_at, received_at, payload) VALUES (?, ?, ?, ?, ?, 50, 0, 0, 0, ?, ?, ?)",
            [ticker, ticker.rsplit("-", 1)[0], city, day, result, at, received_at or at + timedelta(minutes=1),
             Json({"raw": self.secret})])
        self.settled.add(ticker)

    def position(self, ticker: str, at: datetime, position: str = "10") -> None:
        city, day = self.tickers.get(ticker, ("NYC", date(2026, 1, 1)))
        self.db.execute(
            "INSERT INTO ops.positions (ticker, city_code, climate_day, position, cost_basis, fees_paid, realized_pnl, "
            "updated_at) VALUES (?, ?, ?, ?, 4.5, 0.02, 0, ?) ON CONFLICT (ticker) DO UPDATE SET "
            "position = excluded.position, updated_at = excluded.updated_at",
            [ticker, city, day, Decimal(position), at])

    def weather(self, city: str, day: date, at: datetime, observed: float | None = None,
                forecast: float | None = None) -> None:
        self.db.execute(
            "INSERT INTO ops.weather_snapshots (city_code, climate_day, source, issued_at, valid_at, received_at, "
            "forecast_high_f, hourly_max_f, observed_max_f, observed_until, payload) "
            "VALUES (?, ?, 'assembled', ?, ?, ?, ?, NULL, ?, ?, ?)",
            [city, day, at, at, at, forecast, observed, at if observed is not None else None,
             Json({"raw": self.secret})])

    def market(self, ticker: str, at: datetime) -> None:
        city, day = self.tickers.get(ticker, ("NYC", date(2026, 1, 1)))
        self.db.execute(
            "INSERT INTO ops.market_snapshots (ticker, event_ticker, city_code, climate_day, status, received_at, "
            "yes_bid, yes_ask, orderbook, payload) VALUES (?, ?, ?, ?, 'open', ?, 0.40, 0.45, ?, ?)",
            [ticker, ticker.rsplit("-", 1)[0], city, day, at, Json({"yes": []}), Json({"raw": self.secret})])

    def state(self, at: datetime, state: str = "ACTIVE", kill: bool = False) -> None:
        self.db.execute("INSERT INTO ops.trading_state (state, kill_switch, reason, set_by, set_at) VALUES (?, ?, ?, ?, ?)",
                        [state, kill, f"reason-{self.secret}", f"operator:{self.secret}", at])

    def risk(self, at: datetime, severity: str = "warning") -> None:
        self.db.execute("INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) "
                        "VALUES (?, 'breaker', ?, ?, ?)", [at, severity, f"msg-{self.secret}", Json({"x": self.secret})])


CITY_CODES = list(SERIES)
# seed_history cycles through these (no random draw, so the seeded numbers stay those of the fixed seed): every
# strategy, and a trade whose order carries no strategy
SEED_PURPOSES = ("entry", "fixed_offset_maker", "model_maker", None)


def seed_history(kit: LedgerKit, published_at: datetime, rng: random.Random, days: int = 12,
                 trades_per_day: int = 6) -> None:
    """A plausible history ending at the cut-off: runs, weather, trades, settlements, state, risk events."""
    cutoff = published_at - timedelta(minutes=60)
    start = cutoff - timedelta(days=days)
    run_id = kit.run(start - timedelta(hours=1))
    kit.state(start - timedelta(hours=1), "ACTIVE")
    for d in range(days + 1):
        day_start = (start + timedelta(days=d)).replace(hour=0, minute=0, second=0, microsecond=0)
        day = day_start.date()
        for _ in range(trades_per_day):
            at = day_start + timedelta(hours=rng.randint(12, 22), minutes=rng.randint(0, 59), seconds=rng.randint(0, 59))
            if at > cutoff:
                continue
            city = rng.choice(CITY_CODES)
            ticker = kit.trade(at, city, day, rng.randint(30, 80), side=rng.choice(["yes", "no"]),
                               action="buy" if rng.random() < 0.85 else "sell", count=str(rng.randint(1, 40)),
                               price=f"0.{rng.randint(5, 95):02d}{rng.choice(['', '5'])}", fee=f"0.{rng.randint(0, 30):02d}",
                               p_yes=round(rng.random(), 3), is_taker=rng.random() < 0.7, run_id=run_id,
                               purpose=SEED_PURPOSES[kit._n % len(SEED_PURPOSES)])
            settle_at = day_start + timedelta(days=1, hours=14)
            if settle_at <= cutoff and ticker not in kit.settled:
                kit.settle(ticker, rng.choice(["yes", "no", "no", "void"] if rng.random() < 0.1 else ["yes", "no"]),
                           settle_at)
        for city in CITY_CODES:
            at = day_start + timedelta(hours=20)
            if at <= cutoff:
                kit.weather(city, day, at, observed=float(rng.randint(20, 90)), forecast=float(rng.randint(20, 90)))
    for city in CITY_CODES[:7]:
        kit.weather(city, cutoff.date(), cutoff - timedelta(minutes=rng.randint(5, 50)),
                    observed=float(rng.randint(20, 90)), forecast=float(rng.randint(20, 90)))
    kit.market(next(iter(kit.tickers)), cutoff - timedelta(minutes=3))
    kit.risk(cutoff - timedelta(hours=2), "warning")


def add_embargoed(kit: LedgerKit, published_at: datetime, rng: random.Random) -> None:
    """Rows the public must not see yet: everything younger than the cut-off, or received after it."""
    cutoff = published_at - timedelta(minutes=60)
    later = [cutoff + timedelta(seconds=s) for s in (1, 59, 61, 1800, 3599, 3600, 7200)]
    for i, at in enumerate(later):
        city = rng.choice(CITY_CODES)
        # a decision precedes its fill by 20 s; one made before the cut-off was already public, so skip those
        ticker = kit.trade(at, city, at.date(), rng.randint(30, 80), count=str(rng.randint(1, 9)),
                           with_decision=at - timedelta(seconds=20) > cutoff,
                           purpose=SEED_PURPOSES[i % len(SEED_PURPOSES)])
        kit.position(ticker, at)
        kit.weather(city, at.date(), at, observed=99.0, forecast=101.0)
        kit.market(ticker, at)
    # happened before the cut-off but only received after it
    # (its decision would have been public already, so this one has none: only the fill arrives late)
    old = kit.trade(cutoff - timedelta(minutes=5), "NYC", cutoff.date(), 44, received_at=cutoff + timedelta(seconds=30),
                    with_decision=False, purpose="model_maker")
    # settlements of public trades: one after the cut-off, one before it but received after
    public = [t for t in kit.tickers if t not in kit.settled and t != old]
    if public:
        kit.settle(public[0], "yes", cutoff + timedelta(minutes=1))
    if len(public) > 1:
        kit.settle(public[1], "no", cutoff - timedelta(minutes=1), received_at=cutoff + timedelta(minutes=2))
    kit.state(cutoff + timedelta(minutes=10), "HALTED", kill=True)
    kit.run(cutoff + timedelta(minutes=1), mode="shadow")
    kit.risk(cutoff + timedelta(minutes=3), "critical")
