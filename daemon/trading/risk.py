"""The risk engine: caps, loss limits, breakers and the trading state, consulted before every order.

check(ProposedOrder) → RiskVerdict. In order:
1. trading state (HALTED or kill switch → refused; REDUCING → per-trade cap and max contracts scaled down);
2. city breakers (stale data for the city → refused);
3. caps against confirmed + pending exposure + the proposal, as WORST-CASE LOSS (see exposure.py):
   per trade, max contracts, per event (city-day), per city, per cluster, open risk. When a smaller order fits,
   the verdict is allowed with `max_count` < requested (partial); when none fits, refused with max_count 0.
   An order that strictly lowers its event's worst-case loss (closing a position) is never blocked by a dollar
   cap; max contracts bounds every order.
Every refusal or clip writes one ops.risk_events row per limit, naming the limit, the actual value and the
allowed value (detail JSON). Loss limits (rolling windows of realized + settled P&L): daily → HALTED until
+24 h (auto-resume), weekly → REDUCING (half size) for 7 days, monthly → HALTED (no new positions) for 30 days;
each limit trips at most once per its window. Breakers: N rejects in M minutes → HALTED for a pause; database
write failure and exchange auth failure → HALTED until an operator resumes.
The bankroll every cap and loss limit is sized on comes from the `bankroll` callable: in the daemon it is
daemon/trading/bankroll.py's one definition (configured bankroll, never more than the exchange's cash); None means
unknown, and every order is refused (`bankroll_unknown`).
Fails closed: a limit that cannot be evaluated (any exception while checking caps or loss limits) refuses the
order and writes a `limit_error` risk event saying why; until the loss limits evaluate again, every check
re-evaluates them (no 60 s grace) and refuses while they fail.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import Clock
from daemon.ledger.db import Database, DatabaseError, Json
from daemon.money import ONE, ZERO, round_cent
from daemon.trading import exposure as ex
from daemon.trading import state as st
from daemon.trading.config import TradingConfig

log = logging.getLogger(__name__)

_LOSS_EVALUATION_SECONDS = 60.0  # check() re-reads the P&L at most this often (the daemon also calls it per cycle)


@dataclass(frozen=True)
class ProposedOrder:
    ticker: str
    city_code: str
    climate_day: date
    side: str
    action: str
    count: Decimal
    price: Decimal
    intent_key: str | None = None


@dataclass(frozen=True)
class RiskVerdict:
    allowed: bool
    max_count: Decimal | None          # None = the full count fits; else the most that fits (0 = none)
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Breach:
    limit: str
    actual: Decimal                    # worst-case loss (dollars) or count with the full proposed order
    allowed: Decimal
    max_count: Decimal                 # the most this limit lets through
    scope: str = ""

    def reason(self) -> str:
        where = f" {self.scope}" if self.scope else ""
        return f"cap:{self.limit}{where}: {self.actual} > allowed {self.allowed} (max count {self.max_count})"


@dataclass
class _Limits:
    """The dollar caps for one check (bankroll × policy fractions, scaled in REDUCING)."""

    per_trade: Decimal
    per_event: Decimal
    per_city: Decimal
    per_cluster: Decimal
    open_risk: Decimal
    max_contracts: Decimal
    multiplier: Decimal = ONE


@dataclass(frozen=True)
class ExposureReport:
    """Exposure vs limits, for `milkbot risk show` and the per-cycle risk log. Every amount is a worst-case loss:
    `open_risk` is what the open-risk cap limits (positions and pending orders together, hedges netted within an
    event); `positions_risk` counts filled positions alone, `pending_risk` pending orders alone."""

    open_risk: Decimal
    by_event: dict[tuple[str, date], Decimal]
    by_city: dict[str, Decimal]
    by_cluster: dict[str, Decimal]
    confirmed_lots: int
    pending_lots: int
    limits: dict[str, Decimal] = field(default_factory=dict)
    positions_risk: Decimal = ZERO
    pending_risk: Decimal = ZERO


@dataclass(frozen=True)
class LossUsage:
    """One loss limit now: realized + settled loss over its window against what it allows."""

    limit: str                 # daily_loss | weekly_loss | monthly_loss
    window: timedelta
    loss: Decimal
    allowed: Decimal
    action: str                # the state it sets when tripped
    pause: timedelta


STALE_PREFIX = "stale data: "


def _purpose(intent_key: str | None) -> str | None:
    return None if not intent_key else intent_key.rsplit(":", 1)[-1]


class RiskEngine:
    def __init__(
        self, db: Database, clock: Clock, policy: TradingConfig, registry: CityRegistry,
        bankroll: Callable[[], Decimal] | None = None, *, weather_free: frozenset[str] = frozenset(),
    ) -> None:
        self.db = db
        self.clock = clock
        self.policy = policy
        self.registry = registry
        self.bankroll = bankroll or (lambda: policy.bankroll)
        self._stale: dict[str, str] = {}            # city → why its data is stale
        # Intent purposes (strategies) whose orders do not depend on the weather: stale weather does not stop them.
        self.weather_free = weather_free
        self._unpersisted_halt: str | None = None   # a HALT we could not write (database down)
        self._last_loss_check: datetime | None = None   # the last SUCCESSFUL loss-limit evaluation
        self._limit_failure: str | None = None          # why the last loss-limit evaluation failed

    # -- the order path ----------------------------------------------------------------------------
    def check(self, order: ProposedOrder) -> RiskVerdict:
        state = self.current_state()
        if state == "HALTED":
            return self._refuse(order, "trading_state", f"trading state HALTED: {self._state_reason()}",
                                {"limit": "trading_state", "actual": "HALTED", "allowed": "ACTIVE|REDUCING"})
        blocked = self.city_blocked(order.city_code)
        if _purpose(order.intent_key) in self.weather_free:
            blocked = [r for r in blocked if not r.startswith(STALE_PREFIX)]
        if blocked:
            return self._refuse(order, "stale_data", f"city {order.city_code} blocked: {'; '.join(blocked)}",
                                {"limit": "stale_data", "actual": blocked, "allowed": "fresh"})
        problem = _order_problem(order)
        if problem:
            return self._refuse(order, "invalid_order", problem, {"limit": "valid_order", "actual": problem,
                                                                   "allowed": "count > 0, 0 < price < 1"})
        if self.bankroll() is None:  # no balance ever read: nothing to size a cap on (fail closed)
            return self._refuse(order, "bankroll_unknown", "bankroll unknown: the exchange balance was never read",
                                {"limit": "bankroll", "actual": "unknown",
                                 "allowed": "min(configured bankroll, exchange cash)"})
        try:
            self._maybe_evaluate_losses()
            if self.current_state() == "HALTED":  # a loss limit may just have tripped
                return self._refuse(order, "trading_state", f"trading state HALTED: {self._state_reason()}",
                                    {"limit": "trading_state", "actual": "HALTED", "allowed": "ACTIVE|REDUCING"})
            limits = self.limits(reducing=self.current_state() == "REDUCING")
            breaches = self._breaches(order, limits)
        except Exception as exc:  # noqa: BLE001 - a limit that cannot be evaluated allows nothing (fail closed)
            if isinstance(exc, DatabaseError):
                self.record_db_failure(exc)  # cannot read the ledger: the database breaker halts too
            why = f"{type(exc).__name__}: {exc}"[:300]
            return self._refuse(order, "limit_error", f"risk check failed, no order: {why}",
                                {"limit": "risk_check", "actual": why, "allowed": "every limit evaluable"})
        if not breaches:
            return RiskVerdict(True, None, ())
        max_count = min(b.max_count for b in breaches)
        for breach in breaches:
            self._event("cap_breach", "warning" if max_count > 0 else "critical", breach.reason(), {
                "limit": breach.limit, "scope": breach.scope, "actual": str(breach.actual),
                "allowed": str(breach.allowed), "requested": str(order.count), "max_count": str(breach.max_count),
                "price": str(order.price), "side": order.side, "action": order.action,
            }, order)
        reasons = tuple(b.reason() for b in breaches)
        return RiskVerdict(max_count > 0, max_count, reasons)

    def limits(self, *, reducing: bool = False) -> _Limits:
        bankroll = self.bankroll()
        if not isinstance(bankroll, Decimal) or not bankroll.is_finite() or bankroll < 0:
            raise ValueError(f"bankroll must be a finite Decimal >= 0, got {bankroll!r}")
        p = self.policy
        multiplier = p.weekly_size_multiplier if reducing else ONE
        return _Limits(
            per_trade=round_cent(p.cap(p.max_per_trade_pct, bankroll) * multiplier),
            per_event=round_cent(p.cap(p.max_per_event_pct, bankroll)),
            per_city=round_cent(p.cap(p.max_per_city_pct, bankroll)),
            per_cluster=round_cent(p.cap(p.max_per_cluster_pct, bankroll)),
            open_risk=round_cent(p.cap(p.max_open_risk_pct, bankroll)),
            max_contracts=ex.floor_count(p.max_contracts * multiplier, ONE),
            multiplier=multiplier,
        )

    def _breaches(self, order: ProposedOrder, limits: _Limits) -> list[Breach]:
        held, unit = ex.unit_cost(order.side, order.action, order.price)
        n = order.count
        lots = ex.confirmed_lots(self.db) + ex.pending_lots(self.db, exclude_intent=order.intent_key)
        events = ex.by_event(lots)
        key = (order.city_code, order.climate_day)
        base = events.get(key, [])
        others = {k: ex.event_exposure(v) for k, v in events.items() if k != key}
        proposed = ex.Lot(order.ticker, order.city_code, order.climate_day, held, n, n * unit, "proposed")
        before, with_order = ex.event_exposure(base), ex.event_exposure(base + [proposed])
        out: list[Breach] = []
        if n > limits.max_contracts:  # bounds every order, closing ones too: a 150-lot "exit" is still 150 lots
            out.append(Breach("max_contracts", n, limits.max_contracts, limits.max_contracts))
        if with_order < before:
            return out  # strictly reduces the worst-case loss (e.g. closing a position): no dollar cap blocks it
        trade_loss = n * unit
        if trade_loss > limits.per_trade:
            out.append(Breach("per_trade", display_amount(trade_loss), limits.per_trade,
                              ex.floor_count(limits.per_trade / unit, n)))
        cluster = self._cluster(order.city_code)
        scopes = (
            ("per_event", f"{order.city_code}/{order.climate_day}", limits.per_event, ZERO),
            ("per_city", order.city_code, limits.per_city,
             sum((v for k, v in others.items() if k[0] == order.city_code), ZERO)),
            ("per_cluster", cluster or "?", limits.per_cluster,
             sum((v for k, v in others.items() if self._cluster(k[0]) == cluster), ZERO)),
            ("open_risk", "all", limits.open_risk, sum(others.values(), ZERO)),
        )
        for name, scope, cap, elsewhere in scopes:
            actual = with_order + elsewhere
            if actual > cap:
                fits = ex.max_count_within(base, order.ticker, held, unit, n, cap - elsewhere)
                out.append(Breach(name, display_amount(actual), cap, fits, scope))
        return out

    def exposure_report(self) -> ExposureReport:
        confirmed = ex.confirmed_lots(self.db)
        pending = ex.pending_lots(self.db)
        per_event = ex.exposures(confirmed + pending)
        by_city: dict[str, Decimal] = {}
        by_cluster: dict[str, Decimal] = {}
        for (city, _day), value in per_event.items():
            by_city[city] = by_city.get(city, ZERO) + value
            cluster = self._cluster(city) or "?"
            by_cluster[cluster] = by_cluster.get(cluster, ZERO) + value
        lim = self.limits(reducing=st.effective(self.db, self.clock.now()).effective == "REDUCING")
        return ExposureReport(
            sum(per_event.values(), ZERO), per_event, by_city, by_cluster, len(confirmed), len(pending),
            {"per_trade": lim.per_trade, "per_event": lim.per_event, "per_city": lim.per_city,
             "per_cluster": lim.per_cluster, "open_risk": lim.open_risk, "max_contracts": lim.max_contracts},
            sum(ex.exposures(confirmed).values(), ZERO), sum(ex.exposures(pending).values(), ZERO),
        )

    # -- trading state -----------------------------------------------------------------------------
    def current_state(self) -> str:
        """ACTIVE | REDUCING | HALTED. A state whose until_at has passed resumes to ACTIVE (recorded once)."""
        if self._unpersisted_halt is not None:
            self._retry_persist_halt()
            if self._unpersisted_halt is not None:
                return "HALTED"
        try:
            current = st.effective(self.db, self.clock.now())
        except Exception as exc:  # noqa: BLE001 - the state is unknown: halted (invariant 4), a db breaker
            log.error("cannot read trading state: %r", exc)
            self._unpersisted_halt = f"database failure: {exc}"
            return "HALTED"
        if current.expired:
            st.write(self.db, self.clock, current.fallback, f"automatic resume after {current.reason}",
                     "risk:auto_resume", until=current.fallback_until)
            self._event("trading_state", "info", f"{current.state} ended at {current.until_at}: {current.fallback}",
                        {"limit": "until_at", "actual": str(self.clock.now()), "allowed": str(current.until_at),
                         "state": current.fallback})
            return current.fallback
        return current.state

    def set_state(self, state: str, reason: str, set_by: str, until: datetime | None = None) -> None:
        """Operators may set any state; automatic callers (risk:*, oms:*) may only escalate."""
        name = st.normalise(state)
        current = self.current_state()
        if not set_by.startswith("operator") and self._would_weaken(name, current, until):
            if self._outlasts_pause(name, current, until):
                self._write_under_pause(name, reason, set_by, until)
                return
            log.info("not weakening %s with %s for %s (%s)", current, name, set_by, reason)
            return
        try:
            st.write(self.db, self.clock, name, reason, set_by, until=until)
        except Exception as exc:  # noqa: BLE001 - the database is failing: hold the halt in memory
            if name == "HALTED":
                self._unpersisted_halt = reason
            log.error("could not persist trading state %s (%s): %r", name, reason, exc)
            return
        self._event("trading_state", "critical" if name == "HALTED" else "warning",
                    f"trading state {name} by {set_by}: {reason}",
                    {"limit": "trading_state", "actual": name, "allowed": current, "set_by": set_by,
                     "until": until.isoformat() if until else None})

    def _would_weaken(self, name: str, current: str, until: datetime | None) -> bool:
        """Automatic changes only escalate; at equal severity they never shorten a pause."""
        if st.rank(name) != st.rank(current):
            return st.rank(name) < st.rank(current)
        if name == "ACTIVE":
            return False
        row = st.latest(self.db)
        return row.until_at is None or (until is not None and until <= row.until_at)

    def _outlasts_pause(self, name: str, current: str, until: datetime | None) -> bool:
        """A weaker automatic state (e.g. weekly REDUCING) tripping during a timed pause that ends before it."""
        if name == "ACTIVE" or st.rank(name) >= st.rank(current):
            return False
        row = st.latest(self.db)
        return (row.state == current and row.until_at is not None and not row.kill_switch
                and (until is None or until > row.until_at))

    def _write_under_pause(self, name: str, reason: str, set_by: str, until: datetime | None) -> None:
        """Record the weaker state, then re-assert the pause on top: it stays in force until it ends, and
        state.effective falls back to the weaker state for the rest of its window."""
        pause = st.latest(self.db)
        try:
            with self.db.transaction():
                st.write(self.db, self.clock, name, reason, set_by, until=until)
                st.write(self.db, self.clock, pause.state, pause.reason, pause.set_by, until=pause.until_at)
        except Exception as exc:  # noqa: BLE001 - the pause row is unchanged; the weaker state is lost
            log.error("could not record %s under %s (%s): %r", name, pause.state, reason, exc)
            return
        self._event("trading_state", "warning",
                    f"trading state {name} by {set_by} after {pause.state} ends: {reason}",
                    {"limit": "trading_state", "actual": name, "allowed": pause.state, "set_by": set_by,
                     "until": until.isoformat() if until else None, "after": str(pause.until_at)})

    def resume(self, reason: str, set_by: str) -> None:
        """Explicit resume (clears the kill switch and any in-memory halt)."""
        self._unpersisted_halt = None
        st.resume(self.db, self.clock, reason, set_by)

    def size_multiplier(self) -> Decimal:
        state = self.current_state()
        if state == "HALTED":
            return ZERO
        return self.policy.weekly_size_multiplier if state == "REDUCING" else ONE

    # -- loss limits -------------------------------------------------------------------------------
    def evaluate_loss_limits(self) -> None:
        """Trip the loss limits that are due. Raises when they cannot be evaluated, after recording why
        (a `limit_error` risk event); every order check then re-evaluates them and refuses while they fail."""
        try:
            self._evaluate_loss_limits()
        except Exception as exc:
            why = f"{type(exc).__name__}: {exc}"[:300]
            if why != self._limit_failure:  # one event per distinct failure, not one per check
                try:
                    self._event("limit_error", "critical", f"loss limits could not be evaluated, no orders: {why}",
                                {"limit": "loss_limits", "actual": why, "allowed": "evaluable"})
                except Exception as event_exc:  # noqa: BLE001 - the refusal matters; the event is best effort
                    log.error("could not record the loss-limit failure: %r", event_exc)
            self._limit_failure = why
            raise
        self._limit_failure = None

    def _evaluate_loss_limits(self) -> None:
        now = self.clock.now()
        bankroll = self.bankroll()
        if not isinstance(bankroll, Decimal) or not bankroll.is_finite() or bankroll <= 0:
            # A zero/unknown bankroll (e.g. a failed balance read) makes every limit 0: a zero loss would "trip"
            # them all. Skip (re-tried on the next check); the caps refuse every order on such a bankroll anyway.
            log.warning("loss limits not evaluated: bankroll %r is not positive", bankroll)
            return
        for usage in self.loss_usage(bankroll):
            limit, window, loss, allowed, state, pause = (usage.limit, usage.window, usage.loss, usage.allowed,
                                                          usage.action, usage.pause)
            if loss < allowed or self._tripped_within(limit, window):
                continue
            self._event("loss_limit", "critical",
                        f"{limit}: lost {loss} >= allowed {allowed} over {human_duration(window)}",
                        {"limit": limit, "actual": str(loss), "allowed": str(allowed),
                         "window": human_duration(window), "action": state, "until": (now + pause).isoformat()})
            self.set_state(state, f"{limit} {loss} >= {allowed} over {human_duration(window)}", f"risk:{limit}",
                           until=now + pause)
        self._last_loss_check = now  # only once every limit was evaluated: a failure is retried at the next check

    def loss_usage(self, bankroll: Decimal) -> list[LossUsage]:
        """Each loss limit's loss so far and allowance on `bankroll` (what evaluation trips on, and what
        `risk show` prints). Least severe first: a REDUCING row written under a later HALT is what the state
        falls back to when the shorter pause ends (state.effective)."""
        now = self.clock.now()
        events = ex.pnl_events(self.db)
        p = self.policy
        rules = (  # (limit, window, fraction, state, pause)
            ("weekly_loss", timedelta(days=7), p.weekly_loss_pct, "REDUCING", timedelta(days=7)),
            ("daily_loss", timedelta(days=1), p.daily_loss_pct, "HALTED", timedelta(hours=p.daily_pause_hours)),
            ("monthly_loss", timedelta(days=30), p.monthly_loss_pct, "HALTED", timedelta(days=30)),
        )
        return [LossUsage(limit, window, display_amount(ex.loss_since(events, now - window, now)),
                          round_cent(pct * bankroll), state, pause)
                for limit, window, pct, state, pause in rules]

    def _maybe_evaluate_losses(self) -> None:
        now = self.clock.now()
        if (self._limit_failure is not None or self._last_loss_check is None
                or (now - self._last_loss_check).total_seconds() >= _LOSS_EVALUATION_SECONDS):
            self.evaluate_loss_limits()

    def _tripped_within(self, limit: str, window: timedelta) -> bool:
        rows = self.db.query(
            "SELECT detail FROM ops.risk_events WHERE kind = 'loss_limit' AND occurred_at > ? ORDER BY id DESC",
            (self.clock.now() - window,),
        )
        return any(_detail(r).get("limit") == limit for r in rows)

    # -- breakers ----------------------------------------------------------------------------------
    def record_reject(self, ticker: str, reason: str) -> None:
        """An order the exchange refused; N within M minutes trips the breaker (HALTED for the pause)."""
        p = self.policy
        self._event("order_reject", "warning", f"order rejected on {ticker}: {reason}",
                    {"limit": "reject_breaker", "reason": reason}, ticker=ticker)
        since = self.clock.now() - timedelta(minutes=p.reject_breaker_minutes)
        count = int(self.db.scalar(
            "SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'order_reject' AND occurred_at > ?", (since,)) or 0)
        if count >= p.reject_breaker_count and self.current_state() != "HALTED":
            until = self.clock.now() + timedelta(minutes=p.reject_pause_minutes)
            window = human_duration(timedelta(minutes=p.reject_breaker_minutes))
            self._event("breaker", "critical", f"reject breaker: {count} rejects in {window}",
                        {"limit": "reject_breaker", "actual": count, "allowed": p.reject_breaker_count - 1,
                         "window_minutes": p.reject_breaker_minutes, "until": until.isoformat()}, ticker=ticker)
            self.set_state("HALTED", f"{count} order rejects in {window}", "risk:reject_breaker", until=until)

    def record_stale(self, city_code: str, reason: str) -> None:
        """The city's data is stale: no order for it until `record_fresh`. One event per change of reason."""
        if self._stale.get(city_code) == reason:
            return
        self._stale[city_code] = reason
        self._event("stale_data", "warning", f"{city_code}: stale data, no orders: {reason}",
                    {"limit": "stale_data", "actual": reason, "allowed": "fresh"}, city_code=city_code)

    def record_fresh(self, city_code: str) -> None:
        if self._stale.pop(city_code, None) is not None:
            self._event("stale_data", "info", f"{city_code}: data fresh again",
                        {"limit": "stale_data", "actual": "fresh", "allowed": "fresh"}, city_code=city_code)

    def record_db_failure(self, err: BaseException | str) -> None:
        if not self.policy.halt_on_db_failure:
            log.error("database failure (breaker disabled): %s", err)
            return
        self._unpersisted_halt = f"database failure: {err}"
        self._retry_persist_halt()

    def record_auth_failure(self, err: BaseException | str) -> None:
        if not self.policy.halt_on_auth_failure:
            log.error("exchange auth failure (breaker disabled): %s", err)
            return
        self._event("breaker", "critical", f"exchange auth failure: {err}",
                    {"limit": "auth_failure", "actual": str(err), "allowed": "authenticated"})
        self.set_state("HALTED", f"exchange auth failure: {err}", "risk:auth_failure")

    def note_submit(self, ticker: str, result: Any) -> None:
        """Feed an OMS SubmitResult back: a rejected create counts toward the reject breaker."""
        if getattr(result, "status", None) == "rejected":
            reasons = getattr(result, "reasons", None) or ["rejected"]
            self.record_reject(ticker, "; ".join(str(r) for r in reasons))

    def market_data_problems(self, received_at: datetime | None) -> list[str]:
        """Why a market snapshot is too old to trade on (empty = fresh enough)."""
        if received_at is None:
            return ["no market data"]
        age = (self.clock.now() - received_at).total_seconds()
        if age > self.policy.max_market_data_age_seconds:
            return [f"market data {age:.0f}s old > {self.policy.max_market_data_age_seconds:.0f}s"]
        return []

    def city_blocked(self, city_code: str) -> list[str]:
        reasons = []
        if city_code in self._stale:
            reasons.append(f"{STALE_PREFIX}{self._stale[city_code]}")
        if city_code not in self.registry:
            reasons.append(f"unknown city {city_code}")
        return reasons

    # -- helpers -----------------------------------------------------------------------------------
    def _retry_persist_halt(self) -> None:
        reason = self._unpersisted_halt
        if reason is None:
            return
        try:
            with self.db.transaction():
                if st.latest(self.db).state != "HALTED":
                    st.write(self.db, self.clock, "HALTED", reason[:500], "risk:db_failure")
                self._event("breaker", "critical", reason[:500],
                            {"limit": "db_failure", "actual": reason[:500], "allowed": "no write failures"})
            self._unpersisted_halt = None
        except Exception as exc:  # noqa: BLE001 - still down: the halt stays in memory
            log.error("database still failing, halt held in memory: %r", exc)

    def _state_reason(self) -> str:
        if self._unpersisted_halt:
            return self._unpersisted_halt
        try:
            current = st.latest(self.db)
        except Exception:  # noqa: BLE001
            return "state unreadable"
        return f"{current.reason} (by {current.set_by}{', kill switch' if current.kill_switch else ''})"

    def _cluster(self, city_code: str) -> str | None:
        return self.registry.get(city_code).cluster if city_code in self.registry else None

    def _refuse(self, order: ProposedOrder, kind: str, message: str, detail: dict[str, Any]) -> RiskVerdict:
        detail = {**detail, "requested": str(order.count), "price": str(order.price)}
        try:
            self._event(kind, "warning", f"order refused: {message}", detail, order)
        except Exception as exc:  # noqa: BLE001 - refusing is what matters; the event is best effort here
            log.error("could not record risk event %s: %r", kind, exc)
        return RiskVerdict(False, ZERO, (message,))

    def _event(self, kind: str, severity: str, message: str, detail: dict[str, Any],
               order: ProposedOrder | None = None, *, ticker: str | None = None, city_code: str | None = None) -> None:
        self.db.execute(
            "INSERT INTO ops.risk_events (occurred_at, kind, severity, ticker, city_code, intent_key, message,"
            " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.clock.now(), kind, severity, order.ticker if order else ticker,
             order.city_code if order else city_code, order.intent_key if order else None, message, Json(detail)),
        )


