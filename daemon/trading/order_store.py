"""Ledger persistence for the order manager: intents, orders, order events, fills, positions, settlements.

Never decides anything: it writes what the OMS tells it, and it writes the intent + order row in ONE transaction
before any send. Every order state change appends an `ops.order_events` row in the same transaction as the
`ops.orders` update, so the event log and the current state can never disagree. Time comes from the injected clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from daemon.clock import Clock
from daemon.ledger.db import Database, Json
from daemon.trading import state as trading_state
from daemon.trading.intents import Intent
from daemon.trading.order_state import OPEN_STATES, check_transition

# Intent state mirrors its order's state (schema vocabulary of ops.intents.state).
_INTENT_STATE = {
    "new": "pending",
    "submitted": "sending",
    "unknown": "unknown",
    "resting": "live",
    "partial": "live",
    "filled": "done",
    "canceled": "canceled",
    "rejected": "rejected",
    "closed": "canceled",
}


@dataclass(frozen=True)
class FillRecord:
    exchange_fill_id: str
    exchange_order_id: str
    client_order_id: str | None
    ticker: str
    city_code: str
    climate_day: date
    side: str
    action: str
    count: Decimal
    price: Decimal
    is_taker: bool
    fee: Decimal
    filled_at: datetime


class OrderStore:
    """SQL for the OMS tables; identical on Postgres and DuckDB."""

    def __init__(self, db: Database, clock: Clock) -> None:
        self.db = db
        self.clock = clock

    # -- intents + orders -----------------------------------------------------------------------
    def latest_intent(self, intent_key: str) -> dict[str, Any] | None:
        return self.db.query_one(
            "SELECT * FROM ops.intents WHERE intent_key = ? ORDER BY version DESC LIMIT 1", (intent_key,)
        )

    def create_intent_order(self, intent: Intent, client_order_id: str, count: Decimal) -> None:
        """Commit the intent version and its `new` order row (with the first event) atomically."""
        now = self.clock.now()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO ops.intents (intent_key, version, decision_id, ticker, city_code, climate_day, side,"
                " action, count, limit_price, client_order_id, state, reason, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)",
                (intent.intent_key, intent.version, intent.decision_id, intent.ticker, intent.city_code,
                 intent.climate_day, intent.side, intent.action, intent.count, intent.limit_price,
                 client_order_id, intent.reason, now, now),
            )
            self.db.execute(
                "INSERT INTO ops.orders (client_order_id, intent_key, intent_version, ticker, city_code,"
                " climate_day, side, action, count, limit_price, state, filled_count, remaining_count,"
                " fees_paid, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'new', 0, ?, 0, ?, ?)",
                (client_order_id, intent.intent_key, intent.version, intent.ticker, intent.city_code,
                 intent.climate_day, intent.side, intent.action, count, intent.limit_price, count, now, now),
            )
            self._event(client_order_id, None, "new", "intent", {"intent_version": intent.version}, now)

    def adopt_orphan(self, row: dict[str, Any], detail: dict[str, Any]) -> None:
        """Insert an exchange order the ledger never knew (its own pseudo-intent), in its exchange state."""
        now = self.clock.now()
        with self.db.transaction():
            self.db.execute(
                "INSERT INTO ops.orders (client_order_id, exchange_order_id, intent_key, intent_version, ticker,"
                " city_code, climate_day, side, action, count, limit_price, state, filled_count, remaining_count,"
                " fees_paid, last_error, created_at, sent_at, updated_at)"
                " VALUES (?, ?, ?, 0, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'adopted from exchange', ?, ?, ?)",
                (row["client_order_id"], row["exchange_order_id"], row["intent_key"], row["ticker"],
                 row["city_code"], row["climate_day"], row["side"], row["action"], row["count"],
                 row["limit_price"], row["state"], row["filled_count"], row["remaining_count"],
                 row["fees_paid"], now, now, now),
            )
            self._event(row["client_order_id"], None, row["state"], "reconcile", detail, now)

    def order(self, client_order_id: str) -> dict[str, Any] | None:
        return self.db.query_one("SELECT * FROM ops.orders WHERE client_order_id = ?", (client_order_id,))

    def order_by_exchange_id(self, exchange_order_id: str) -> dict[str, Any] | None:
        return self.db.query_one("SELECT * FROM ops.orders WHERE exchange_order_id = ?", (exchange_order_id,))

    def orders_for_intent(self, intent_key: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT * FROM ops.orders WHERE intent_key = ? ORDER BY intent_version", (intent_key,)
        )

    def open_orders(self) -> list[dict[str, Any]]:
        marks = ", ".join("?" for _ in OPEN_STATES)
        return self.db.query(
            f"SELECT * FROM ops.orders WHERE state IN ({marks}) ORDER BY id", tuple(sorted(OPEN_STATES))
        )

    def all_orders(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM ops.orders ORDER BY id DESC"
        return self.db.query(sql + (f" LIMIT {int(limit)}" if limit else ""))

    def known_exchange_ids(self) -> set[str]:
        rows = self.db.query("SELECT exchange_order_id FROM ops.orders WHERE exchange_order_id IS NOT NULL")
        return {r["exchange_order_id"] for r in rows}

    def known_client_ids(self) -> set[str]:
        return {r["client_order_id"] for r in self.db.query("SELECT client_order_id FROM ops.orders")}

    def events(self, client_order_id: str) -> list[dict[str, Any]]:
        return self.db.query(
            "SELECT * FROM ops.order_events WHERE client_order_id = ? ORDER BY id", (client_order_id,)
        )

    def transition(
        self,
        client_order_id: str,
        to_state: str,
        cause: str,
        detail: dict[str, Any] | None = None,
        *,
        force: bool = False,
        **fields: Any,
    ) -> dict[str, Any]:
        """Move one order to `to_state` (and set `fields`), appending its event; returns the updated row.

        `force` lets reconciliation adopt exchange truth even when the machine would not allow the move;
        the event then says so (`forced: true`) and the caller records a discrepancy.
        """
        now = self.clock.now()
        with self.db.transaction():
            row = self.order(client_order_id)
            if row is None:
                raise KeyError(f"no order {client_order_id}")
            from_state = row["state"]
            if not force:
                check_transition(from_state, to_state)
            changes = {k: v for k, v in fields.items() if row.get(k) != v}
            if from_state == to_state and not changes:
                return row
            changes["state"] = to_state
            changes["updated_at"] = now
            assignments = ", ".join(f"{name} = ?" for name in changes)
            self.db.execute(
                f"UPDATE ops.orders SET {assignments} WHERE client_order_id = ?",
                (*changes.values(), client_order_id),
            )
            event_detail = dict(detail or {})
            event_detail.update({k: v for k, v in fields.items() if k in changes})
            if force:
                event_detail["forced"] = True
            self._event(client_order_id, from_state, to_state, cause, event_detail, now)
            if from_state != to_state:
                self._sync_intent(row["intent_key"], row["intent_version"], to_state, now)
            row.update(changes)
            return row

    def supersede_intent(self, intent_key: str, version: int) -> None:
        self.db.execute(
            "UPDATE ops.intents SET state = 'superseded', updated_at = ? WHERE intent_key = ? AND version = ?",
            (self.clock.now(), intent_key, version),
        )

    def _sync_intent(self, intent_key: str, version: int, order_state: str, now: datetime) -> None:
        self.db.execute(
            "UPDATE ops.intents SET state = ?, updated_at = ? WHERE intent_key = ? AND version = ?"
            " AND state <> 'superseded'",
            (_INTENT_STATE[order_state], now, intent_key, version),
        )

    def _event(
        self, client_order_id: str, from_state: str | None, to_state: str, cause: str,
        detail: dict[str, Any], now: datetime,
    ) -> None:
        self.db.execute(
            "INSERT INTO ops.order_events (client_order_id, occurred_at, from_state, to_state, cause, detail)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            (client_order_id, now, from_state, to_state, cause, Json(detail)),
        )

    # -- fills ------------------------------------------------------------------------------------
    def insert_fill(self, fill: FillRecord) -> bool:
        """Store a fill once; a fill id already stored is ignored. True when it was new."""
        inserted = self.db.execute(
            "INSERT INTO ops.fills (exchange_fill_id, exchange_order_id, client_order_id, ticker, city_code,"
            " climate_day, side, action, count, price, is_taker, fee, filled_at, received_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (exchange_fill_id) DO NOTHING",
            (fill.exchange_fill_id, fill.exchange_order_id, fill.client_order_id, fill.ticker, fill.city_code,
             fill.climate_day, fill.side, fill.action, fill.count, fill.price, fill.is_taker, fill.fee,
             fill.filled_at, self.clock.now()),
        )
        return inserted > 0

    def attach_fills(self, exchange_order_id: str, client_order_id: str) -> int:
        """Join fills stored before their order was known (fills carry no client id on the wire)."""
        return self.db.execute(
            "UPDATE ops.fills SET client_order_id = ? WHERE exchange_order_id = ? AND client_order_id IS NULL",
            (client_order_id, exchange_order_id),
        )

    def fill_count(self) -> int:
        return int(self.db.scalar("SELECT COUNT(*) FROM ops.fills") or 0)

    def has_fill(self, exchange_fill_id: str) -> bool:
        return bool(self.db.scalar("SELECT COUNT(*) FROM ops.fills WHERE exchange_fill_id = ?", (exchange_fill_id,)))

    def last_fill_time(self) -> datetime | None:
        return self.db.scalar("SELECT MAX(filled_at) FROM ops.fills")

    def filled_by_order(self) -> dict[str, Decimal]:
        rows = self.db.query(
            "SELECT exchange_order_id, SUM(count) AS n FROM ops.fills GROUP BY exchange_order_id"
        )
        return {r["exchange_order_id"]: Decimal(r["n"]) for r in rows}

    def fill_positions(self) -> dict[str, Decimal]:
        """Signed YES position per unsettled ticker implied by the ledger's fills alone."""
        rows = self.db.query(
            "SELECT f.ticker, SUM(CASE WHEN (f.side = 'yes') = (f.action = 'buy') THEN f.count ELSE -f.count END)"
            " AS position FROM ops.fills f"
            " WHERE NOT EXISTS (SELECT 1 FROM ops.settlements s WHERE s.ticker = f.ticker)"
            " GROUP BY f.ticker"
        )
        return {r["ticker"]: Decimal(r["position"]) for r in rows}

    # -- positions + settlements ----------------------------------------------------------------
    def positions(self) -> dict[str, dict[str, Any]]:
        return {r["ticker"]: r for r in self.db.query("SELECT * FROM ops.positions ORDER BY ticker")}

    def upsert_position(
        self, ticker: str, city_code: str, climate_day: date, position: Decimal, cost_basis: Decimal,
        fees_paid: Decimal, realized_pnl: Decimal,
    ) -> None:
        now = self.clock.now()
        self.db.execute(
            "INSERT INTO ops.positions (ticker, city_code, climate_day, position, cost_basis, fees_paid,"
            " realized_pnl, updated_at, reconciled_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
            " ON CONFLICT (ticker) DO UPDATE SET position = excluded.position, cost_basis = excluded.cost_basis,"
            " fees_paid = excluded.fees_paid, realized_pnl = excluded.realized_pnl,"
            " updated_at = excluded.updated_at, reconciled_at = excluded.reconciled_at",
            (ticker, city_code, climate_day, position, cost_basis, fees_paid, realized_pnl, now, now),
        )

    def zero_position(self, ticker: str) -> None:
        now = self.clock.now()
        self.db.execute(
            "UPDATE ops.positions SET position = 0, updated_at = ?, reconciled_at = ? WHERE ticker = ?",
            (now, now, ticker),
        )

    def settled_tickers(self) -> set[str]:
        return {r["ticker"] for r in self.db.query("SELECT ticker FROM ops.settlements")}

    def insert_settlement(self, row: dict[str, Any]) -> bool:
        inserted = self.db.execute(
            "INSERT INTO ops.settlements (ticker, event_ticker, city_code, climate_day, market_result,"
            " settled_value, yes_count, no_count, revenue, settled_at, received_at, payload)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (ticker) DO NOTHING",
            (row["ticker"], row["event_ticker"], row["city_code"], row["climate_day"], row["market_result"],
             row.get("settled_value"), row["yes_count"], row["no_count"], row["revenue"], row["settled_at"],
             self.clock.now(), Json(row["payload"])),
        )
        return inserted > 0

    # -- risk events + trading state (fallback when no RiskEngine is wired) -----------------------
    def record_risk_event(
        self, kind: str, severity: str, message: str, detail: dict[str, Any], *,
        ticker: str | None = None, city_code: str | None = None, intent_key: str | None = None,
    ) -> None:
        self.db.execute(
            "INSERT INTO ops.risk_events (occurred_at, kind, severity, ticker, city_code, intent_key, message,"
            " detail) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (self.clock.now(), kind, severity, ticker, city_code, intent_key, message, Json(detail)),
        )

    def trading_state(self) -> str:
        row = self.db.query_one("SELECT state FROM ops.trading_state ORDER BY id DESC LIMIT 1")
        return row["state"] if row else "ACTIVE"

    def write_trading_state(self, state: str, reason: str, set_by: str) -> None:
        """Through trading.state.write: an existing kill switch (and its reason) survives; only resume clears it."""
        trading_state.write(self.db, self.clock, state, reason, set_by)


def fills_for_order(db: Database, client_order_id: str) -> list[dict[str, Any]]:
    return db.query("SELECT * FROM ops.fills WHERE client_order_id = ? ORDER BY filled_at, id", (client_order_id,))
