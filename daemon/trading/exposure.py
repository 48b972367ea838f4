"""What the ledger says we hold, may soon hold, and have won or lost — as input to the risk engine.

Exposure is WORST-CASE LOSS over the outcomes of one event (all brackets of one city-day are one bet):
every holding is normalised to a lot "bought `count` contracts of `side` on `ticker` for `cost` dollars"
(selling YES at p ≡ buying NO at 1 − p, which is exactly how Kalshi nets positions), an outcome is "bracket k
settles YES", and loss_k = total cost − payout_k. An "other" outcome (a bracket we hold nothing on) is always
included, because the ledger does not know the whole ladder: conservative, never under-counted.
Two YES brackets therefore count as the sum of their costs, while a NO ladder counts less than its cost.

Confirmed lots come from ops.fills on unsettled tickers (price and fee exact); a ticker held in ops.positions
without fills in the ledger (adopted at reconciliation) uses its cost basis. Pending lots are ops.orders in an
open state (new / submitted / unknown / resting / partial) for their remaining count, with the worst-case
taker fee: the one-contract fee per contract, because the exchange rounds the fee up per fill and an order may
fill one contract at a time; plus filled contracts whose fills are not ingested yet (unbooked_fill_lots). Intents are committed together with their `new` order row (one transaction, OrderStore), so open
orders cover committed-but-unfilled intents too.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_FLOOR, Decimal

from daemon.economics.fees import taker_fee_per_contract
from daemon.ledger.db import Database
from daemon.money import ONE, ZERO
from daemon.settlement.ledger import SettlementError, pnl_for_position, scalar_value, yes_book
from daemon.trading.order_state import OPEN_STATES

log = logging.getLogger(__name__)

OTHER = "<other>"  # the outcome "a bracket we hold nothing on settles YES"
EventKey = tuple[str, date]  # (city_code, climate_day)


@dataclass(frozen=True)
class Lot:
    ticker: str
    city_code: str
    climate_day: date
    side: str       # side HELD: yes | no
    count: Decimal
    cost: Decimal   # dollars paid (or committed) for these contracts, fees included where known
    source: str     # fill | position | unbooked (held) · order (resting, may or may not fill) · proposed

    @property
    def event(self) -> EventKey:
        return (self.city_code, self.climate_day)


def normalise(side: str, action: str, price: Decimal) -> tuple[str, Decimal]:
    """(held side, price paid per contract) of a trade: sell YES at p ≡ buy NO at 1 − p, and vice versa."""
    if action == "buy":
        return side, price
    return ("no" if side == "yes" else "yes"), ONE - price


def order_lot(ticker: str, city_code: str, climate_day: date, side: str, action: str, count: Decimal,
              price: Decimal, source: str) -> Lot:
    held, unit = unit_cost(side, action, price)
    return Lot(ticker, city_code, climate_day, held, count, count * unit, source)


def unit_cost(side: str, action: str, price: Decimal) -> tuple[str, Decimal]:
    """Held side and worst-case cost of ONE more contract (the one-contract fee is the largest per contract)."""
    held, paid = normalise(side, action, price)
    return held, paid + taker_fee_per_contract(paid)


# -- reading the ledger ------------------------------------------------------------------------------
def confirmed_lots(db: Database) -> list[Lot]:
    rows = db.query(
        "SELECT f.ticker, f.city_code, f.climate_day, f.side, f.action, f.count, f.price, f.fee FROM ops.fills f"
        " WHERE NOT EXISTS (SELECT 1 FROM ops.settlements s WHERE s.ticker = f.ticker) ORDER BY f.id"
    )
    lots = []
    for r in rows:
        held, paid = normalise(r["side"], r["action"], Decimal(r["price"]))
        count = Decimal(r["count"])
        lots.append(Lot(r["ticker"], r["city_code"], r["climate_day"], held, count,
                        count * paid + Decimal(r["fee"]), "fill"))
    with_fills = {lot.ticker for lot in lots}
    for r in db.query(
        "SELECT p.* FROM ops.positions p WHERE p.position <> 0"
        " AND NOT EXISTS (SELECT 1 FROM ops.settlements s WHERE s.ticker = p.ticker)"
    ):
        if r["ticker"] in with_fills:
            continue
        position = Decimal(r["position"])
        lots.append(Lot(r["ticker"], r["city_code"], r["climate_day"], "yes" if position > 0 else "no",
                        abs(position), Decimal(r["cost_basis"]) + Decimal(r["fees_paid"]), "position"))
    return lots


def pending_lots(db: Database, *, exclude_intent: str | None = None) -> list[Lot]:
    """Open orders' remaining counts; the intent being re-checked is excluded (its proposal replaces it)."""
    marks = ", ".join("?" for _ in OPEN_STATES)
    rows = db.query(
        f"SELECT * FROM ops.orders WHERE state IN ({marks}) AND remaining_count > 0 ORDER BY id",
        tuple(sorted(OPEN_STATES)),
    )
    return [
        order_lot(r["ticker"], r["city_code"], r["climate_day"], r["side"], r["action"],
                  Decimal(r["remaining_count"]), Decimal(r["limit_price"]), "order")
        for r in rows if r["intent_key"] != exclude_intent
    ] + unbooked_fill_lots(db)


