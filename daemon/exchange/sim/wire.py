"""Kalshi's current JSON shapes (`*_dollars` strings, `*_fp` counts, RFC 3339 UTC times) for sim state."""

from __future__ import annotations

import base64
import json
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, TypeVar

from daemon.exchange.sim.book import Book
from daemon.exchange.sim.state import (
    SimEvent,
    SimFill,
    SimMarket,
    SimOrder,
    SimPosition,
    SimSettlement,
    SimTrade,
    side_price,
)
from daemon.money import ONE, ZERO, fmt_count, fmt_dollars

T = TypeVar("T")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

RULES_SECONDARY = (
    "Not all weather data is the same. While checking a source like AccuWeather or Google Weather may help guide "
    "your decision, the official and final value used to determine this market is the maximum/minimum temperature "
    "as reported by the Weather Company.")
SETTLEMENT_SOURCES = [{"name": "The Weather Company", "url": "https://weather.com/kalshi"}]


def ts(instant: datetime | None) -> str | None:
    if instant is None:
        return None
    instant = instant.astimezone(UTC)
    text = instant.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{instant.microsecond:06d}Z" if instant.microsecond else f"{text}Z"


def unix_s(instant: datetime) -> int:
    return int((instant - _EPOCH).total_seconds())


def unix_ms(instant: datetime) -> int:
    return (instant - _EPOCH) // timedelta(milliseconds=1)


def dumps(body: Any) -> bytes:
    """Kalshi's serialisation: sorted keys, no whitespace, UTF-8 (° not escaped)."""
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def _price(cents: int) -> str:
    return fmt_dollars(Decimal(cents) / 100)


def price_or(cents: int | None, absent: str) -> str:
    return _price(cents) if cents else absent


def paginate(items: Sequence[T], limit: int, cursor: str | None) -> tuple[list[T], str]:
    """Offset pagination behind an opaque cursor; '' marks the last page."""
    start = 0
    if cursor:
        try:
            start = int(base64.urlsafe_b64decode(cursor.encode()).decode())
        except (ValueError, UnicodeDecodeError):
            start = 0
    page = list(items[start:start + limit])
    end = start + len(page)
    next_cursor = base64.urlsafe_b64encode(str(end).encode()).decode() if end < len(items) else ""
    return page, next_cursor


def market_json(m: SimMarket, book: Book, settlement_timer_seconds: int = 300) -> dict[str, Any]:
    bid, ask_as_yes = book.best("bid"), book.best("ask")
    bid_size = next((s for p, s in reversed(book.depth("bid")) if p == bid), ZERO) if bid else ZERO
    ask_size = next((s for p, s in book.depth("ask") if p == ask_as_yes), ZERO) if ask_as_yes else ZERO
    yes_bid = Decimal(bid) / 100 if bid else ZERO
    yes_ask = Decimal(ask_as_yes) / 100 if ask_as_yes else ONE
    out: dict[str, Any] = {
        "can_close_early": True, "close_time": ts(m.close_time), "created_time": ts(m.created_time),
        "early_close_condition": (f"The Last Trading Time will be 11:59 PM local time on {m.day:%B} {m.day.day}, "
                                  f"{m.day.year} regardless of any data releases or events occurring."),
        "event_ticker": m.event_ticker, "exchange_index": 0,
        "expected_expiration_time": ts(m.expected_expiration_time),
        "expiration_time": ts(m.latest_expiration_time), "expiration_value": m.expiration_value,
        "last_price_dollars": fmt_dollars(m.last_price if m.last_price is not None else ZERO),
        "latest_expiration_time": ts(m.latest_expiration_time), "liquidity_dollars": "0.0000",
        "market_type": "binary", "no_ask_dollars": fmt_dollars(ONE - yes_bid),
        "no_bid_dollars": fmt_dollars(ONE - yes_ask), "no_sub_title": m.yes_sub_title,
        "notional_value_dollars": "1.0000", "occurrence_datetime": ts(m.occurrence_datetime),
        "open_interest_fp": fmt_count(m.open_interest), "open_time": ts(m.open_time),
        "previous_price_dollars": "0.0000", "previous_yes_ask_dollars": "0.0000",
        "previous_yes_bid_dollars": "0.0000", "price_level_structure": "linear_cent",
        "price_ranges": [{"end": "1.0000", "start": "0.0000", "step": "0.0100"}],
        "result": m.result, "rules_primary": m.rules_primary, "rules_secondary": RULES_SECONDARY,
        "settlement_bounds_type": "default", "settlement_timer_seconds": settlement_timer_seconds, "status": m.status,
        "strike_type": m.strike_type, "ticker": m.ticker, "title": m.title,
        "updated_time": ts(m.updated_time or m.created_time), "volume_24h_fp": fmt_count(m.volume),
        "volume_fp": fmt_count(m.volume), "yes_ask_dollars": fmt_dollars(yes_ask),
        "yes_ask_size_fp": fmt_count(ask_size), "yes_bid_dollars": fmt_dollars(yes_bid),
        "yes_bid_size_fp": fmt_count(bid_size), "yes_sub_title": m.yes_sub_title,
    }
    if m.floor_strike is not None:
        out["floor_strike"] = m.floor_strike
    if m.cap_strike is not None:
        out["cap_strike"] = m.cap_strike
    if m.settlement_ts is not None:
        out["settlement_ts"] = ts(m.settlement_ts)
    if m.result:
        out["settlement_value_dollars"] = "1.0000" if m.result == "yes" else "0.0000"
    return out


