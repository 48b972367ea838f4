"""The trading daemon: a fast cycle (markets → decisions → orders) and a slow cycle (weather, settlements, limits).

Each cycle has an id, set on `cycle_id_var` (every log line) and written on every decision row. Nothing is
sent before the order manager's start-up reconciliation completes. A failing step is logged and recorded;
it never kills the process (the scheduler runs the next cycle).
"""

from __future__ import annotations

import logging
import threading
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import Clock, SystemClock
from daemon.config import Settings
from daemon.exchange.hosts import ExchangeTargetError, check_exchange_target
from daemon.ledger.db import Database, DatabaseError
from daemon.ledger.runs import finish_run, record_config_version, start_run
from daemon.observability import cycle_id_var
from daemon.runtime import parts
from daemon.runtime.decide import DecisionInputError, EventInputs, MarketDecision, decide_event
from daemon.runtime.footprint import Footprint, purpose_of, read_footprint, strategy_of_key
from daemon.runtime.heartbeat import beat
from daemon.runtime.rules_gate import RulesGate
from daemon.runtime.sql import insert_rows
from daemon.strategies import build_strategies
from daemon.trading.bankroll import BankrollTracker
from daemon.trading.intents import Intent, climate_day_from_ticker, make_intent_key
from daemon.trading.oms import OmsPolicy, OrderManager
from daemon.trading.risk import STALE_PREFIX, RiskEngine

log = logging.getLogger(__name__)
# Durations for cycle statistics only (wall time spent computing), never for trading logic.
_STOPWATCH = SystemClock()

CANCEL_RESTING_MARK = "[cancel-resting]"  # in a kill reason: the daemon cancels its resting orders


@dataclass
class CycleStats:
    cycle_id: str
    kind: str
    events: int = 0
    markets: int = 0
    decisions: int = 0
    trades: int = 0
    submits: dict[str, int] = field(default_factory=dict)
    cancels: int = 0
    blocked_cities: list[str] = field(default_factory=list)
    snapshots: int = 0
    calls: int = 0
    compute_seconds: float = 0.0
    event_compute_seconds: list[float] = field(default_factory=list)
    wall_seconds: float = 0.0
    errors: list[str] = field(default_factory=list)


