"""Reconciliation: bring the ledger to the exchange's truth and say, loudly, where they disagreed.

Steps (each idempotent): (1) every open ledger order is re-read from the exchange — `submitted`/`unknown` ones by
client order id (the crash windows), on-book ones by exchange id; (2) resting exchange orders the ledger does not
know are adopted as orphans; (3) fills newer than the newest stored one are ingested by exchange fill id (fills
with implausible times are refused with a risk event, never stored); (4) settlements
are ingested; (5) exchange positions are compared with the positions the ledger's fills imply, then stored.
Explained differences (a crash window, fills that happened while we were away) are `info` risk events; unexplained
ones (orphans, vanished orders, position mismatches) are `critical` and HALT trading. Never sends an order.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from daemon.cities import CityRegistry
from daemon.clock import Clock
from daemon.trading.exchange_facts import (
    ExOrder,
    fill_from,
    order_from,
    position_from,
    settlement_from,
)
from daemon.trading.intents import book_side_and_yes_price, climate_day_from_ticker, event_ticker_of
from daemon.trading.order_state import (
    ON_BOOK_STATES,
    UNCERTAIN_STATES,
    is_allowed,
    state_from_exchange,
)
from daemon.trading.order_store import FillRecord, OrderStore

log = logging.getLogger(__name__)

# Fills are read newest first and ingested by exchange fill id (duplicates skipped). Reading stops once a fill is
# FILL_OVERLAP older than the newest plausible fill already stored (fills published late, slightly out of order,
# are still caught). No watermark from the ledger: one fill with a wrong time can never hide the fills after it.
FILL_OVERLAP = timedelta(hours=1)
FILL_PAGE = 100
# A fill dated this far past our clock, or this long before its market's climate day, is implausible: it is not
# stored (a risk event says why, once) and the position comparison then shows whether money disagrees.
FILL_FUTURE_TOLERANCE = timedelta(minutes=5)
FILL_MAX_AGE_BEFORE_DAY = timedelta(days=14)
# From this many on-book orders, one paged list beats a GET per order. The margin covers clock skew between our
# created_at and the exchange's created_time (the list filter is on the latter).
LIST_THRESHOLD = 4
LIST_MARGIN = timedelta(minutes=10)


@dataclass
class Discrepancy:
    kind: str
    severity: str  # info | warning | critical
    message: str
    explained: bool
    ticker: str | None = None
    client_order_id: str | None = None
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass
class ReconcileReport:
    started_at: datetime
    finished_at: datetime | None = None
    complete: bool = False
    dry_run: bool = False
    error: str | None = None
    orders_checked: int = 0
    orders_changed: int = 0
    orphans_adopted: int = 0
    fills_ingested: int = 0
    settlements_ingested: int = 0
    positions_checked: int = 0
    halted: bool = False
    discrepancies: list[Discrepancy] = field(default_factory=list)

    @property
    def unexplained(self) -> list[Discrepancy]:
        return [d for d in self.discrepancies if not d.explained]

    @property
    def ok(self) -> bool:
        return self.complete and not self.unexplained

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["ok"] = self.ok
        return out


class _DryRun(Exception):
    """Raised to roll back a dry run's writes."""


