"""The settlement-rules gate of the fast cycle: is this event the settlement the model prices?

An event whose rules text names another station, another source, another date, a minimum-temperature market or a
bracket its strikes do not state (daemon.settlement.rules.check_event) is untradeable: its markets are decided as
blocked, with a reason naming the failure (recorded in the decision and replayed), and one risk event per event is
written — once, not once per cycle, and not again after a restart.

May assume: the ladder rows are ops.market_snapshots rows whose `payload` is the exchange's market object.
Must never: send or cancel an order, or let a malformed payload pass as a valid check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from daemon.cities import City
from daemon.ledger.db import Database
from daemon.settlement.rules import RulesCheck, check_event

RISK_KIND = "settlement_rules"
REASON_PREFIX = "settlement_rules"


class RulesGate:
    def __init__(self, db: Database, record_risk_event: Callable[..., None]) -> None:
        self.db = db
        self._record = record_risk_event   # OrderStore.record_risk_event(kind, severity, message, detail, ...)
        self._noted: set[str] = set()      # events whose risk event exists (this process, or found in the ledger)

    def blocks(self, event_ticker: str, city: City, ladder: list[dict[str, Any]]) -> list[str]:
        """[] when the event's rules check out; else one block reason for all of its markets."""
        markets = [{**(row.get("payload") or {}), "ticker": row["ticker"], "event_ticker": event_ticker}
                   for row in ladder]
        check = check_event(markets, city)
        if check.ok:
            return []
        self._note(event_ticker, city.code, check)
        more = f" (+{len(check.reasons) - 1} more)" if len(check.reasons) > 1 else ""
        return [f"{REASON_PREFIX}: {check.reasons[0]}{more}"[:300]]

    def _note(self, event_ticker: str, city_code: str, check: RulesCheck) -> None:
        if event_ticker in self._noted:
            return
        seen = self.db.query_one("SELECT 1 AS seen FROM ops.risk_events WHERE kind = ? AND ticker = ? LIMIT 1",
                                 (RISK_KIND, event_ticker))
        if seen is None:
            self._record(RISK_KIND, "warning",
                         f"event {event_ticker} untradeable: its rules are not the settlement we model"[:500],
                         {"event_ticker": event_ticker, "source": check.source, "station": check.station,
                          "reasons": check.reasons[:20]},
                         ticker=event_ticker, city_code=city_code)
        self._noted.add(event_ticker)
