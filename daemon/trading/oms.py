"""The order manager: intents in, at most one live exchange order per intent out.

Guarantees (DESIGN invariant 2), in the order they are enforced:
1. Nothing is sent before start-up reconciliation has completed in this process (`reconcile()`).
2. The intent version and its `new` order row are committed BEFORE the create request; the order is marked
   `submitted` (committed) before the HTTP call. Its client order id is derived from (intent_key, version).
3. A create whose outcome is lost becomes `unknown` and is resolved only by looking the order up by its client
   order id. Only when the exchange confirms it has no such order does the row go back to `new`; it is sent again
   (with the SAME client id, so a duplicate is refused with 409 anyway) only after the late-arrival window has
   passed and a fresh lookup still finds nothing, and it is never withdrawn before that either.
4. A replacement (new version) is sent only after the previous version is confirmed off the book.
Never reads the wall clock; never sends a market order; never retries a create with a new id.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import Clock
from daemon.ledger.db import Database
from daemon.trading import state as trading_state
from daemon.trading.exchange_facts import ExOrder, order_from
from daemon.trading.intents import (
    DEFAULT_ID_NAMESPACE,
    Intent,
    book_side_and_yes_price,
    client_order_id_for,
)
from daemon.trading.order_state import ON_BOOK_STATES, OPEN_STATES, UNCERTAIN_STATES
from daemon.trading.order_store import OrderStore
from daemon.trading.reconcile import Reconciler, ReconcileReport

log = logging.getLogger(__name__)

Checkpoint = Callable[[str], None]


@dataclass(frozen=True)
class OmsPolicy:
    """Replacement limits (from TradingConfig when present): reprice at most every N s, never chase > M cents."""

    reprice_seconds: float = 60.0
    max_chase_cents: int = 3
    stale_intent_seconds: float = 600.0
    id_namespace: str = DEFAULT_ID_NAMESPACE
    # A create whose response was lost and that a lookup did not find may still be in flight and land later:
    # such an order is not withdrawn (closed) until this long after its last send.
    late_arrival_grace_seconds: float = 60.0
    max_spread: Decimal | None = None      # cancel resting orders when the market's spread is wider (dollars)
    min_depth: Decimal | None = None       # ... or when the top of the side we would take is thinner (contracts)

    @classmethod
    def from_config(cls, config: Any) -> OmsPolicy:
        def pick(name: str, default: Any) -> Any:
            value = getattr(config, name, None)
            return default if value is None else value

        return cls(
            reprice_seconds=float(pick("reprice_seconds", cls.reprice_seconds)),
            max_chase_cents=int(pick("max_chase_cents", cls.max_chase_cents)),
            stale_intent_seconds=float(pick("stale_intent_seconds", cls.stale_intent_seconds)),
            id_namespace=str(pick("client_id_namespace", cls.id_namespace)),
            late_arrival_grace_seconds=float(pick("late_arrival_grace_seconds", cls.late_arrival_grace_seconds)),
            max_spread=pick("max_spread", None),
            min_depth=pick("min_depth", None),
        )


@dataclass
class SubmitResult:
    """What happened to one submit/cancel. `status`:
    placed | existing | unknown | rejected | retry_later | blocked | throttled | cancel_pending | filled | noop | closed
    """

    status: str
    intent_key: str
    client_order_id: str | None = None
    order_state: str | None = None
    version: int | None = None
    reasons: list[str] = field(default_factory=list)

    @property
    def live(self) -> bool:
        return self.order_state in OPEN_STATES


class NotReconciledError(RuntimeError):
    """An order path was used before start-up reconciliation completed."""


class OrderManager:
    """Thread-safe: one lock serialises submit, cancel, refresh and reconcile, so no send races a reconcile."""

    def __init__(
        self,
        db: Database,
        client: Any,
        clock: Clock,
        risk: Any = None,
        *,
        policy: OmsPolicy | None = None,
        registry: CityRegistry | None = None,
        checkpoint: Checkpoint | None = None,
        send_guard: Callable[[], str | None] | None = None,
    ) -> None:
        self.db = db
        self.client = client
        self.clock = clock
        self.risk = risk
        self.policy = policy or OmsPolicy()
        self.store = OrderStore(db, clock)
        self._checkpoint = checkpoint or (lambda point: None)
        # Asked right before every create: a reason means no order may leave now (e.g. the daemon's lock is not
        # proven held, or a kill request is pending); the committed row stays `new`, never sent.
        self._send_guard = send_guard or (lambda: None)
        self._lock = threading.RLock()
        self.reconciler = Reconciler(self.store, client, clock, registry=registry, halt=self._halt)
        self.ready = False  # becomes True once reconcile() completes; no order is sent before
        self._last_block_reasons: list[str] = []
        self._last_max_count: Decimal | None = None

    # -- public API ---------------------------------------------------------------------------------
    def reconcile(self, *, dry_run: bool = False) -> ReconcileReport:
        """Compare ledger with exchange (orders, fills, settlements, positions), adopt exchange truth, record
        discrepancies as risk events, HALT on unexplained ones. Must run at start-up before any order."""
        with self._lock:
            report = self.reconciler.run(dry_run=dry_run)
            if report.complete and not dry_run:
                self.ready = True
            return report

    def submit(self, intent: Intent) -> SubmitResult:
        """Make the exchange hold exactly one order for this intent (idempotent for unchanged terms)."""
        with self._lock:
            self._require_ready()
            latest = self.store.latest_intent(intent.intent_key)
            if latest is None:
                return self._place_version(intent.with_version(1), prior_filled=Decimal(0))
            live = self._live_order(intent.intent_key)
            if _same_terms(latest, intent):
                return self._continue(intent, latest, live)
            return self._replace(intent, latest, live)

    def cancel(self, client_order_id: str, reason: str = "cancel") -> SubmitResult:
        """Take one order off the book; the final state is read back from the exchange, never assumed."""
        with self._lock:
            self._require_ready()
            row = self.store.order(client_order_id)
            if row is None:
                raise KeyError(f"no order {client_order_id}")
            return self._cancel_row(row, reason)

    def cancel_intent(self, intent_key: str, reason: str = "cancel") -> SubmitResult:
        with self._lock:
            live = self._live_order(intent_key)
            if live is None:
                return SubmitResult("noop", intent_key, reasons=["no live order"])
            self._require_ready()
            return self._cancel_row(live, reason)

    def cancel_all(self, reason: str = "operator") -> list[SubmitResult]:
        """Cancel every open order the ledger knows (kill switch `--cancel-resting`)."""
        with self._lock:
            return [self._cancel_row(row, reason) for row in self.store.open_orders()]

    def refresh(self) -> int:
        """Cheap per-cycle sync: re-read every open order from the exchange and ingest new fills.
        Returns the number of orders whose state or counts changed."""
        with self._lock:
            changed = 0
            rows = self.store.open_orders()
            listed = self.reconciler.listed_orders(rows)
            for row in rows:
                before = (row["state"], row["filled_count"])
                found = listed.get(row["exchange_order_id"]) if row["state"] in ON_BOOK_STATES else None
                if found is not None:
                    after = self._apply_exchange_order(row, found, cause="refresh")
                else:
                    after = self._sync_row(row, cause="refresh")
                changed += (after["state"], after["filled_count"]) != before
            self.reconciler.ingest_fills()
            return changed

    def resume_pending(self, max_age: timedelta | None = None) -> list[SubmitResult]:
        """After a restart: resolve uncertain orders, send committed-but-unsent ones still fresh, close stale ones."""
        with self._lock:
            self._require_ready()
            limit = max_age if max_age is not None else timedelta(seconds=self.policy.stale_intent_seconds)
            results = []
            for row in self.store.open_orders():
                if row["state"] in UNCERTAIN_STATES:
                    row = self._resolve_uncertain(row)
                if row["state"] != "new":
                    continue
                if self.clock.now() - row["created_at"] > limit:
                    results.append(self._cancel_row(row, "stale after restart"))
                    continue
                row, wait = self._confirm_unsent(row)
                if row["state"] != "new":
                    results.append(_result("existing", row["intent_key"], row))
                elif wait:
                    results.append(_result("unknown", row["intent_key"], row, reasons=[wait]))
                else:
                    results.append(self._send_within_risk(_row_intent(row), row))
            return results

    def cancel_if_degraded(self, ticker: str, quote: Any) -> list[SubmitResult]:
        """Cancel this market's live orders when its spread widened past `policy.max_spread` or the top of the
        side an order would take thinned below `policy.min_depth`. `quote` has yes_bid, yes_ask, yes_bid_size,
        yes_ask_size (None = that side has no market), e.g. daemon.trading.edge.Quote or `quote_from_book`."""
        with self._lock:
            self._require_ready()
            results = []
            for row in self.store.open_orders():
                if row["ticker"] != ticker:
                    continue
                reasons = degraded_reasons(row, quote, self.policy)
                if reasons:
                    outcome = self._cancel_row(row, "degraded market: " + ", ".join(reasons))
                    outcome.reasons = reasons
                    results.append(outcome)
            return results

    def live_order(self, intent_key: str) -> dict[str, Any] | None:
        with self._lock:
            return self._live_order(intent_key)

    # -- submit paths -------------------------------------------------------------------------------
    def _continue(self, intent: Intent, latest: dict[str, Any], live: dict[str, Any] | None) -> SubmitResult:
        key = intent.intent_key
        if live is None:
            last = self.store.order(latest["client_order_id"])
            if last is not None and last["state"] == "filled":
                return _result("filled", key, last)
            return self._replace(intent, latest, None)  # ended unfilled (canceled/closed/rejected): a new version
        if live["state"] in UNCERTAIN_STATES:
            live = self._resolve_uncertain(live)
        if live["state"] == "new":
            live, wait = self._confirm_unsent(live)
            if live["state"] != "new":
                return _result("existing", key, live)
            if wait:
                return _result("unknown", key, live, reasons=[wait])
            return self._send_within_risk(intent, live)
        return _result("existing", key, live)

    def _replace(self, intent: Intent, latest: dict[str, Any], live: dict[str, Any] | None) -> SubmitResult:
        key = intent.intent_key
        reasons = self._replacement_limits(intent, latest)
        if reasons:
            return _result("throttled", key, live, reasons=reasons)
        if live is not None:
            outcome = self._cancel_row(live, "replace")
            if outcome.order_state in OPEN_STATES:
                return _result("cancel_pending", key, self.store.order(live["client_order_id"]),
                               reasons=["previous version not yet off the book"])
        prior_filled = sum((Decimal(o["filled_count"]) for o in self.store.orders_for_intent(key)), Decimal(0))
        self.store.supersede_intent(key, int(latest["version"]))
        return self._place_version(intent.with_version(int(latest["version"]) + 1), prior_filled)

    def _place_version(self, intent: Intent, prior_filled: Decimal) -> SubmitResult:
        remaining = intent.count - prior_filled
        if remaining <= 0:
            return SubmitResult("filled", intent.intent_key, reasons=["intent already filled by earlier versions"])
        if not self._trading_allowed(intent, remaining):
            return SubmitResult("blocked", intent.intent_key, reasons=self._last_block_reasons)
        remaining = min(remaining, self._last_max_count or remaining)
        coid = client_order_id_for(intent.intent_key, intent.version, self.policy.id_namespace)
        self.store.create_intent_order(intent, coid, remaining)
        self._checkpoint("intent_committed")
        return self._send(self.store.order(coid))

    def _send_within_risk(self, intent: Intent, row: dict[str, Any]) -> SubmitResult:
        """(Re-)send a committed `new` row after a full risk check of its remaining count; when risk allows
        fewer contracts now, the row is shrunk to that count first (never sent larger than risk allows)."""
        remaining = Decimal(row["remaining_count"])
        if not self._trading_allowed(intent, remaining):
            return _result("blocked", row["intent_key"], row, reasons=self._last_block_reasons)
        if self._last_max_count is not None and self._last_max_count < remaining:
            row = self.store.transition(
                row["client_order_id"], "new", "risk_clip",
                {"reasons": self._last_block_reasons, "from_count": str(remaining)},
                count=self._last_max_count, remaining_count=self._last_max_count,
            )
        return self._send(row)

    def _send(self, row: dict[str, Any]) -> SubmitResult:
        from daemon.exchange.orders import OrderRequest  # the client's request model

        coid = row["client_order_id"]
        refusal = self._send_guard()
        if refusal:
            log.warning("not sending %s: %s", coid, refusal)
            return _result("blocked", row["intent_key"], row, reasons=[refusal])
        row = self.store.transition(coid, "submitted", "send", sent_at=self.clock.now())
        self._checkpoint("before_send")
        request = OrderRequest(
            ticker=row["ticker"], side=row["side"], action=row["action"], count=Decimal(row["remaining_count"]),
            price=Decimal(row["limit_price"]), client_order_id=coid,
        )
        try:
            outcome = self.client.create_order(request)
        except Exception as exc:  # noqa: BLE001 - whatever broke, the order may exist: it is unknown now
            log.warning("create_order %s raised %r; outcome unknown", coid, exc)
            outcome = None
        self._checkpoint("after_send_before_write")
        return self._apply_create_outcome(row, outcome)

    def _apply_create_outcome(self, row: dict[str, Any], outcome: Any) -> SubmitResult:
        from daemon.exchange.errors import AuthError, possible_duplicate

        coid, key = row["client_order_id"], row["intent_key"]
        status = getattr(outcome, "status", "unknown")
        error = getattr(outcome, "error", None)
        if status == "accepted" and getattr(outcome, "order", None) is not None:
            row = self._apply_exchange_order(row, order_from(outcome.order), cause="response")
            return _result("placed", key, row)
        if status == "rejected" and possible_duplicate(error):
            # Our id is (or may be) at the exchange already: a duplicate answer, or a 409 that is no known
            # refusal, is resolved by a lookup by client order id, never a terminal rejection followed by a
            # new version. A known refusal (market_closed, trading_paused) is a rejection: the client has
            # looked the id up already and found nothing, so its pending exposure is released below.
            row = self._resolve_uncertain(self.store.transition(coid, "unknown", "response", {"error": str(error)}))
            return _result("existing" if row["state"] != "new" else "unknown", key, row)
        if status == "rejected" and error is not None and not error.retryable:
            row = self.store.transition(coid, "rejected", "response", {"error": str(error)}, last_error=str(error))
            if isinstance(error, AuthError):
                self._halt(f"exchange auth failure on create: {error}", "breaker")
            return _result("rejected", key, row, reasons=[str(error)])
        if status == "rejected":
            # Refused before processing (429, retryable): provably not placed, may be sent again with the same id.
            row = self.store.transition(coid, "new", "response", {"error": str(error)}, last_error=str(error),
                                        sent_at=None)  # provably not delivered: nothing can land later
            return _result("retry_later", key, row, reasons=[str(error)])
        # accepted without an order body, unknown, or the client raised: look it up, never re-send blindly.
        row = self.store.transition(coid, "unknown", "response", {"error": str(error) if error else None})
        self._checkpoint("outcome_unknown")
        row = self._resolve_uncertain(row)
        return _result("placed" if row["state"] in ON_BOOK_STATES | {"filled"} else "unknown", key, row)

    # -- lookups + state sync -----------------------------------------------------------------------
    def _resolve_uncertain(self, row: dict[str, Any]) -> dict[str, Any]:
        return self.reconciler.resolve_uncertain(row)

    def _sync_row(self, row: dict[str, Any], cause: str) -> dict[str, Any]:
        if row["state"] in UNCERTAIN_STATES:
            return self._resolve_uncertain(row)
        if row["state"] == "new" or not row["exchange_order_id"]:
            return row
        try:
            found = self.client.get_order(row["exchange_order_id"])
        except Exception as exc:  # noqa: BLE001 - the next refresh or reconcile tries again
            log.warning("get_order %s failed: %r", row["exchange_order_id"], exc)
            return row
        return self._apply_exchange_order(row, order_from(found), cause=cause)

    def _apply_exchange_order(self, row: dict[str, Any], order: ExOrder, cause: str) -> dict[str, Any]:
        return self.reconciler.apply_exchange_order(row, order, cause)

    def _cancel_row(self, row: dict[str, Any], reason: str) -> SubmitResult:
        from daemon.exchange.errors import ExchangeError

        key, coid = row["intent_key"], row["client_order_id"]
        if row["state"] in UNCERTAIN_STATES:
            row = self._resolve_uncertain(row)
        if row["state"] == "new" and row.get("sent_at") is not None:
            # Sent before, its response lost, not found then: it may be in flight, or have landed since.
            if self._may_still_land(row):
                return _result("cancel_pending", key, row, reasons=["a lost create may still reach the exchange"])
            checked = self._look_up_again(row)
            if checked is None:
                return _result("cancel_pending", key, row, reasons=["lookup failed; order may exist"])
            row = checked
        if row["state"] == "new":
            row = self.store.transition(coid, "closed", "cancel", {"reason": reason})
            return _result("closed", key, row)
        if row["state"] not in ON_BOOK_STATES:
            return _result("cancel_pending" if row["state"] in OPEN_STATES else "noop", key, row)
        try:
            found = self.client.cancel_order(row["exchange_order_id"])  # the client reads the order back
            row = self._apply_exchange_order(row, order_from(found), cause="cancel")
        except ExchangeError as exc:
            log.info("cancel %s: %r; reading the order back", coid, exc)
            row = self._sync_row(row, cause="cancel")
        return _result("cancel_pending" if row["state"] in OPEN_STATES else "canceled", key, row, reasons=[reason])

    def _confirm_unsent(self, row: dict[str, Any]) -> tuple[dict[str, Any], str | None]:
        """May this `new` row be sent (again, with its same client id)? Yes if it never was; if it was (its
        response lost, a lookup found nothing), only once no request of it can still be in flight AND a fresh
        lookup still finds nothing — never a blind resend. Returns the (possibly updated) row and why not."""
        if row.get("sent_at") is None:
            return row, None
        if self._may_still_land(row):
            return row, "a lost create may still land: re-checked after the late-arrival window"
        checked = self._look_up_again(row)
        if checked is None:
            return row, "lookup failed; order may exist"
        return checked, None

    def _look_up_again(self, row: dict[str, Any]) -> dict[str, Any] | None:
        """The exchange's view of a `new` row that was sent before; None when the lookup itself failed."""
        try:
            found = self.client.find_order_by_client_id(row["client_order_id"], ticker=row["ticker"])
        except Exception as exc:  # noqa: BLE001 - unknown stays unknown; never withdraw on a guess
            log.warning("lookup of %s failed: %r", row["client_order_id"], exc)
            return None
        return row if found is None else self._apply_exchange_order(row, order_from(found), cause="reconcile")

    def _may_still_land(self, row: dict[str, Any]) -> bool:
        """A `new` row that was sent before (its response lost, a lookup found nothing) is only provably absent
        once no request of it can still be in flight."""
        sent_at = row.get("sent_at")
        if sent_at is None:
            return False
        return (self.clock.now() - sent_at).total_seconds() < self.policy.late_arrival_grace_seconds

    def _live_order(self, intent_key: str) -> dict[str, Any] | None:
        live = [o for o in self.store.orders_for_intent(intent_key) if o["state"] in OPEN_STATES]
        if len(live) > 1:  # must never happen; refuse to act on an intent in this state
            self._halt(f"intent {intent_key} has {len(live)} open orders", "reconcile")
        return live[-1] if live else None

    # -- policy + risk ------------------------------------------------------------------------------
    def _replacement_limits(self, intent: Intent, latest: dict[str, Any]) -> list[str]:
        reasons = []
        age = (self.clock.now() - latest["created_at"]).total_seconds()
        if age < self.policy.reprice_seconds:
            reasons.append(f"reprice_interval: last version {age:.0f}s ago < {self.policy.reprice_seconds:.0f}s")
        first = self.store.orders_for_intent(intent.intent_key)[0]
        # Chasing is paying more than the first price (a buy's limit up, a sell's down); backing off is not:
        # a maker that raises its ask as the market moves away is withdrawing, never chasing.
        moved = (intent.limit_price - Decimal(first["limit_price"])) * 100
        chase = moved if intent.action == "buy" else -moved
        if chase > self.policy.max_chase_cents:
            reasons.append(f"max_chase: {chase}c from first price {first['limit_price']} > {self.policy.max_chase_cents}c")
        return reasons

    def _trading_allowed(self, intent: Intent, count: Decimal) -> bool:
        """Risk first (invariant 4): the risk engine when wired, else the persisted trading state."""
        self._last_block_reasons, self._last_max_count = [], None
        if self.risk is not None and hasattr(self.risk, "check"):
            verdict = self.risk.check(_proposed(intent, count))
            self._last_block_reasons = list(getattr(verdict, "reasons", []) or [])
            max_count = getattr(verdict, "max_count", None)
            if max_count is not None:
                self._last_max_count = Decimal(max_count)
            too_small = self._last_max_count is not None and self._last_max_count <= 0
            return bool(verdict.allowed) and not too_small
        state = self.store.trading_state()
        if state != "ACTIVE":
            self._last_block_reasons = [f"trading state {state}"]
            self.store.record_risk_event("trading_state", "warning", f"order refused: trading state {state}",
                                         {"count": count}, ticker=intent.ticker, intent_key=intent.intent_key)
            return False
        return True

    def _halt(self, reason: str, kind: str = "reconcile") -> None:
        if self.risk is not None and hasattr(self.risk, "set_state"):
            self.risk.set_state("HALTED", reason, f"oms:{kind}")
        else:
            # No risk engine (CLI): a timed or expired pause is no lasting halt; the kill switch is carried over.
            current = trading_state.latest(self.db)
            if current.state != "HALTED" or current.until_at is not None:
                trading_state.write(self.db, self.clock, "HALTED", reason[:500], f"oms:{kind}")
        log.error("HALTED by OMS: %s", reason)

    def _require_ready(self) -> None:
        if not self.ready:
            raise NotReconciledError("start-up reconciliation has not completed: no order may be sent")