class Reconciler:
    def __init__(
        self,
        store: OrderStore,
        client: Any,
        clock: Clock,
        *,
        registry: CityRegistry | None = None,
        halt: Callable[[str, str], None] | None = None,
    ) -> None:
        self.store = store
        self.client = client
        self.clock = clock
        self.registry = registry
        self._halt = halt or (lambda reason, kind: store.write_trading_state("HALTED", reason, f"oms:{kind}"))
        self._report: ReconcileReport | None = None
        self._rejected_fills: set[str] = set()  # implausible fills seen (never stored), by exchange fill id

    # -- the full pass --------------------------------------------------------------------------------
    def run(self, *, dry_run: bool = False) -> ReconcileReport:
        report = ReconcileReport(started_at=self.clock.now(), dry_run=dry_run)
        self._report = report
        try:
            if dry_run:
                try:
                    with self.store.db.transaction():
                        self._steps(report)
                        raise _DryRun
                except _DryRun:
                    pass
            else:
                self._steps(report)
            report.complete = True
        except Exception as exc:  # noqa: BLE001 - an incomplete pass keeps trading blocked, it never crashes
            report.error = f"{type(exc).__name__}: {exc}"
            log.warning("reconciliation incomplete: %s", report.error)
            self._maybe_halt_on_auth(exc, report, dry_run)
        finally:
            self._report = None
        report.finished_at = self.clock.now()
        if report.complete and report.unexplained and not dry_run:
            summary = "; ".join(sorted({d.kind for d in report.unexplained}))
            self._halt(f"reconciliation found {len(report.unexplained)} unexplained discrepancies: {summary}",
                       "reconcile")
            report.halted = True
        return report

    def _steps(self, report: ReconcileReport) -> None:
        self._reconcile_open_orders(report)
        self._adopt_resting_orphans(report)
        report.fills_ingested += self.ingest_fills()
        self._ingest_settlements(report)
        self._compare_positions(report)

    # -- (1) open ledger orders -----------------------------------------------------------------------
    def listed_orders(self, rows: list[dict[str, Any]], *, strict: bool = False) -> dict[str, ExOrder]:
        """Exchange orders by id for many on-book ledger rows in one paged list call (rows missing from it are
        read one by one by the caller). Empty below the threshold, or when the list fails and not `strict`."""
        from daemon.exchange.errors import ExchangeError

        on_book = [r for r in rows if r["state"] in ON_BOOK_STATES and r["exchange_order_id"]]
        if len(on_book) < LIST_THRESHOLD:
            return {}
        since = min(r["created_at"] for r in on_book) - LIST_MARGIN
        try:
            return {o.order_id: o for o in map(order_from, self.client.iter_orders(min_ts=since))}
        except ExchangeError as exc:
            if strict:
                raise
            log.info("order list failed (%r); reading orders one by one", exc)
            return {}

    def _reconcile_open_orders(self, report: ReconcileReport) -> None:
        from daemon.exchange.errors import NotFoundError

        rows = self.store.open_orders()
        listed = self.listed_orders(rows, strict=True)
        for row in rows:
            report.orders_checked += 1
            before = (row["state"], row["filled_count"])
            if row["state"] in ON_BOOK_STATES and row["exchange_order_id"] in listed:
                after = self.apply_exchange_order(row, listed[row["exchange_order_id"]], cause="reconcile")
            elif row["state"] in UNCERTAIN_STATES:
                after = self.resolve_uncertain(row, strict=True)
                self._note(Discrepancy(
                    "crash_window", "info", f"order {row['client_order_id']} was {row['state']}; now {after['state']}",
                    True, row["ticker"], row["client_order_id"], {"from": row["state"], "to": after["state"]}))
            elif row["state"] in ON_BOOK_STATES:
                try:
                    found = self.client.get_order(row["exchange_order_id"])
                except NotFoundError:
                    found = self.client.find_order_by_client_id(row["client_order_id"], ticker=row["ticker"])
                after = self._vanished(row) if found is None else self.apply_exchange_order(
                    row, order_from(found), cause="reconcile")
            elif row.get("sent_at") is not None:
                # `new` again after a lookup found nothing, but sent before: the request may have landed since.
                after = self.resolve_uncertain(row, strict=True)
            else:
                continue  # `new`, never sent: the `submitted` mark (with sent_at) precedes any send
            report.orders_changed += (after["state"], after["filled_count"]) != before

    def _vanished(self, row: dict[str, Any]) -> dict[str, Any]:
        self._note(Discrepancy(
            "order_vanished", "critical", f"ledger order {row['client_order_id']} is not on the exchange",
            False, row["ticker"], row["client_order_id"], {"state": row["state"]}))
        return self.store.transition(row["client_order_id"], "canceled", "reconcile",
                                     {"reason": "absent on exchange"}, force=True)

    def resolve_uncertain(self, row: dict[str, Any], *, strict: bool = False) -> dict[str, Any]:
        """`submitted`/`unknown` → the exchange's state, or back to `new` when it confirms it has no such order.
        A failed lookup leaves the row `unknown` (strict=True re-raises, so a reconcile pass is incomplete)."""
        try:
            found = self.client.find_order_by_client_id(row["client_order_id"], ticker=row["ticker"])
        except Exception as exc:
            log.warning("lookup of %s failed: %r", row["client_order_id"], exc)
            if row["state"] == "submitted":
                self.store.transition(row["client_order_id"], "unknown", "reconcile", {"lookup_error": str(exc)})
            if strict:
                raise
            return self.store.order(row["client_order_id"]) or row
        if found is None:
            return self.store.transition(row["client_order_id"], "new", "reconcile", {"lookup": "absent on exchange"})
        return self.apply_exchange_order(row, order_from(found), cause="reconcile")

    def apply_exchange_order(self, row: dict[str, Any], order: ExOrder, cause: str) -> dict[str, Any]:
        """Adopt the exchange's view of one ledger order; impossible moves are forced and reported."""
        self._check_terms(row, order)
        target = state_from_exchange(order.status, order.fill_count, order.remaining_count)
        fields = {"exchange_order_id": order.order_id, "filled_count": order.fill_count,
                      "remaining_count": order.remaining_count, "fees_paid": order.fees}
        detail = {"exchange_status": order.status}
        forced = not is_allowed(row["state"], target)
        if not forced and row["state"] == target and all(row.get(k) == v for k, v in fields.items()):
            return row  # nothing new: no write, no event (the common case on every refresh)
        if forced:
            self._note(Discrepancy(
                "illegal_transition", "critical",
                f"order {row['client_order_id']} is {row['state']} in the ledger but {order.status} on the exchange",
                False, row["ticker"], row["client_order_id"], {"from": row["state"], "to": target}))
        updated = self.store.transition(row["client_order_id"], target, cause, detail, force=forced, **fields)
        if order.fill_count > 0:  # fills stored before their order was known carry no client id yet
            self.store.attach_fills(order.order_id, row["client_order_id"])
        return updated

    def _check_terms(self, row: dict[str, Any], order: ExOrder) -> None:
        mine = (row["ticker"], *book_side_and_yes_price(row["side"], row["action"], Decimal(row["limit_price"])))
        theirs = (order.ticker, order.book_side, order.yes_price)
        if mine != theirs:
            self._note(Discrepancy(
                "order_terms_mismatch", "critical",
                f"order {row['client_order_id']}: ledger {mine} vs exchange {theirs}",
                False, row["ticker"], row["client_order_id"], {"ledger": list(map(str, mine)),
                                                                "exchange": list(map(str, theirs))}))

    # -- (2) orphans ------------------------------------------------------------------------------------
    def _adopt_resting_orphans(self, report: ReconcileReport) -> None:
        known_ids = self.store.known_exchange_ids()      # one query, not one per resting order
        for model in self.client.iter_orders(status="resting"):
            order = order_from(model)
            if order.order_id in known_ids:
                continue
            if self._known(order) is None:
                self._adopt(order)
                report.orphans_adopted += 1

    def _known(self, order: ExOrder) -> dict[str, Any] | None:
        row = self.store.order_by_exchange_id(order.order_id)
        if row is None and order.client_order_id:
            row = self.store.order(order.client_order_id)
            if row is not None:  # ours, but the ledger never learnt its exchange id (crash window)
                row = self.apply_exchange_order(row, order, cause="reconcile")
        return row

    def _adopt(self, order: ExOrder) -> dict[str, Any]:
        city, day = self._city_day(order.ticker, None)
        coid = order.client_order_id or f"exchange:{order.order_id}"
        self._note(Discrepancy(
            "orphan_order", "critical", f"exchange order {order.order_id} ({coid}) is unknown to the ledger",
            False, order.ticker, coid, {"exchange_order_id": order.order_id, "status": order.status}))
        row = {
            "client_order_id": coid, "exchange_order_id": order.order_id, "intent_key": f"orphan:{order.order_id}",
            "ticker": order.ticker, "city_code": city, "climate_day": day, "side": order.side, "action": order.action,
            "count": order.initial_count, "limit_price": order.side_price,
            "state": state_from_exchange(order.status, order.fill_count, order.remaining_count),
            "filled_count": order.fill_count, "remaining_count": order.remaining_count, "fees_paid": order.fees,
        }
        self.store.adopt_orphan(row, {"adopted": True, "exchange_status": order.status})
        self.store.attach_fills(order.order_id, coid)
        return row

    # -- (3) fills --------------------------------------------------------------------------------------
    def ingest_fills(self) -> int:
        """Store new fills once each (by exchange fill id); returns how many were new."""
        fresh, anchor, latest_ok = [], None, self.clock.now() + FILL_FUTURE_TOLERANCE
        for model in self.client.iter_fills(limit=FILL_PAGE):  # newest first
            fill = fill_from(model)
            at = fill.created_time
            if anchor is not None and at is not None and at < anchor - FILL_OVERLAP:
                break
            if fill.fill_id in self._rejected_fills:
                continue
            if self.store.has_fill(fill.fill_id):
                if anchor is None and at is not None and at <= latest_ok:
                    anchor = at  # the newest plausible fill we already hold
                continue
            problem = self._implausible_time(fill)
            if problem:
                self._reject_fill(fill, problem)
                continue
            fresh.append(fill)
        new = 0
        for fill in reversed(fresh):  # oldest first: an interrupted pass leaves no gap below a stored fill
            row = self.store.order_by_exchange_id(fill.order_id) or self._order_for_unknown_fill(fill.order_id)
            city, day = self._city_day(fill.ticker, row)
            new += self.store.insert_fill(FillRecord(
                exchange_fill_id=fill.fill_id, exchange_order_id=fill.order_id,
                client_order_id=row["client_order_id"] if row else None, ticker=fill.ticker, city_code=city,
                climate_day=day, side=fill.side, action=fill.action, count=fill.count, price=fill.price,
                is_taker=fill.is_taker, fee=fill.fee, filled_at=fill.created_time or self.clock.now(),
            ))
        return new

    def _implausible_time(self, fill: Any) -> str | None:
        at = fill.created_time
        if at is None:
            return None  # stored at its receipt time, as before
        now = self.clock.now()
        if at > now + FILL_FUTURE_TOLERANCE:
            return f"dated {at.isoformat()}, more than {FILL_FUTURE_TOLERANCE} after our clock"
        day = climate_day_from_ticker(fill.ticker)
        if day is not None:
            earliest = datetime(day.year, day.month, day.day, tzinfo=now.tzinfo) - FILL_MAX_AGE_BEFORE_DAY
            if at < earliest:
                return f"dated {at.isoformat()}, before its market could exist ({earliest.date()})"
        return None

    def _reject_fill(self, fill: Any, problem: str) -> None:
        """One risk event per implausible fill (also across restarts: its id is in the stored message)."""
        self._rejected_fills.add(fill.fill_id)
        message = f"fill {fill.fill_id} ({fill.ticker}) not stored: implausible time, {problem}"
        if self.store.db.scalar("SELECT COUNT(*) FROM ops.risk_events WHERE kind = 'reconcile' AND message = ?",
                                [message]):
            return
        self._note(Discrepancy("implausible_fill_time", "warning", message, True, fill.ticker, None,
                               {"exchange_fill_id": fill.fill_id, "exchange_order_id": fill.order_id,
                                "created_time": fill.created_time.isoformat() if fill.created_time else None}))

    def _order_for_unknown_fill(self, exchange_order_id: str) -> dict[str, Any] | None:
        try:
            order = order_from(self.client.get_order(exchange_order_id))
        except Exception as exc:  # noqa: BLE001 - the fill is still stored, without its client id
            self._note(Discrepancy("orphan_fill", "critical", f"fill for unknown order {exchange_order_id}: {exc}",
                                   False, None, None, {"exchange_order_id": exchange_order_id}))
            return None
        return self._known(order) or self._adopt(order)

    # -- (4) settlements --------------------------------------------------------------------------------
    def _ingest_settlements(self, report: ReconcileReport) -> None:
        known = self.store.settled_tickers()
        for model in self.client.iter_settlements():
            s = settlement_from(model)
            if s.ticker in known:
                continue
            city, day = self._city_day(s.ticker, None)
            report.settlements_ingested += self.store.insert_settlement({
                "ticker": s.ticker, "event_ticker": s.event_ticker or event_ticker_of(s.ticker), "city_code": city,
                "climate_day": day, "market_result": s.market_result,
                # settled_value is the settled temperature; the portfolio endpoint only gives the payout per
                # contract (kept in the payload), so the temperature is filled from the market, not guessed.
                "settled_value": None,
                "yes_count": s.yes_count, "no_count": s.no_count, "revenue": s.revenue,
                "settled_at": s.settled_time or self.clock.now(), "payload": s.raw,
            })
            self.store.zero_position(s.ticker)

    # -- (5) positions ----------------------------------------------------------------------------------
    def _compare_positions(self, report: ReconcileReport) -> None:
        exchange, mismatches = self._position_mismatches()
        if mismatches:  # fills may have landed between our reads: ingest again and look once more
            report.fills_ingested += self.ingest_fills()
            exchange, mismatches = self._position_mismatches()
        report.positions_checked = len(exchange)
        for ticker, (ledger_pos, exchange_pos) in mismatches.items():
            self._note(Discrepancy(
                "position_mismatch", "critical",
                f"{ticker}: ledger fills imply {ledger_pos}, exchange holds {exchange_pos}",
                False, ticker, None, {"ledger": str(ledger_pos), "exchange": str(exchange_pos)}))
        stored = self.store.positions()
        for ticker, p in exchange.items():
            row = stored.get(ticker)
            if row is not None and _same_position(row, p):
                continue  # unchanged since the last reconcile: no write
            city, day = self._city_day(ticker, row)
            self.store.upsert_position(ticker, city, day, p.position, p.market_exposure, p.fees_paid, p.realized_pnl)
        for ticker, row in stored.items():
            if ticker not in exchange and Decimal(row["position"]) != 0:
                self.store.zero_position(ticker)

    def _position_mismatches(self) -> tuple[dict[str, Any], dict[str, tuple[Decimal, Decimal]]]:
        exchange = {p.ticker: p for p in map(position_from, self.client.iter_positions())}
        ledger = self.store.fill_positions()
        out = {}
        for ticker in sorted(set(exchange) | set(ledger)):
            ex = exchange[ticker].position if ticker in exchange else Decimal(0)
            led = ledger.get(ticker, Decimal(0))
            if ex != led:
                out[ticker] = (led, ex)
        return exchange, out

    # -- helpers ---------------------------------------------------------------------------------------
    def _note(self, d: Discrepancy) -> None:
        if self._report is not None:
            self._report.discrepancies.append(d)
        detail = {"discrepancy": d.kind, "explained": d.explained, **d.detail}
        self.store.record_risk_event("reconcile", d.severity, d.message, detail,
                                     ticker=d.ticker, city_code=None, intent_key=None)
        if not d.explained and self._report is None:  # outside a pass (live order path): halt at once
            self._halt(d.message, "reconcile")

    def _city_day(self, ticker: str, row: dict[str, Any] | None) -> tuple[str, date]:
        if row is not None:
            return row["city_code"], row["climate_day"]
        city = self.registry.for_ticker(ticker) if self.registry is not None else None
        day = climate_day_from_ticker(ticker) or self.clock.now().date()
        return (city.code if city else "UNKNOWN"), day

    def _maybe_halt_on_auth(self, exc: Exception, report: ReconcileReport, dry_run: bool) -> None:
        from daemon.exchange.errors import AuthError

        if isinstance(exc, AuthError) and not dry_run:
            self._halt(f"exchange auth failure during reconciliation: {exc}", "breaker")
            report.halted = True


def _same_position(row: dict, p: Any) -> bool:
    return (Decimal(row["position"]), Decimal(row["cost_basis"]), Decimal(row["fees_paid"]),
            Decimal(row["realized_pnl"])) == (p.position, p.market_exposure, p.fees_paid, p.realized_pnl)
