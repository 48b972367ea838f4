"""The recorded tape: its traps handled, point-in-time look-ups by the study's rule, filters, bad input."""

from __future__ import annotations

import dataclasses
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.backtest.tape import RecordedResult, Tape, TapeError, TapeMarket, strikes_from_subtitle

sys.path.insert(0, str(Path(__file__).parent))
from _tape_kit import CLOSE, T0, T, market_row, shared_data, write_tape

M = "KXHIGHNY-25JAN10-B33.5"


@pytest.fixture(scope="module")
def real_tape() -> Tape:
    started = time.perf_counter()
    tape = Tape.load(shared_data())
    print(f"\nloaded {shared_data()} in {time.perf_counter() - started:.2f} s: {tape.stats}")
    return tape


def test_real_data_loads_with_its_traps_handled(real_tape: Tape) -> None:
    stats = real_tape.stats
    assert (stats.markets, stats.events) == (5334, 889)
    # Trades of the legacy period without a market row (2023-12-24 … 2024-08-15) are not part of any market.
    assert stats.dropped_unknown_ticker == 91_077 and stats.trades == 995_337
    assert stats.dropped_outside_hours == 0
    assert stats.strikes_from_subtitle == 125
    # Legacy-ticker events (before 2024-10-24) belong to their KX series and keep their trades.
    legacy = next(m for m in real_tape.markets.values() if m.ticker.startswith("HIGHNY-24AUG16"))
    assert legacy.series_ticker == "KXHIGHNY" and len(real_tape.trades(legacy.ticker)) > 0
    assert sorted(real_tape.series) == ["KXHIGHAUS", "KXHIGHCHI", "KXHIGHDEN", "KXHIGHMIA", "KXHIGHNY"]


def test_no_field_captured_after_settlement_is_kept(real_tape: Tape) -> None:
    names = {f.name for f in dataclasses.fields(TapeMarket)}
    for leaked in ("yes_bid", "yes_ask", "no_bid", "no_ask", "last_price", "volume", "open_interest", "result",
                   "status", "expiration_value", "settlement_value", "liquidity"):
        assert leaked not in names
    assert not hasattr(next(iter(real_tape.markets.values())), "result")


def test_strikes_parsed_from_subtitles_agree_with_recorded_strikes(real_tape: Tape) -> None:
    checked = 0
    for m in real_tape.markets.values():
        if m.strikes_from_subtitle or not m.subtitle:
            continue
        assert strikes_from_subtitle(m.subtitle) == (m.strike_type, m.floor_strike, m.cap_strike), m.ticker
        checked += 1
    assert checked > 4500           # the rest have an empty subtitle and recorded strikes
    parsed = [m for m in real_tape.markets.values() if m.strikes_from_subtitle]
    assert len(parsed) == 125 and all(m.strike_type in ("between", "less", "greater") for m in parsed)
    austin = real_tape.markets["KXHIGHAUS-25JAN20-T35"]
    assert (austin.strike_type, austin.cap_strike, austin.wins(34), austin.wins(35)) == ("less", 35, True, False)


def test_close_time_is_the_recorded_one_not_the_climate_day(real_tape: Tape) -> None:
    chicago = next(iter(real_tape.markets_between(date(2025, 1, 10), date(2025, 1, 10), ["KXHIGHCHI"])))
    # 23:59 Eastern (04:59Z in January), an hour before Chicago's own midnight.
    assert chicago.close_time == datetime(2025, 1, 11, 4, 59, tzinfo=UTC)
    denver = next(iter(real_tape.markets_between(date(2025, 1, 10), date(2025, 1, 10), ["KXHIGHDEN"])))
    assert denver.close_time == datetime(2025, 1, 11, 6, 59, tzinfo=UTC)


def test_results_and_settlement_known_time(real_tape: Tape) -> None:
    assert not real_tape.stats.events_without_result
    for event, markets in real_tape.events.items():
        assert sum(real_tape.results[m.ticker].result == "yes" for m in markets) == 1, event
    m = real_tape.markets["KXHIGHAUS-25JAN20-T35"]
    recorded = real_tape.results[m.ticker]
    assert recorded.result == "yes"
    assert recorded.settles_at == datetime(2025, 1, 21, 16, 0, tzinfo=UTC)   # expected expiration + 1 h timer
    assert all(real_tape.results[t].settles_at > mk.close_time for t, mk in real_tape.markets.items())