def unbooked_fill_lots(db: Database) -> list[Lot]:
    """Contracts an order row says filled that ops.fills does not hold yet (an order that filled on create is
    `filled` with nothing remaining until the next fill ingestion): held, so counted, at the limit price."""
    rows = db.query(
        "SELECT o.ticker, o.city_code, o.climate_day, o.side, o.action, o.limit_price,"
        " o.filled_count - COALESCE(b.booked, 0) AS unbooked FROM ops.orders o"
        " LEFT JOIN (SELECT exchange_order_id, SUM(count) AS booked FROM ops.fills GROUP BY exchange_order_id) b"
        " ON b.exchange_order_id = o.exchange_order_id"
        " WHERE o.filled_count > COALESCE(b.booked, 0)"
        " AND NOT EXISTS (SELECT 1 FROM ops.settlements s WHERE s.ticker = o.ticker) ORDER BY o.id"
    )
    return [order_lot(r["ticker"], r["city_code"], r["climate_day"], r["side"], r["action"],
                      Decimal(r["unbooked"]), Decimal(r["limit_price"]), "unbooked") for r in rows]


# -- worst-case loss ---------------------------------------------------------------------------------
RESTING = "order"


def outcome_losses(lots: Iterable[Lot], extra_outcomes: Iterable[str] = ()) -> dict[str, Decimal]:
    """Worst-case loss in each outcome (a ticker settling YES, or OTHER) of ONE event's lots.

    Held lots count in full. A resting order may fill in any part or not at all, so in each outcome it counts
    only where it would lose: resting legs never hedge each other (a ladder of resting NO legs could otherwise
    pass the cap leg by leg and then fill unevenly)."""
    lots = list(lots)
    outcomes = {lot.ticker for lot in lots} | set(extra_outcomes) | {OTHER}
    losses = {}
    for outcome in outcomes:
        total = ZERO
        for lot in lots:
            loss = lot.cost - (lot.count if _wins(lot, outcome) else ZERO)
            total += max(loss, ZERO) if lot.source == RESTING else loss
        losses[outcome] = total
    return losses


def _wins(lot: Lot, outcome: str) -> bool:
    return (lot.ticker == outcome) if lot.side == "yes" else (lot.ticker != outcome)


def event_exposure(lots: Iterable[Lot]) -> Decimal:
    losses = outcome_losses(lots)
    return max(ZERO, max(losses.values()))


def by_event(lots: Iterable[Lot]) -> dict[EventKey, list[Lot]]:
    out: dict[EventKey, list[Lot]] = defaultdict(list)
    for lot in lots:
        out[lot.event].append(lot)
    return dict(out)


def exposures(lots: Iterable[Lot]) -> dict[EventKey, Decimal]:
    return {key: event_exposure(group) for key, group in by_event(lots).items()}


def max_count_within(
    base: list[Lot], ticker: str, held_side: str, unit: Decimal, requested: Decimal, allowed: Decimal,
) -> Decimal:
    """The largest n ≤ requested (same granularity) such that the event's worst-case loss with n more contracts
    of `held_side` on `ticker` at `unit` dollars each stays ≤ `allowed`. Each outcome's loss is linear in n."""
    if allowed < ZERO:
        return ZERO
    limit = requested
    for outcome, loss in outcome_losses(base, (ticker,)).items():
        wins = (outcome == ticker) if held_side == "yes" else (outcome != ticker)
        slope = unit - (ONE if wins else ZERO)
        if slope > ZERO:
            limit = min(limit, (allowed - loss) / slope)
        elif loss + requested * slope > allowed:
            return ZERO  # a loss that only shrinks with n and is still over at the full count
    return floor_count(max(limit, ZERO), requested)


def floor_count(value: Decimal, like: Decimal) -> Decimal:
    """Floor to whole contracts when the request is whole, else to 0.01 (Kalshi's count granularity)."""
    step = ONE if like == like.to_integral_value() else Decimal("0.01")
    return (value / step).to_integral_value(rounding=ROUND_FLOOR) * step


# -- realized + settled P&L ----------------------------------------------------------------------------
@dataclass(frozen=True)
class PnlEvent:
    ticker: str
    at: datetime
    pnl: Decimal


def pnl_events(db: Database) -> list[PnlEvent]:
    """Realized P&L in YES-book terms (daemon/settlement/ledger.py: buy NO at p = sell YES at 1 − p, so a YES + NO
    pair nets as Kalshi nets it and a sell opens a short). Settled tickers: YES-book cash − fees + the payout of the
    final YES position, at settled_at. Unsettled tickers whose fills net to a flat position: cash − fees, at the
    last fill."""
    fills: dict[str, list[dict]] = defaultdict(list)
    for r in db.query("SELECT * FROM ops.fills ORDER BY filled_at, id"):
        fills[r["ticker"]].append(r)
    events = []
    settled = set()
    for r in db.query("SELECT * FROM ops.settlements"):
        settled.add(r["ticker"])
        events.append(PnlEvent(r["ticker"], r["settled_at"], _settled_pnl(r, fills.get(r["ticker"], []))))
    for ticker, rows in fills.items():
        book = yes_book(rows)
        if ticker not in settled and book.position == ZERO:
            events.append(PnlEvent(ticker, max(f["filled_at"] for f in rows), book.cash - book.fees))
    return events


def _settled_pnl(settlement: dict, fills: list[dict]) -> Decimal:
    """Realized P&L of one settled ticker; a result the ledger cannot value (void without a value) falls back to
    the exchange's revenue, which pays the held side: YES payout = revenue + min(position, 0)."""
    try:
        return pnl_for_position(settlement["ticker"], fills, settlement["market_result"],
                                scalar_value(settlement.get("payload"))).realized_pnl
    except SettlementError as exc:
        log.warning("settlement %s valued from exchange revenue: %s", settlement["ticker"], exc)
        book = yes_book(fills)
        return book.cash + Decimal(settlement["revenue"]) + min(book.position, ZERO) - book.fees


def loss_since(events: Iterable[PnlEvent], since: datetime, until: datetime) -> Decimal:
    """Net loss (positive number, 0 when net profitable) of the P&L events in (since, until]."""
    net = sum((e.pnl for e in events if since < e.at <= until), ZERO)
    return max(ZERO, -net)