def event_json(e: SimEvent, markets: list[dict[str, Any]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "available_on_brokers": True, "category": "Climate and Weather", "collateral_return_type": "MECNET",
        "event_ticker": e.event_ticker, "exchange_index": 0, "last_updated_ts": "0001-01-01T00:00:00Z",
        "mutually_exclusive": True, "product_metadata": {"competition": "High Temperature"},
        "series_ticker": e.series_ticker, "settlement_sources": SETTLEMENT_SOURCES,
        "strike_date": ts(e.strike_date), "strike_period": "", "sub_title": e.sub_title, "title": e.title,
    }
    if markets is not None:
        out["markets"] = markets
    return out


def series_json(ticker: str, city_name: str) -> dict[str, Any]:
    return {
        "additional_prohibitions": [
            "Persons who are employed by any of the Source Agencies are not permitted to trade on the Contract."],
        "category": "Climate and Weather",
        "contract_terms_url": "https://assets.kalshi.com/contract_terms/GLOBALTEMPERATURE.pdf",
        "contract_url": "https://assets.kalshi.com/regulatory/product-certifications/GLOBALTEMPERATURE.pdf",
        "fee_multiplier": 1, "fee_type": "quadratic", "frequency": "daily",
        "settlement_sources": SETTLEMENT_SOURCES, "tags": ["Daily temperature"], "ticker": ticker,
        "title": f"Highest temperature in {city_name}",
    }


def orderbook_json(book: Book, depth: int | None) -> dict[str, Any]:
    yes = book.depth("bid")
    no = [(100 - p, s) for p, s in reversed(book.depth("ask"))]          # YES asks = NO bids at 1 − p
    if depth:
        yes, no = yes[-depth:], no[-depth:]
    return {"orderbook_fp": {"no_dollars": [[_price(p), fmt_count(s)] for p, s in no],
                             "yes_dollars": [[_price(p), fmt_count(s)] for p, s in yes]}}


def order_json(o: SimOrder) -> dict[str, Any]:
    return {
        "action": "buy", "book_side": o.book_side, "cancel_order_on_pause": o.cancel_order_on_pause,
        "client_order_id": o.client_order_id, "created_time": ts(o.created_time), "exchange_index": 0,
        "expiration_time": ts(o.expiration_time), "fill_count_fp": fmt_count(o.fill_count),
        "initial_count_fp": fmt_count(o.initial_count), "last_update_time": ts(o.last_update_time),
        "maker_fees_dollars": fmt_dollars(o.maker_fees), "maker_fill_cost_dollars": fmt_dollars(o.maker_fill_cost),
        "no_price_dollars": fmt_dollars(ONE - o.price), "order_group_id": o.order_group_id or None,
        "order_id": o.order_id, "outcome_side": o.outcome_side, "remaining_count_fp": fmt_count(o.remaining_count),
        "self_trade_prevention_type": o.self_trade_prevention_type, "side": o.outcome_side, "status": o.status,
        "subaccount_number": 0, "taker_fees_dollars": fmt_dollars(o.taker_fees),
        "taker_fill_cost_dollars": fmt_dollars(o.taker_fill_cost), "ticker": o.ticker, "type": "limit",
        "user_id": o.account, "yes_price_dollars": fmt_dollars(o.price),
    }


def fill_json(f: SimFill) -> dict[str, Any]:
    return {
        "action": "buy", "book_side": f.book_side, "count_fp": fmt_count(f.count), "created_time": ts(f.created_time),
        "exchange_index": 0, "fee_cost": fmt_dollars(f.fee), "fill_id": f.fill_id, "is_taker": f.is_taker,
        "market_ticker": f.ticker, "no_price_dollars": fmt_dollars(ONE - f.yes_price), "order_id": f.order_id,
        "outcome_side": "yes" if f.book_side == "bid" else "no", "side": "yes" if f.book_side == "bid" else "no",
        "subaccount_number": 0, "ticker": f.ticker, "trade_id": f.trade_id, "ts": unix_s(f.created_time),
        "yes_price_dollars": fmt_dollars(f.yes_price),
    }


def trade_json(t: SimTrade) -> dict[str, Any]:
    outcome = "yes" if t.taker_book_side == "bid" else "no"
    return {
        "count_fp": fmt_count(t.count), "created_time": ts(t.created_time), "is_block_trade": False,
        "no_price_dollars": fmt_dollars(ONE - t.yes_price), "taker_book_side": t.taker_book_side,
        "taker_outcome_side": outcome, "taker_side": outcome, "ticker": t.ticker, "trade_id": t.trade_id,
        "yes_price_dollars": fmt_dollars(t.yes_price),
    }


def position_json(p: SimPosition, resting_orders: int) -> dict[str, Any]:
    return {
        "exchange_index": 0, "fees_paid_dollars": fmt_dollars(p.fees_paid),
        "last_updated_ts": ts(p.last_updated), "market_exposure_dollars": fmt_dollars(p.cost),
        "position_fp": fmt_count(p.position), "realized_pnl_dollars": fmt_dollars(p.realized_pnl),
        "resting_orders_count": resting_orders, "ticker": p.ticker,
        "total_traded_dollars": fmt_dollars(p.total_traded),
    }


def event_position_json(event_ticker: str, positions: list[SimPosition]) -> dict[str, Any]:
    return {
        "event_exposure_dollars": fmt_dollars(sum((p.cost for p in positions), ZERO)),
        "event_ticker": event_ticker,
        "fees_paid_dollars": fmt_dollars(sum((p.fees_paid for p in positions), ZERO)),
        "realized_pnl_dollars": fmt_dollars(sum((p.realized_pnl for p in positions), ZERO)),
        "total_cost_dollars": fmt_dollars(sum((p.cost for p in positions), ZERO)),
        "total_cost_shares_fp": fmt_count(sum((abs(p.position) for p in positions), ZERO)),
    }


def settlement_json(s: SimSettlement) -> dict[str, Any]:
    return {
        "event_ticker": s.event_ticker, "exchange_index": 0, "fee_cost": fmt_dollars(s.fee_cost),
        "market_result": s.market_result, "no_count_fp": fmt_count(s.no_count),
        "no_total_cost_dollars": fmt_dollars(s.no_total_cost), "revenue": s.revenue_cents,
        "settled_time": ts(s.settled_time), "ticker": s.ticker, "value": s.value_cents,
        "yes_count_fp": fmt_count(s.yes_count), "yes_total_cost_dollars": fmt_dollars(s.yes_total_cost),
    }


def reserved_for(o: SimOrder) -> Decimal:
    return o.remaining_count * side_price(o.book_side, o.price)