def test_filters_by_climate_day_and_series(real_tape: Tape, tmp_path: Path) -> None:
    tape = Tape.load(shared_data(), start=date(2025, 1, 1), end=date(2025, 1, 31), series=["kxhighny"])
    assert {m.series_ticker for m in tape.markets.values()} == {"KXHIGHNY"}
    assert min(m.climate_day for m in tape.markets.values()) == date(2025, 1, 1)
    assert max(m.climate_day for m in tape.markets.values()) == date(2025, 1, 31)
    assert len(tape.events) == 31
    some = next(iter(tape.markets))
    assert len(tape.trades(some)) == len(real_tape.trades(some))
    assert [m.ticker for m in real_tape.markets_between(date(2025, 1, 1), date(2025, 1, 31), ["KXHIGHNY"])] \
        == list(tape.markets)
    by_city = Tape.load(shared_data(), start=date(2024, 10, 20), end=date(2024, 10, 27), cities=["nyc", "MIA"])
    assert {m.series_ticker for m in by_city.markets.values()} == {"KXHIGHNY", "KXHIGHMIA"}
    assert any(t.startswith("HIGHNY-24OCT20") for t in by_city.markets)          # legacy tickers kept
    assert len(by_city.events) == 16
    with pytest.raises(TapeError, match="unknown city"):
        Tape.load(shared_data(), cities=["XYZ"])


def test_last_trade_uses_created_before_and_the_deepest_level_of_a_sweep(tmp_path: Path) -> None:
    root = write_tape(tmp_path, [market_row(M)], [
        T(-300, 20),
        T(-100, 31), T(-100, 33), T(-100, 32),                          # one YES sweep: deepest = 33
        T(-50, 28, taker="no"), T(-50, 26, taker="no"), T(-50, 27, taker="no"),   # a NO sweep: deepest = 26
        T(0, 90),                                                         # exactly at t: not before t
    ])
    tape = Tape.load(root)
    assert tape.last_trade_before(M, T0 - timedelta(seconds=301)) is None
    assert tape.last_trade_before(M, T0 - timedelta(seconds=100)).price_cents == 20
    assert tape.last_trade_before(M, T0 - timedelta(seconds=99)).price_cents == 33
    last = tape.last_trade_before(M, T0)
    assert (last.price_cents, last.taker_yes) == (26, False)
    assert tape.last_trade_before(M, T0 + timedelta(microseconds=1)).price_cents == 90
    assert tape.volume_before(M, T0) == 70


def test_trades_outside_market_hours_and_unknown_tickers_are_dropped(tmp_path: Path) -> None:
    root = write_tape(tmp_path, [market_row(M)], [
        T(-60, 30), T(CLOSE, 50), T(CLOSE + timedelta(hours=1), 60), T(-30, 40, ticker="HIGHNY-23DEC25-B40.5")])
    tape = Tape.load(root)
    assert len(tape.trades(M)) == 1
    assert (tape.stats.dropped_unknown_ticker, tape.stats.dropped_outside_hours) == (1, 2)


def test_an_event_without_a_result_never_gets_one(tmp_path: Path) -> None:
    rows = [market_row(M, result=""), market_row("KXHIGHNY-25JAN10-B35.5", result="", subtitle="35° to 36°",
                                                 floor=35.0, cap=36.0)]
    tape = Tape.load(write_tape(tmp_path, rows, [T(-60, 30)]))
    assert tape.stats.events_without_result == ["KXHIGHNY-25JAN10"]
    assert tape.results[M] == RecordedResult(None, tape.results[M].settles_at, "34.00")


def test_a_result_contradicting_the_settlements_file_is_refused(tmp_path: Path) -> None:
    rows = [market_row(M, result="yes"), market_row("KXHIGHNY-25JAN10-B35.5", subtitle="35° to 36°",
                                                    floor=35.0, cap=36.0)]
    root = write_tape(tmp_path, rows, [], settlements=[
        {"series_ticker": "KXHIGHNY", "event_ticker": "KXHIGHNY-25JAN10", "winning_ticker": "KXHIGHNY-25JAN10-B35.5"}])
    with pytest.raises(TapeError, match="contradicts"):
        Tape.load(root)


def test_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    (tmp_path / "kalshi").mkdir()
    with pytest.raises(TapeError, match="kxhigh_markets.parquet: missing"):
        Tape.load(tmp_path)


def test_subtitle_brackets() -> None:
    assert strikes_from_subtitle("61° to 62°") == ("between", 61, 62)
    assert strikes_from_subtitle("34° or below") == ("less", None, 35)
    assert strikes_from_subtitle("-2° or below") == ("less", None, -1)
    assert strikes_from_subtitle("41° or above") == ("greater", 40, None)
    assert strikes_from_subtitle("") is None and strikes_from_subtitle("rain") is None
