"""Intent keys and client order ids: deterministic, distinct per version, Kalshi-safe shape."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import date
from decimal import Decimal

import pytest

from daemon.trading.intents import (
    Intent,
    IntentError,
    book_side_and_yes_price,
    client_order_id_for,
    climate_day_from_ticker,
    event_ticker_of,
    make_intent_key,
    yes_position_delta,
)

UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$")
KEY = "KXHIGHNY-26JAN15-B40.5:yes:buy:2026-01-15:entry"


def test_client_order_id_is_deterministic_across_processes() -> None:
    here = client_order_id_for(KEY, 1)
    code = f"from daemon.trading.intents import client_order_id_for; print(client_order_id_for({KEY!r}, 1))"
    there = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert here == there
    assert UUID.match(here), here


def test_client_order_id_differs_by_version_key_and_namespace() -> None:
    ids = {
        client_order_id_for(KEY, 1),
        client_order_id_for(KEY, 2),
        client_order_id_for(KEY.replace("yes", "no"), 1),
        client_order_id_for(KEY, 1, namespace="other-ledger"),
    }
    assert len(ids) == 4
    with pytest.raises(IntentError):
        client_order_id_for(KEY, 0)


def test_intent_key_shape_and_refusals() -> None:
    key = make_intent_key("KXHIGHNY-26JAN15-B40.5", "yes", "buy", date(2026, 1, 15))
    assert key == KEY
    with pytest.raises(IntentError):
        make_intent_key("bad ticker:x", "yes", "buy", date(2026, 1, 15))


def test_intent_validates_terms() -> None:
    base = dict(intent_key=KEY, ticker="KXHIGHNY-26JAN15-B40.5", city_code="NY", climate_day=date(2026, 1, 15),
                side="yes", action="buy")
    ok = Intent(**base, count="3", limit_price="0.41")
    assert ok.count == Decimal(3) and ok.limit_price == Decimal("0.41")
    for bad in (dict(count="0", limit_price="0.4"), dict(count="1.005", limit_price="0.4"),
                dict(count="1", limit_price="1.00"), dict(count="1", limit_price="0")):
        with pytest.raises(IntentError):
            Intent(**base, **bad)
    with pytest.raises(IntentError):
        Intent(**{**base, "side": "maybe"}, count="1", limit_price="0.5")
    with pytest.raises(IntentError):
        Intent(**base, count=1.5, limit_price="0.5")  # floats refused: money and counts are exact


def test_ticker_helpers() -> None:
    assert climate_day_from_ticker("KXHIGHNY-26SEP23-B84.5") == date(2026, 9, 23)
    assert climate_day_from_ticker("KXHIGHNY-26XYZ23-B84.5") is None
    assert event_ticker_of("KXHIGHNY-26SEP23-B84.5") == "KXHIGHNY-26SEP23"


@pytest.mark.parametrize(
    ("side", "action", "price", "book", "yes_price", "delta"),
    [("yes", "buy", "0.30", "bid", "0.30", 1), ("no", "sell", "0.70", "bid", "0.30", 1),
     ("no", "buy", "0.30", "ask", "0.70", -1), ("yes", "sell", "0.70", "ask", "0.70", -1)],
)
def test_yes_book_normalisation(side: str, action: str, price: str, book: str, yes_price: str, delta: int) -> None:
    assert book_side_and_yes_price(side, action, Decimal(price)) == (book, Decimal(yes_price))
    assert yes_position_delta(side, action, Decimal(2)) == Decimal(2 * delta)