class Daemon:
    def __init__(self, settings: Settings, db: Database, clock: Clock, client: Any, weather_feed: Any,
                 registry: CityRegistry, *, component: str = "daemon", risk: Any = None,
                 oms_checkpoint: Any = None, guard: Any = None) -> None:
        # Before the first request: this mode must never reach this host (DEMO on production, SHADOW off loopback).
        # An in-process exchange (the backtest's tape) has no URL and reaches no network: SHADOW only.
        if client.base_url is None:
            if settings.mode != "shadow":
                raise ExchangeTargetError("wrong_exchange", f"mode {settings.mode} needs a real exchange, not an"
                                          " in-process one")
        else:
            check_exchange_target(settings.mode, settings.env, client.base_url)
        self.settings = settings
        self.db = db
        self.clock = clock
        self.client = client
        self.weather_feed = weather_feed
        self.registry = registry
        self.component = component
        self.policy = settings.trading
        self.config_hash = record_config_version(db, settings, clock)
        self.run_id: int | None = None
        self.bankroll = BankrollTracker(settings.trading.bankroll)  # min(configured, exchange cash): one definition
        self.strategies = build_strategies(settings.strategies, self.policy)
        self.risk = risk if risk is not None else self._build_risk()
        self.guard = guard  # daemon.runtime.guard.DaemonGuard: the lock, reconnects, the control file
        self.oms = OrderManager(db, client, clock, risk=self.risk, policy=OmsPolicy.from_config(settings.trading),
                                registry=registry, checkpoint=oms_checkpoint, send_guard=self._send_refusal)
        self.asof = parts.weather_asof.AsOfWeather(db)
        self.rules = RulesGate(db, self.oms.store.record_risk_event)  # untradeable rules → blocked + a risk event
        self._params: tuple[int, Any] | None = None
        self._seq = 0
        self._stale: set[str] = set()
        self._weather_cache: dict[tuple[str, date], dict | None] = {}
        self._cooldown: dict[str, datetime] = {}   # intent key → no resubmission before (after a risk block)
        self.retry_cooldown = timedelta(minutes=60)
        self._orders_may_change = True
        self._cycle_lock = threading.Lock()   # fast and slow cycles never overlap
        self._kill_handled: datetime | None = None
        self.max_forecast_age = timedelta(minutes=settings.weather.max_forecast_age_minutes)
        self.max_obs_age = timedelta(minutes=settings.weather.max_observation_age_minutes)
        self.series = tuple(dict.fromkeys(city.series[0] for city in registry))
        self._footprint = Footprint({}, {}, {})

    # -- lifecycle ----------------------------------------------------------------------------------------
    def _build_risk(self) -> Any:
        weather_free = frozenset(purpose_of(s.name) for s in self.strategies if not s.uses_weather)
        return RiskEngine(self.db, self.clock, self.policy, self.registry, lambda: self._bankroll,
                          weather_free=weather_free)

    def start(self) -> Any:
        """Open the run, then reconcile with the exchange before anything else (no order before this)."""
        self.run_id = start_run(self.db, self.settings, self.component, self.clock)
        token = cycle_id_var.set(f"start-{self.run_id}")
        try:
            self._refresh_bankroll()
            report = self.oms.reconcile()
            if report.complete:
                self.oms.resume_pending()
            log.info("start-up reconciliation: complete=%s %s", report.complete, report.to_dict())
            beat(self.db, self.clock, self.component, self.run_id, "started",
                 {"reconciled": report.complete, "bankroll": self.bankroll.current.to_json()})
            return report
        finally:
            cycle_id_var.reset(token)

    def stop(self, reason: str = "stopped") -> None:
        if self.run_id is not None:
            finish_run(self.db, self.run_id, self.clock, reason)
            beat(self.db, self.clock, self.component, self.run_id, "stopped", {"reason": reason})

    def _next_cycle_id(self, kind: str) -> str:
        self._seq += 1
        return f"{kind}{self.run_id or 0}-{self._seq}"

    # -- fast cycle ---------------------------------------------------------------------------------------
    def fast_cycle(self) -> CycleStats:
        return self._run_cycle("fast", self._fast_steps)

    def _run_cycle(self, kind: str, steps: Callable[[CycleStats], None]) -> CycleStats:
        """One cycle of a loop: its id on every log line, never two at once, failures recorded, a heartbeat."""
        stats = CycleStats(self._next_cycle_id(kind[0]), kind)
        token = cycle_id_var.set(stats.cycle_id)
        wall0, calls0 = _STOPWATCH.monotonic(), self._calls()
        try:
            with self._cycle_lock:
                if self.guard is not None:
                    self.guard.before_cycle()  # lock proven held (reconnecting if lost), kill requests applied
                steps(stats)
        except Exception as exc:
            log.exception("%s cycle failed", kind)
            stats.errors.append(f"{type(exc).__name__}: {exc}")
            self._recover_ledger(exc, stats)
            self._record_db_failure(exc)
        finally:
            stats.calls = self._calls() - calls0
            stats.wall_seconds = _STOPWATCH.monotonic() - wall0
            self._beat(stats)
            if self.guard is not None:
                self.guard.after_cycle()
            cycle_id_var.reset(token)
        return stats

    def _send_refusal(self) -> str | None:
        return self.guard.send_refusal() if self.guard is not None else None

    def _recover_ledger(self, exc: Exception, stats: CycleStats) -> None:
        """A lost ledger session (and with it the lock) is re-opened now, so the failure can be recorded."""
        if self.guard is None:
            return
        try:
            self.guard.after_failure(exc)
        except Exception as fatal:  # noqa: BLE001 - FatalLedgerError: the guard stops the daemon
            stats.errors.append(f"{type(fatal).__name__}: {fatal}")

    def _fast_steps(self, stats: CycleStats) -> None:
        if not self.oms.ready:
            report = self.oms.reconcile()
            if not report.complete:
                stats.errors.append(f"not reconciled: {report.error}")
                return
        self._honour_kill_switch(stats)
        # Everything before the order path commits once (DuckDB pays per commit); no order is sent in here.
        with self.db.transaction():
            if self._orders_may_change:
                self.oms.refresh()  # orders just sent: their fills now; resting ones are synced each slow cycle
            self._orders_may_change = False
            self._refresh_bankroll()
            events = self._discover()
            stats.events = len(events)
            decisions = self._decide_all(events, self.clock.now(), stats)
        self._act(decisions, stats)

    def _honour_kill_switch(self, stats: CycleStats) -> None:
        """A kill switch set by `milkbot kill` from another process: cancel our resting orders, once per kill."""
        from daemon.trading import state as st

        current = st.latest(self.db)
        if not current.kill_switch or CANCEL_RESTING_MARK not in current.reason or current.set_at == self._kill_handled:
            return
        results = self.oms.cancel_all(reason="kill_switch")
        self._kill_handled = current.set_at
        stats.cancels += len(results)
        for r in results:
            log.warning("kill switch: %s %s (%s)", r.client_order_id, r.status, r.order_state)

    def _discover(self) -> dict[str, list[Any]]:
        """Open markets per event ticker, for the registry's series."""
        found = self.client.discover_events(self.series, status="open")
        events: dict[str, list[Any]] = {}
        for series_events in found.values():
            for event in series_events:
                if self.registry.for_ticker(event.event_ticker) is None:
                    continue
                markets = [m for m in event.markets if m.is_open]
                if markets:
                    events[event.event_ticker] = list(event.markets)
        return events

    def _books(self, tickers: list[str]) -> dict[str, Any]:
        if not tickers:
            return {}
        return {book.market_ticker: book for book in self.client.get_orderbooks(tickers)}

    def _decide_all(self, events: dict[str, list[Any]], now: datetime, stats: CycleStats) -> list[tuple]:
        books = self._books([m.ticker for ms in events.values() for m in ms if m.is_open])
        params_id, params = self.params()
        size_multiplier = Decimal(str(self.risk.size_multiplier()))
        state = self._trading_state()
        plans = []
        for event_ticker, markets in sorted(events.items()):
            city = self.registry.for_ticker(event_ticker)
            day = climate_day_from_ticker(event_ticker)
            if city is None or day is None:
                continue
            ladder = [self._market_row(m, books.get(m.ticker), city.code, day, now) for m in markets]
            plans.append((event_ticker, city, day, ladder))
            stats.markets += sum(1 for m in markets if m.is_open)
        out: list[tuple] = []
        self._footprint = read_footprint(self.db, {day for _, _, day, _ in plans})
        with self.db.transaction():  # one commit per cycle: snapshots and decisions land together
            insert_rows(self.db, "ops.market_snapshots", [r for *_, ladder in plans for r in ladder])
            stats.snapshots = sum(len(p[3]) for p in plans)
            rows = []
            for event_ticker, city, day, ladder in plans:
                t0 = _STOPWATCH.monotonic()
                weather = None
                try:
                    weather = self._weather(city.code, day, now)
                    blocked, weather_blocked = self._blocks(city, weather, now, state, stats)
                    blocked = self.rules.blocks(event_ticker, city, ladder) + blocked
                    own, positions = self._footprint.for_event(r["ticker"] for r in ladder)
                    inputs = EventInputs(city.code, day, now, tuple(ladder), weather, self._bankroll or Decimal(0),
                                         size_multiplier, tuple(blocked), tuple(weather_blocked), own, positions,
                                         city.climate_day_bounds(day)[1], city.lst_offset_hours)
                    t0 = _STOPWATCH.monotonic()
                    decided = decide_event(inputs, params, self.policy, self.strategies)
                except DecisionInputError as exc:
                    decided = self._skipped(ladder, f"input_error: {exc}")
                except DatabaseError:
                    raise  # the cycle's transaction is lost: the cycle fails (and trips the database breaker)
                except Exception as exc:  # one event failing skips that event, never the others
                    log.exception("deciding %s failed", event_ticker)
                    stats.errors.append(f"{event_ticker}: {type(exc).__name__}: {exc}"[:300])
                    decided = self._skipped(ladder, f"decision_error: {type(exc).__name__}: {exc}"[:300])
                stats.event_compute_seconds.append(_STOPWATCH.monotonic() - t0)
                stats.compute_seconds += stats.event_compute_seconds[-1]
                for d in decided:
                    d.features["ladder"] = [r["id"] for r in ladder]
                    key = (make_intent_key(d.ticker, d.side, "buy", day, purpose_of(d.strategy))
                           if d.outcome == "trade" else None)
                    rows.append(self._decision_row(d, event_ticker, city.code, day, now, params_id, weather,
                                                   stats.cycle_id, key))
                    out.append((d, key, city.code, day))
            insert_rows(self.db, "ops.decisions", rows)
        stats.decisions = len(out)
        stats.trades = sum(1 for d, *_ in out if d.outcome == "trade")
        return [(row["id"], key, d, city_code, day) for row, (d, key, city_code, day) in zip(rows, out)]

    def _weather(self, city_code: str, day: date, now: datetime) -> dict | None:
        """Latest snapshot as of now; cached until the next weather poll (the only writer)."""
        cache_key = (city_code, day)
        if cache_key not in self._weather_cache:
            self._weather_cache[cache_key] = self.asof.latest(city_code, day, now)
        return self._weather_cache[cache_key]

    def _blocks(self, city: Any, weather: dict | None, now: datetime, state: str,
                stats: CycleStats) -> tuple[list[str], list[str]]:
        """(blocks for every strategy, blocks for the strategies that use the weather)."""
        # REDUCING trades at reduced size (the risk engine's size multiplier); only HALTED blocks decisions.
        blocked = [f"trading_state:{state}"] if state == "HALTED" else []
        weather_blocked = []
        fresh = parts.freshness.assess(weather, now, city, self.max_forecast_age, self.max_obs_age)
        if fresh.state != "fresh":
            weather_blocked.append(f"weather_{fresh.state}")
            self._note_stale(city.code, fresh)
            stats.blocked_cities.append(city.code)
        elif city.code in self._stale:
            self._stale.discard(city.code)
            self.risk.record_fresh(city.code)
        for reason in self.risk.city_blocked(city.code):  # stale data stops only what uses the weather
            (weather_blocked if reason.startswith(STALE_PREFIX) else blocked).append(f"risk:{reason}")
        return blocked, weather_blocked

    def _note_stale(self, city_code: str, fresh: Any) -> None:
        """One risk event when a city's data goes stale (not one per cycle while it stays stale)."""
        if city_code in self._stale:
            return
        self._stale.add(city_code)
        self.risk.record_stale(city_code, f"weather {fresh.state}")  # stable text: one event per change

    def _act(self, decisions: list[tuple], stats: CycleStats) -> None:
        """Send each strategy's trade decisions through the OMS; cancel its live orders it no longer wants.

        Per (market, strategy): `trade` places, keeps or reprices the wanted order and cancels the strategy's
        other live orders there (the other side); `hold` leaves them; `skip`/`blocked` cancels them. Cheap
        in-memory checks first (an order already live at this price, an intent already filled, a key the
        risk engine refused within the cool-down) so an unchanged book costs no order-path work.
        """
        now = self.clock.now()
        open_rows = self.oms.store.open_orders()
        open_by_key = {r["intent_key"]: r for r in open_rows}
        live: dict[tuple[str, str], list[dict]] = defaultdict(list)
        for row in open_rows:
            live[(row["ticker"], strategy_of_key(row["intent_key"]))].append(row)
        latest = self._latest_intents([key for _, key, *_ in decisions if key])
        for decision_id, key, d, city_code, day in decisions:
            mine = live.pop((d.ticker, d.strategy), [])
            if d.outcome == "hold":
                continue
            wanted = key if d.outcome == "trade" else None
            for row in mine:
                if row["intent_key"] != wanted and row["state"] in ("resting", "partial"):
                    self.oms.cancel_intent(row["intent_key"], reason=f"not wanted: {','.join(d.reasons)[:200]}")
                    stats.cancels += 1
            if wanted is not None:
                over = open_by_key.get(wanted) is None and self._over_budget(d)
                status = "budget" if over else self._maybe_submit(
                    decision_id, wanted, d, city_code, day, latest.get(wanted), open_by_key.get(wanted), now)
                stats.submits[status] = stats.submits.get(status, 0) + 1

    def _over_budget(self, d: MarketDecision) -> bool:
        """Whether a new order would take its strategy past its own budget (cost of contracts at stake)."""
        pct = self.settings.strategies.budgets.get(d.strategy)
        if pct is None or d.price is None:
            return False
        budget = pct * self.risk_bankroll()
        return self._footprint.at_stake.get(d.strategy, Decimal(0)) + d.size * d.price > budget

    def _latest_intents(self, keys: list[str]) -> dict[str, dict]:
        if not keys:
            return {}
        keys = sorted(set(keys))
        rows = self.db.query(
            f"SELECT intent_key, version, state, count, limit_price FROM ops.intents"
            f" WHERE intent_key IN ({', '.join('?' * len(keys))}) ORDER BY intent_key, version", keys)
        return {r["intent_key"]: r for r in rows}  # the last (highest) version wins

    def _maybe_submit(self, decision_id: int, key: str, d: MarketDecision, city_code: str, day: date,
                      latest: dict | None, live: dict | None, now: datetime) -> str:
        until = self._cooldown.get(key)
        if until is not None and now < until:
            return "cooldown"
        if live is not None and Decimal(live["limit_price"]) == d.price:
            return "existing"
        if live is None and latest is not None and latest["state"] == "done":
            return "filled"
        count = Decimal(latest["count"]) if latest is not None else d.size  # keep the first size: no churn
        intent = Intent(intent_key=key, ticker=d.ticker, city_code=city_code, climate_day=day, side=d.side,
                        action="buy", count=count, limit_price=d.price, decision_id=decision_id,
                        reason=",".join(d.reasons)[:200])
        try:
            result = self.oms.submit(intent)
            self._orders_may_change = True
        except Exception as exc:
            log.exception("submit %s failed", key)
            self._record_db_failure(exc)  # a failed ledger write on the order path trips the database breaker
            return f"error:{type(exc).__name__}"
        if result.status == "rejected":
            self.risk.record_reject(d.ticker, "; ".join(result.reasons)[:300] or "rejected")  # reject breaker
        if result.status in ("blocked", "throttled", "rejected"):
            self._cooldown[key] = now + self.retry_cooldown
        return result.status

    # -- slow cycle ---------------------------------------------------------------------------------------
    def slow_cycle(self) -> CycleStats:
        return self._run_cycle("slow", self._slow_steps)

    def _slow_steps(self, stats: CycleStats) -> None:
        with self.db.transaction():  # exchange reads and ledger writes only: no order is sent here
            stats.snapshots = self.poll_weather()
            report = self.oms.reconcile()  # periodic: orders, fills, settlements, positions
        if not report.complete:
            stats.errors.append(f"reconcile incomplete: {report.error}")
        self.risk.evaluate_loss_limits()

    def poll_weather(self) -> int:
        now = self.clock.now()
        stored = 0
        for city in self.registry:
            today = city.climate_day(now)
            for day in (today, today + timedelta(days=1)):
                try:
                    snap = self.weather_feed.poll(city, day, now)
                except Exception as exc:  # noqa: BLE001 - one city's feed failing leaves it to go stale
                    log.warning("weather poll %s %s failed: %r", city.code, day, exc)
                    continue
                if snap is not None:
                    parts.weather_store.store_snapshot(self.db, snap)
                    stored += 1
        self._weather_cache.clear()
        return stored

    # -- helpers ------------------------------------------------------------------------------------------
    def _skipped(self, ladder: list[dict[str, Any]], reason: str) -> list[MarketDecision]:
        """A skip decision per market and strategy of an event that could not be decided (no order follows)."""
        return [MarketDecision(r["ticker"], r["id"], None, None, None, None, None, Decimal(0), "skip", [reason],
                               strategy=s.name) for s in self.strategies for r in ladder]

    def use_params(self, params_id: int, params: Any) -> None:
        """Decide with these stored parameters from now on (the backtest's walk-forward refits)."""
        self._params = (params_id, params)

    def params(self) -> tuple[int, Any]:
        """The stored model parameters (the latest; the built-in defaults saved once if none)."""
        if self._params is None:
            latest = parts.model_params.load_latest(self.db)
            if latest is None:
                params = parts.model_params.default_params()
                latest = (parts.model_params.save_params(self.db, params, self.clock), params)
            self._params = latest
        return self._params

    def _market_row(self, market: Any, book: Any, city_code: str, day: date, now: datetime) -> dict[str, Any]:
        if book is not None:
            yes_bid, yes_ask = book.best_yes_bid, book.best_yes_ask
            bid_size = book.yes[-1].count if book.yes else None
            ask_size = book.no[-1].count if book.no else None
            levels = {"yes": [[str(lv.price), str(lv.count)] for lv in book.yes],
                      "no": [[str(lv.price), str(lv.count)] for lv in book.no]}
        else:
            yes_bid, yes_ask, bid_size, ask_size = market.yes_bid, market.yes_ask, market.yes_bid_size, market.yes_ask_size
            levels = {}
        return {"ticker": market.ticker, "event_ticker": market.event_ticker, "city_code": city_code,
                "climate_day": day, "status": market.status, "received_at": now, "close_time": market.close_time,
                "yes_bid": yes_bid, "yes_ask": yes_ask, "yes_bid_size": bid_size, "yes_ask_size": ask_size,
                "last_price": market.last_price, "volume": market.volume, "open_interest": market.open_interest,
                "orderbook": levels, "payload": market.model_dump(mode="json")}

    def _decision_row(self, d: MarketDecision, event_ticker: str, city_code: str, day: date, now: datetime,
                      params_id: int, weather: dict | None, cycle_id: str, key: str | None) -> dict[str, Any]:
        return {"run_id": self.run_id, "cycle_id": cycle_id, "decided_at": now, "ticker": d.ticker,
                "event_ticker": event_ticker, "city_code": city_code, "climate_day": day,
                "config_hash": self.config_hash, "model_params_id": params_id,
                "market_snapshot_id": d.market_snapshot_id, "weather_snapshot_id": weather["id"] if weather else None,
                "p_yes": d.p_yes, "p_uncertainty": d.features.get("p_uncertainty"), "side": d.side,
                "action": "buy" if d.side else None, **{k: v for k, v in d.comparable().items()
                                                         if k in ("price", "fee_per_contract", "edge", "size")}, "outcome": d.outcome, "reason_codes": list(d.reasons),
                "features": d.features, "intent_key": key}

    @property
    def _bankroll(self) -> Decimal | None:
        """What caps, loss limits and sizes use (daemon/trading/bankroll.py); None until a balance was read."""
        return self.bankroll.enforced()

    def risk_bankroll(self) -> Decimal:
        return self._bankroll or Decimal(0)

    def _refresh_bankroll(self) -> None:
        try:
            cash = self.client.get_balance().balance
        except Exception as exc:  # noqa: BLE001 - keep the last known cash; the next cycle retries
            log.warning("balance unavailable, keeping the last known cash: %r", exc)
            return
        if not self.bankroll.observe(cash, self.clock.now()):
            log.warning("implausible exchange balance %r ignored, keeping the last known cash", cash)

    def _trading_state(self) -> str:
        return self.risk.current_state()

    def _calls(self) -> int:
        return self.client.request_count

    def _record_db_failure(self, exc: Exception) -> None:
        from daemon.ledger.db import DatabaseError

        if isinstance(exc, DatabaseError):
            try:
                self.risk.record_db_failure(exc)
            except Exception:
                log.exception("could not record the database failure")

    def _beat(self, stats: CycleStats) -> None:
        try:
            beat(self.db, self.clock, self.component, self.run_id, "error" if stats.errors else "ok",
                 {"cycle_id": stats.cycle_id, "kind": stats.kind, "decisions": stats.decisions,
                  "trades": stats.trades, "submits": stats.submits, "errors": stats.errors[:3],
                  "bankroll": self.bankroll.current.to_json()})
        except Exception:
            log.exception("heartbeat failed")