def display_amount(amount: Decimal) -> Decimal:
    """Dollars for display in events: cents when exact to the cent, else centicents (never rounded away)."""
    cents = amount.quantize(Decimal("0.01"))
    return cents if cents == amount else amount.quantize(Decimal("0.000001")).normalize()


def human_duration(span: timedelta) -> str:
    """'45 s', '10 min', '24 h', '7 d', '1 h 30 min' — never Python's '1 day, 0:00:00'."""
    seconds = int(span.total_seconds())
    if seconds < 60:
        return f"{seconds} s"
    minutes, hours = seconds // 60, seconds // 3600
    if seconds % 86400 == 0 and seconds >= 2 * 86400:
        return f"{seconds // 86400} d"
    if seconds % 3600 == 0:
        return f"{hours} h"
    if seconds < 3600:
        return f"{minutes} min"
    return f"{hours} h {minutes % 60} min"


def _order_problem(order: ProposedOrder) -> str | None:
    if order.side not in ("yes", "no") or order.action not in ("buy", "sell"):
        return f"bad side/action {order.side}/{order.action}"
    if not isinstance(order.count, Decimal) or not order.count.is_finite() or order.count <= 0:
        return f"count {order.count!r} must be a positive Decimal"
    if not isinstance(order.price, Decimal) or not order.price.is_finite() or not ZERO < order.price < ONE:
        return f"price {order.price!r} must be a Decimal inside (0, 1)"
    return None


def _detail(row: dict[str, Any]) -> dict[str, Any]:
    value = row.get("detail")
    if isinstance(value, str):
        import json

        return json.loads(value)
    return value or {}
