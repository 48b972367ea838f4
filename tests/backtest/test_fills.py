"""Fill rules on hand-made tapes: strict vs touch vs volume:N, the size cap, sweeps, and no look-ahead."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from daemon.backtest.exchange import TapeExchange, check_consistency
from daemon.backtest.fills import FillRule, FillRuleError, Strict, Touch, Volume, parse_fill_rule
from daemon.backtest.tape import Tape
from daemon.clock import SimulatedClock

sys.path.insert(0, str(Path(__file__).parent))
from _tape_kit import T0, T, market_row, request, write_tape

M = "KXHIGHNY-25JAN10-B33.5"
# Last trade before T0: a YES taker at 30 ¢. Our YES ask at 40 ¢ (a NO buy at 0.60) rests from T0.
LATER = [T(10, 40, 5), T(20, 41, 3), T(30, 45, 20)]


def _exchange(tmp_path: Path, trades: list[T], rule: FillRule) -> tuple[TapeExchange, SimulatedClock]:
    tape = Tape.load(write_tape(tmp_path, [market_row(M)], [T(-100, 30), *trades]))
    clock = SimulatedClock(T0)
    return TapeExchange(tape, clock, fill_rule=rule), clock


def _filled_after(tmp_path: Path, rule: FillRule, trades: list[T] = LATER, side: str = "no",
                  price: str = "0.60") -> list[Decimal]:
    exchange, clock = _exchange(tmp_path, trades, rule)
    outcome = exchange.create_order(request(M, side, price, 10, "c1"))
    assert outcome.accepted and outcome.order.fill_count == 0 and outcome.order.status == "resting"
    seen = []
    for seconds in (5, 15, 25, 35):
        clock.set(T0 + timedelta(seconds=seconds))
        seen.append(exchange.get_order(outcome.order.order_id).fill_count)
    assert check_consistency(exchange) == []
    return seen


def test_parse_fill_rules() -> None:
    assert parse_fill_rule("strict") == Strict() and parse_fill_rule(" Touch ") == Touch()
    assert parse_fill_rule("volume:25") == Volume(25)
    assert parse_fill_rule("strict:nocap") == Strict(cap_to_printed=False)
    assert [parse_fill_rule(s).name for s in ("strict", "touch", "volume:3", "volume:3:nocap")] == [
        "strict", "touch", "volume:3", "volume:3:nocap"]
    for bad in ("", "strictly", "volume", "volume:0", "volume:-1", "volume:x", "touch:7"):
        with pytest.raises(FillRuleError):
            parse_fill_rule(bad)


def test_strict_needs_a_print_through_and_is_capped_by_what_printed(tmp_path: Path) -> None:
    assert _filled_after(tmp_path, Strict()) == [0, 0, 3, 10]


def test_touch_counts_a_print_at_our_price(tmp_path: Path) -> None:
    assert _filled_after(tmp_path, Touch()) == [0, 5, 8, 10]


def test_volume_waits_for_n_contracts_printed_through(tmp_path: Path) -> None:
    assert _filled_after(tmp_path / "a", Volume(10)) == [0, 0, 0, 10]
    assert _filled_after(tmp_path / "b", Volume(3)) == [0, 0, 3, 10]
    assert _filled_after(tmp_path / "c", Volume(30)) == [0, 0, 0, 0]


def test_uncapped_fills_the_whole_order_at_the_first_print_through(tmp_path: Path) -> None:
    assert _filled_after(tmp_path, Strict(cap_to_printed=False)) == [0, 0, 10, 10]


def test_resting_yes_bids_fill_on_prints_below_them(tmp_path: Path) -> None:
    trades = [T(10, 20, 4, "no"), T(20, 19, 2, "no"), T(30, 15, 50, "no")]
    # A YES bid at 20 ¢, 10 contracts; the last trade was at 30 so it does not cross the modelled book.
    assert _filled_after(tmp_path / "s", Strict(), trades, side="yes", price="0.20") == [0, 0, 2, 10]
    assert _filled_after(tmp_path / "t", Touch(), trades, side="yes", price="0.20") == [0, 4, 6, 10]


def test_one_print_fills_our_orders_at_most_once_in_total(tmp_path: Path) -> None:
    exchange, clock = _exchange(tmp_path, [T(10, 50, 12)], Strict())
    first = exchange.create_order(request(M, "no", "0.60", 10, "a"))    # YES ask at 40: first in price priority
    second = exchange.create_order(request(M, "no", "0.58", 10, "b"))   # YES ask at 42
    clock.set(T0 + timedelta(seconds=11))
    assert exchange.get_order(first.order.order_id).fill_count == 10
    assert exchange.get_order(second.order.order_id).fill_count == 2
    assert check_consistency(exchange) == []


def test_a_same_timestamp_sweep_is_each_of_its_prints(tmp_path: Path) -> None:
    sweep = [T(10, 39, 4), T(10, 41, 3), T(10, 43, 5)]      # one YES sweep through 39, 41, 43
    assert _filled_after(tmp_path / "s", Strict(), sweep) == [0, 8, 8, 8]
    assert _filled_after(tmp_path / "t", Touch(), sweep) == [0, 8, 8, 8]
    assert _filled_after(tmp_path / "v", Volume(9), sweep) == [0, 0, 0, 0]


def test_only_trades_after_the_order_fill_it(tmp_path: Path) -> None:
    # A NO taker prints 100 contracts at 20 ¢ at T0 − 10 s: it fills a YES bid at 22 placed before it, never one
    # placed after it.
    tape = Tape.load(write_tape(tmp_path, [market_row(M)], [T(-100, 30), T(-10, 20, 100, "no")]))
    clock = SimulatedClock(T0 - timedelta(seconds=20))
    exchange = TapeExchange(tape, clock)
    before = exchange.create_order(request(M, "yes", "0.22", 10, "before"))
    clock.set(T0)
    after = exchange.create_order(request(M, "yes", "0.22", 10, "after"))
    assert (before.order.status, after.order.status, after.order.fill_count) == ("resting", "resting", 0)
    clock.set(T0 + timedelta(hours=1))
    assert exchange.get_order(before.order.order_id).fill_count == 10
    assert exchange.get_order(after.order.order_id).fill_count == 0
    fill = next(exchange.iter_fills(order_id=before.order.order_id))
    assert fill.created_time == T0 - timedelta(seconds=10)
    assert fill.is_taker is False and fill.yes_price == Decimal("0.22")


def test_a_trade_planted_one_microsecond_later_changes_nothing_now(tmp_path: Path) -> None:
    def run(root: Path, extra: list[T]) -> tuple[list, list]:
        tape = Tape.load(write_tape(root, [market_row(M)], [T(-100, 30), *extra]))
        clock = SimulatedClock(T0 - timedelta(seconds=1))
        exchange = TapeExchange(tape, clock, fill_rule=Touch())
        placed = exchange.create_order(request(M, "no", "0.60", 10, "p"))
        clock.set(T0)
        views = [exchange.discover_events(["KXHIGHNY"]), exchange.get_orderbooks([M]),
                 exchange.get_order(placed.order.order_id), exchange.get_balance(), list(exchange.iter_fills()),
                 list(exchange.iter_positions())]
        dumped = [repr(v) for v in views]
        clock.set(T0 + timedelta(microseconds=2))
        return dumped, [exchange.get_order(placed.order.order_id).fill_count]

    now_a, later_a = run(tmp_path / "a", [])
    now_b, later_b = run(tmp_path / "b", [T(T0 + timedelta(microseconds=1), 90, 500)])
    assert now_a == now_b
    assert later_a == [0] and later_b == [10]        # and it does fill us once it is in the past


def test_orders_stop_at_close_and_nothing_after_fills_them(tmp_path: Path) -> None:
    from _tape_kit import CLOSE

    exchange, clock = _exchange(tmp_path, [T(CLOSE - timedelta(seconds=1), 45, 4)], Strict())
    placed = exchange.create_order(request(M, "no", "0.60", 10, "c"))
    clock.set(CLOSE + timedelta(hours=1))
    order = exchange.get_order(placed.order.order_id)
    assert (order.status, order.fill_count, order.remaining_count) == ("canceled", 4, 0)
    assert list(exchange.iter_orders(status="resting")) == []
    assert exchange.account.reserved == 0 and check_consistency(exchange) == []
