"""Parsing of every recorded Kalshi fixture (current and legacy schemas) into exact typed models."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from kalshi_stub import FIXTURES
from pydantic import ValidationError

from daemon.exchange.models import (
    Balance,
    Candlestick,
    Event,
    Fill,
    Market,
    Order,
    OrderAck,
    OrderBook,
    Position,
    Series,
    Settlement,
    Trade,
    loads,
)
from daemon.money import dollars_from_cents, fmt_count, fmt_dollars, to_cents

D = Decimal


def _load(relative: str):
    return loads((FIXTURES / relative).read_bytes())


def _parse_any(path: Path) -> int:
    """Parse one fixture file by shape; returns how many objects were validated."""
    body = loads(path.read_bytes())
    if "orderbook_fp" in body or "orderbook" in body:
        OrderBook.model_validate({"market_ticker": path.stem, **body})
        return 1
    if "event" in body:
        return 1 + len(Event.from_response(body).markets)
    if "markets" in body:
        return len([Market.model_validate(m) for m in body["markets"]])
    if "series" in body:
        Series.model_validate(body["series"])
        return 1
    if "candlesticks" in body:
        return len([Candlestick.model_validate(c) for c in body["candlesticks"]])
    # legacy trades file: {ticker: [trade, ...]}
    return len([Trade.model_validate(t) for trades in body.values() for t in trades])


LOCAL = sorted(p for p in FIXTURES.rglob("*.json"))


@pytest.mark.parametrize("path", LOCAL, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_local_fixture_parses(path: Path) -> None:
    assert _parse_any(path) >= 1


def test_every_shared_fixture_parses(shared_data: Path) -> None:
    files = sorted(shared_data.glob("fixtures/kalshi_*/*.json"))
    files = [f for f in files if f.name != "kalshi_fee_table_2026-07-07.json"]
    assert len(files) >= 20
    assert sum(_parse_any(f) for f in files) > 100


def test_current_market_exact_values() -> None:
    body = _load("current/markets_open_KXHIGHCHI_20260924T224050Z.json")
    market = Market.model_validate(body["markets"][0])
    assert market.ticker == "KXHIGHCHI-26SEP25-T71" and market.series_ticker == "KXHIGHCHI"
    assert market.strike_type == "greater" and market.floor_strike == D(71) and market.cap_strike is None
    assert (market.yes_bid, market.yes_ask, market.no_bid, market.no_ask) == (D("0.01"), D("0.02"), D("0.98"), D("0.99"))
    assert market.yes_bid_size == D("1010.98") and market.open_interest == D("948.07")
    assert market.close_time.isoformat() == "2026-09-26T06:00:00+00:00"
    assert market.result is None and market.expiration_value is None
    assert market.price_ranges[0].step == D("0.01")
    assert "CLIMDW" in market.rules_primary and market.label == "72° or above"
    for value in (market.yes_bid, market.volume, market.last_price):
        assert type(value) is Decimal


def test_empty_snapshot_sides_are_no_market() -> None:
    settled = Market.model_validate(_load("dollars_schema/kxhighny_settled_trimmed.json")["markets"][0])
    assert settled.yes_bid is None and settled.yes_ask is None       # 0.0000 / 1.0000 with size 0.00
    assert settled.no_bid is None and settled.no_ask is None
    assert settled.result == "no" and settled.expiration_value == D("85.00")
    assert settled.settlement_value == D("0")
    open_ = Market.model_validate(_load("dollars_schema/kxhighny_open_trimmed.json")["markets"][0])
    assert open_.yes_bid is None and open_.yes_ask == D("0.01") and open_.no_ask is None


def test_legacy_cents_event() -> None:
    event = Event.from_response(_load("legacy_events/kxhighden_2025-03-01.json"))
    tail = event.markets[0]
    assert tail.ticker == "KXHIGHDEN-25MAR01-T62" and tail.strike_type == "less" and tail.cap_strike == D(62)
    assert tail.yes_bid is None and tail.yes_ask == D("0.01") and tail.no_bid == D("0.99")
    assert tail.volume == D(1952) and tail.open_interest == D(1752)
    assert tail.result == "no" and tail.expiration_value == D("64.00")
    assert len(event.markets) == 6 and event.series_ticker == "KXHIGHDEN"


def test_event_with_top_level_markets() -> None:
    event = Event.from_response(_load("current/event_KXHIGHNY-26SEP23.json"))
    assert event.strike_date.isoformat() == "2026-09-24T05:00:00+00:00"
    assert [m.strike_type for m in event.markets].count("between") == 4


def test_orderbook_semantics_from_real_capture() -> None:
    book = OrderBook.model_validate(
        {"market_ticker": "KXHIGHCHI-26SEP25-B68.5",
         **_load("current/orderbook_KXHIGHCHI-26SEP25-B68.5_20260924T224249Z.json")})
    assert (book.best_yes_bid, book.best_no_bid) == (D("0.37"), D("0.62"))
    assert (book.best_yes_ask, book.best_no_ask) == (D("0.38"), D("0.63"))
    assert book.yes[0].count == D("902.76")
    assert book.yes_asks()[0].price == D("0.38") and book.yes_asks()[0].count == D("146.05")


@pytest.mark.parametrize("side", [None, [], "missing"])
def test_empty_book_side_is_no_market(side) -> None:
    inner = {"yes_dollars": [["0.4000", "5.00"]]}
    if side != "missing":
        inner["no_dollars"] = side
    book = OrderBook.model_validate({"market_ticker": "T", "orderbook_fp": inner})
    assert book.best_yes_ask is None and book.best_no_bid is None
    assert book.best_yes_bid == D("0.40") and book.best_no_ask == D("0.60")


def test_legacy_orderbook_cents_and_unsorted_input() -> None:
    book = OrderBook.model_validate({"market_ticker": "T", "orderbook": {"yes": [[42, 10], [12, 100]], "no": None}})
    assert [lv.price for lv in book.yes] == [D("0.12"), D("0.42")] and book.best_yes_ask is None


@pytest.mark.parametrize("bad", [
    {"yes_dollars": [["1.0000", "5.00"]]},          # impossible price for a bid
    {"yes_dollars": [["0.40", "5.00"], ["0.40", "1.00"]]},   # repeated level
    {"yes_dollars": [[0.4, "5.00"]]},               # float price
    {"yes_dollars": [["0.40", "-1.00"]]},           # negative size
])
def test_bad_books_are_refused(bad) -> None:
    with pytest.raises(ValidationError):
        OrderBook.model_validate({"market_ticker": "T", "orderbook_fp": bad})


def test_float_money_is_refused() -> None:
    body = dict(_load("current/markets_open_KXHIGHCHI_20260924T224050Z.json")["markets"][0])
    body["yes_bid_dollars"] = 0.01
    with pytest.raises(ValidationError, match="inexact float"):
        Market.model_validate(body)


def test_portfolio_objects_current_schema() -> None:
    order = Order.model_validate({
        "order_id": "o1", "client_order_id": "c1", "ticker": "T", "outcome_side": "no", "book_side": "ask",
        "status": "resting", "yes_price_dollars": "0.7000", "no_price_dollars": "0.3000",
        "initial_count_fp": "10.00", "fill_count_fp": "2.50", "remaining_count_fp": "7.50",
        "taker_fees_dollars": "0.0200", "maker_fees_dollars": "0.0000", "created_time": "2026-09-24T09:35:22.367324Z"})
    assert (order.side, order.action, order.price, order.side_price) == ("no", "buy", D("0.70"), D("0.30"))
    assert order.fill_count + order.remaining_count == order.initial_count and order.is_open
    fill = Fill.model_validate({"fill_id": "f1", "order_id": "o1", "market_ticker": "T", "side": "yes",
                                "action": "buy", "count_fp": "3.00", "yes_price_dollars": "0.4100",
                                "no_price_dollars": "0.5900", "is_taker": True, "fee_cost": "0.0600",
                                "created_time": "2026-09-24T09:35:22Z", "ts": 1790242522})
    assert fill.ticker == "T" and fill.fee == D("0.06") and fill.ts.year == 2026
    pos = Position.model_validate({"ticker": "T", "position_fp": "-4.00", "market_exposure_dollars": "1.2000",
                                   "realized_pnl_dollars": "-0.5000", "fees_paid_dollars": "0.0300"})
    assert pos.position == D(-4) and pos.realized_pnl == D("-0.5")
    st_ = Settlement.model_validate({"ticker": "T", "market_result": "yes", "yes_count_fp": "5.00",
                                     "no_count_fp": "0.00", "revenue": 500, "settled_time": "2026-09-25T12:00:00Z",
                                     "fee_cost": "0.1000"})
    assert st_.revenue_cents == 500 and st_.yes_count == D(5)
    bal = Balance.model_validate({"balance": 123456, "balance_dollars": "1234.56", "portfolio_value": 10})
    assert bal.balance == D("1234.56")
    ack = OrderAck.model_validate({"order_id": "o1", "client_order_id": "c1", "fill_count": "1.00",
                                   "remaining_count": "9.00", "average_fill_price": "0.4100", "ts_ms": 1768478400123})
    assert ack.acknowledged_at.isoformat() == "2026-01-15T12:00:00.123000+00:00"


def test_portfolio_objects_legacy_schema() -> None:
    order = Order.model_validate({"order_id": "o", "ticker": "T", "side": "yes", "action": "sell",
                                  "status": "executed", "yes_price": 37, "fill_count": 5, "remaining_count": 0,
                                  "taker_fees": 9})
    assert order.price == D("0.37") and order.initial_count == D(5) and order.taker_fees == D("0.09")
    pos = Position.model_validate({"ticker": "T", "position": 7, "market_exposure": 259, "realized_pnl": -12,
                                   "fees_paid": 3})
    assert (pos.position, pos.market_exposure, pos.realized_pnl) == (D(7), D("2.59"), D("-0.12"))


# -- properties: exact round trips, never float ---------------------------------------------------------

cents = st.integers(min_value=0, max_value=100)
centicents = st.integers(min_value=0, max_value=10_000)
hundredths = st.integers(min_value=0, max_value=10**9)


@given(centicents)
def test_price_string_round_trip(n: int) -> None:
    wire = fmt_dollars(D(n).scaleb(-4))
    market = Market.model_validate({"ticker": "T", "event_ticker": "E-1", "status": "active",
                                    "last_price_dollars": wire})
    assert type(market.last_price) is Decimal
    assert fmt_dollars(market.last_price) == wire and market.last_price * 10_000 == n


@given(cents)
def test_legacy_cents_equal_dollar_strings(c: int) -> None:
    legacy = Trade.model_validate({"trade_id": "t", "ticker": "T", "count": 1, "yes_price": c})
    current = Trade.model_validate({"trade_id": "t", "ticker": "T", "count_fp": "1.00",
                                    "yes_price_dollars": fmt_dollars(dollars_from_cents(c))})
    assert legacy.yes_price == current.yes_price and to_cents(legacy.yes_price) == c


@given(hundredths)
def test_count_string_round_trip(n: int) -> None:
    wire = fmt_count(D(n).scaleb(-2))
    trade = Trade.model_validate({"trade_id": "t", "ticker": "T", "count_fp": wire, "yes_price_dollars": "0.5000"})
    assert type(trade.count) is Decimal and fmt_count(trade.count) == wire and trade.count * 100 == n


@given(st.lists(st.tuples(st.integers(1, 99), st.integers(1, 10**6)), unique_by=lambda t: t[0], max_size=20),
       st.lists(st.tuples(st.integers(1, 99), st.integers(1, 10**6)), unique_by=lambda t: t[0], max_size=20))
def test_book_best_prices_are_exact_complements(yes, no) -> None:
    wire = lambda levels: [[fmt_dollars(dollars_from_cents(p)), fmt_count(D(q).scaleb(-2))] for p, q in levels]
    book = OrderBook.model_validate({"market_ticker": "T", "orderbook_fp": {"yes_dollars": wire(yes),
                                                                             "no_dollars": wire(no)}})
    if no:
        assert book.best_yes_ask == 1 - dollars_from_cents(max(p for p, _ in no))
    else:
        assert book.best_yes_ask is None
    if yes:
        assert book.best_no_ask + book.best_yes_bid == 1
    assert sum(lv.count for lv in book.yes) == sum(D(q).scaleb(-2) for _, q in yes)