def degraded_reasons(row: dict[str, Any], quote: Any, policy: OmsPolicy) -> list[str]:
    """Why an order on this quote should come off the book (empty: keep it). Pure."""
    bid, ask = getattr(quote, "yes_bid", None), getattr(quote, "yes_ask", None)
    reasons = []
    if bid is None or ask is None:
        reasons.append("no_market")                      # an empty side is no market, not a price of 0 or 1
    elif policy.max_spread is not None and ask - bid > Decimal(policy.max_spread):
        reasons.append(f"spread_too_wide: {ask - bid} > {policy.max_spread}")
    if policy.min_depth is not None:
        takes_yes_asks = book_side_and_yes_price(row["side"], row["action"], Decimal("0.5"))[0] == "bid"
        size = getattr(quote, "yes_ask_size" if takes_yes_asks else "yes_bid_size", None)
        if size is None or size < Decimal(policy.min_depth):
            reasons.append(f"depth_too_thin: {size} < {policy.min_depth}")
    return reasons


def _same_terms(row: dict[str, Any], intent: Intent) -> bool:
    return (row["ticker"], row["side"], row["action"], Decimal(row["count"]), Decimal(row["limit_price"])) == (
        intent.ticker, intent.side, intent.action, intent.count, intent.limit_price,
    )


