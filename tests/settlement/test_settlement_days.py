"""Event climate day from the ticker; its UTC window is the LST day all year."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from daemon.settlement.days import TickerDateError, event_climate_day, event_window


@pytest.mark.parametrize(
    "ticker,day",
    [
        ("KXHIGHNY-26JAN15", date(2026, 1, 15)),
        ("KXHIGHNY-26SEP23-B84.5", date(2026, 9, 23)),
        ("HIGHNY-24AUG15-T83", date(2024, 8, 15)),
        ("kxhightsea-26sep25-t64", date(2026, 9, 25)),
    ],
)
def test_event_climate_day(ticker, day):
    assert event_climate_day(ticker) == day


@pytest.mark.parametrize("ticker", ["KXHIGHNY", "KXHIGHNY-26FOO15", "KXHIGHNY-26FEB30", ""])
def test_bad_tickers(ticker):
    with pytest.raises(TickerDateError):
        event_climate_day(ticker)


def test_window_is_lst_in_summer_and_winter(registry):
    nyc, sea = registry.get("NYC"), registry.get("SEA")
    assert event_window("KXHIGHNY-26JUL10", nyc) == (
        datetime(2026, 7, 10, 5, tzinfo=UTC),
        datetime(2026, 7, 11, 5, tzinfo=UTC),
    )
    assert event_window("KXHIGHNY-26JAN15", nyc)[0] == datetime(2026, 1, 15, 5, tzinfo=UTC)
    assert event_window("KXHIGHTSEA-26SEP25-T64", sea)[1] == datetime(2026, 9, 26, 8, tzinfo=UTC)
