"""Realized P&L at settlement from ops.fills + ops.settlements (both engines)."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from daemon.settlement.ledger import SettlementError, pnl_for_position, realized_pnl, yes_value
from daemon.trading.order_store import FillRecord, OrderStore

D = Decimal
TICKER = "KXHIGHNY-26JAN15-B40.5"
DAY = date(2026, 1, 15)


def fill(side: str, action: str, count: str, price: str, fee: str = "0", n: int = 0) -> dict:
    return {
        "exchange_fill_id": f"f{n}",
        "side": side,
        "action": action,
        "count": D(count),
        "price": D(price),
        "fee": D(fee),
        "city_code": "NYC",
        "climate_day": DAY,
    }


@pytest.mark.parametrize(
    "fills,result,expected",
    [
        ([fill("yes", "buy", "10", "0.40", "0.17")], "yes", D("5.83")),  # 10 × (1 − 0.40) − fee
        ([fill("yes", "buy", "10", "0.40", "0.17")], "no", D("-4.17")),
        ([fill("no", "buy", "10", "0.55", "0.18")], "no", D("4.32")),  # 10 × (1 − 0.55) − fee
        ([fill("no", "buy", "10", "0.55", "0.18")], "yes", D("-5.68")),
        # closed before settlement: buy YES 0.40, sell YES 0.48 → +0.80 whatever the result
        (
            [fill("yes", "buy", "10", "0.40"), fill("yes", "sell", "10", "0.48", n=1)],
            "no",
            D("0.80"),
        ),
        # YES closed by buying NO at 0.55 (= selling YES at 0.45)
        ([fill("yes", "buy", "1", "0.40"), fill("no", "buy", "1", "0.55", n=1)], "yes", D("0.05")),
        ([], "yes", D("0")),
    ],
)
def test_pnl_for_position(fills, result, expected):
    assert pnl_for_position(TICKER, fills, result).realized_pnl == expected


def test_scalar_and_void():
    assert yes_value("scalar", 37) == D("0.37")
    pnl = pnl_for_position(TICKER, [fill("yes", "buy", "2", "0.30")], "scalar", 50)
    assert pnl.realized_pnl == D("0.40")
    for bad in [("void", None), ("scalar", None), ("scalar", 150), ("", None), ("scalar", "NaN")]:
        with pytest.raises(SettlementError):
            yes_value(*bad)
    with pytest.raises(SettlementError):
        pnl_for_position(TICKER, [fill("maybe", "buy", "1", "0.5")], "yes")


def test_cross_check_against_exchange_row():
    fills = [fill("no", "buy", "3", "0.70")]
    ok = pnl_for_position(
        TICKER, fills, "no", settlement={"revenue": D("3"), "yes_count": D(0), "no_count": D(3)}
    )
    assert ok.mismatches == () and ok.payout == D("3") and ok.position == D(-3)
    bad = pnl_for_position(
        TICKER, fills, "no", settlement={"revenue": D("2"), "yes_count": D(0), "no_count": D(2)}
    )
    assert len(bad.mismatches) == 2


def _store_fill(
    store: OrderStore,
    clock,
    n: int,
    side: str,
    action: str,
    count: str,
    price: str,
    fee: str,
    ticker: str = TICKER,
) -> None:
    store.insert_fill(
        FillRecord(
            f"fill-{n}",
            "ord-1",
            None,
            ticker,
            "NYC",
            DAY,
            side,
            action,
            D(count),
            D(price),
            True,
            D(fee),
            clock.now(),
        )
    )


def _settle(
    store: OrderStore, ticker: str, result: str, yes: str, no: str, revenue: str, at
) -> None:
    store.insert_settlement(
        {
            "ticker": ticker,
            "event_ticker": "KXHIGHNY-26JAN15",
            "city_code": "NYC",
            "climate_day": DAY,
            "market_result": result,
            "settled_value": None,
            "yes_count": D(yes),
            "no_count": D(no),
            "revenue": D(revenue),
            "settled_at": at,
            "payload": {"ticker": ticker, "market_result": result},
        }
    )


def test_realized_pnl_from_the_ledger(db, clock):
    store = OrderStore(db, clock)
    _store_fill(store, clock, 1, "yes", "buy", "10", "0.40", "0.17")
    _store_fill(store, clock, 2, "yes", "sell", "4", "0.50", "0.07")
    _store_fill(store, clock, 3, "no", "buy", "5", "0.20", "0.06", ticker="KXHIGHNY-26JAN15-T44")
    before = clock.now()
    clock.advance(timedelta(hours=20))
    _settle(store, TICKER, "yes", "6", "0", "6", clock.now())
    _settle(store, "KXHIGHNY-26JAN15-T44", "no", "0", "5", "5", clock.now())
    _settle(
        store, "KXHIGHNY-26JAN15-T37", "no", "0", "0", "0", clock.now()
    )  # never traded: skipped
    rows = {r.ticker: r for r in realized_pnl(db)}
    assert set(rows) == {TICKER, "KXHIGHNY-26JAN15-T44"}
    # −4.00 + 2.00 + 6 × 1 − 0.24
    assert rows[TICKER].realized_pnl == D("3.76") and rows[TICKER].mismatches == ()
    assert rows["KXHIGHNY-26JAN15-T44"].realized_pnl == D("3.94")  # 5 × 0.80 − 0.06
    assert rows[TICKER].city_code == "NYC" and rows[TICKER].climate_day == DAY
    assert realized_pnl(db, as_of=before) == []  # nothing was settled yet at that time


def test_scalar_settlement_valued_from_the_stored_payload(db, clock):
    """The payload reconcile stores is the dumped Settlement model: its per-contract value is `value_cents`."""
    from daemon.exchange.models import Settlement
    from daemon.trading.exchange_facts import settlement_from

    store = OrderStore(db, clock)
    _store_fill(store, clock, 1, "yes", "buy", "10", "0.40", "0.17")
    wire = {"ticker": TICKER, "event_ticker": "KXHIGHNY-26JAN15", "market_result": "scalar", "yes_count_fp": "10.00",
            "no_count_fp": "0.00", "revenue": 370, "value": 37, "settled_time": clock.now().isoformat()}
    raw = settlement_from(Settlement.model_validate(wire)).raw
    assert raw.get("value_cents") == 37 and "value" not in raw
    store.insert_settlement({
        "ticker": TICKER, "event_ticker": "KXHIGHNY-26JAN15", "city_code": "NYC", "climate_day": DAY,
        "market_result": "scalar", "settled_value": None, "yes_count": D(10), "no_count": D(0),
        "revenue": D("3.70"), "settled_at": clock.now(), "payload": raw,
    })
    [row] = realized_pnl(db)
    assert row.realized_pnl == D("-0.47") and row.mismatches == ()  # 10 × (0.37 − 0.40) − 0.17