def _result(status: str, key: str, row: dict[str, Any] | None, reasons: list[str] | None = None) -> SubmitResult:
    return SubmitResult(
        status, key,
        client_order_id=row["client_order_id"] if row else None,
        order_state=row["state"] if row else None,
        version=int(row["intent_version"]) if row else None,
        reasons=reasons or [],
    )


def _row_intent(row: dict[str, Any]) -> Intent:
    """The intent version a committed order row stands for (its remaining count), for a risk re-check."""
    return Intent(row["intent_key"], row["ticker"], row["city_code"], row["climate_day"], row["side"],
                  row["action"], Decimal(row["remaining_count"]), Decimal(row["limit_price"]),
                  version=int(row["intent_version"]))


def _proposed(intent: Intent, count: Decimal) -> Any:
    """The risk engine's ProposedOrder when available (its own module), else a duck-typed stand-in."""
    try:
        from daemon.trading.risk import ProposedOrder  # type: ignore[attr-defined]
    except ImportError:
        ProposedOrder = None
    values = {"ticker": intent.ticker, "city_code": intent.city_code, "climate_day": intent.climate_day,
                  "side": intent.side, "action": intent.action, "count": count, "price": intent.limit_price,
                  "intent_key": intent.intent_key}
    if ProposedOrder is not None:
        import inspect

        accepted = set(inspect.signature(ProposedOrder).parameters)
        return ProposedOrder(**{k: v for k, v in values.items() if k in accepted})
    from types import SimpleNamespace

    return SimpleNamespace(**values)
