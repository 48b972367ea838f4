"""TapeExchange behind the client's interface: taker fills and fees, money, settlement, refusals like the
simulator's, point-in-time market data, and the real order manager and reconciler running against it."""

from __future__ import annotations

import sys
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from daemon.backtest.exchange import TapeExchange, check_consistency
from daemon.backtest.fills import Strict
from daemon.backtest.tape import Tape
from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.economics.fees import order_taker_fee, taker_fee
from daemon.exchange.errors import DuplicateOrderError, NotFoundError, RejectedError
from daemon.exchange.models import Market, OrderBook
from daemon.ledger.db import Database
from daemon.trading.intents import Intent, make_intent_key
from daemon.trading.oms import OrderManager

sys.path.insert(0, str(Path(__file__).parent))
from _tape_kit import CLOSE, DAY, OPEN, T0, T, market_row, request, write_tape

M = "KXHIGHNY-25JAN10-B33.5"
N = "KXHIGHNY-25JAN10-B35.5"


def _tape(tmp_path: Path, trades: list[T] | None = None, **row: object) -> Tape:
    rows = [market_row(M, **row), market_row(N, result="yes", subtitle="35° to 36°", floor=35.0, cap=36.0)]
    return Tape.load(write_tape(tmp_path, rows, [T(-100, 30), T(-90, 60, ticker=N), *(trades or [])]))


def _exchange(tmp_path: Path, trades: list[T] | None = None, **kw: object) -> tuple[TapeExchange, SimulatedClock]:
    clock = SimulatedClock(T0)
    return TapeExchange(_tape(tmp_path, trades), clock, **kw), clock


def test_the_one_fee_function_rounds_per_order() -> None:
    assert order_taker_fee([(Decimal(10), Decimal("0.30"))]) == taker_fee(Decimal(10), Decimal("0.30"))
    # 0.07 × (30 × 0.21 + 10 × 0.2139) = 0.59073 → 0.60 once, not 0.45 + 0.15 per fill
    assert order_taker_fee([(Decimal(30), Decimal("0.30")), (Decimal(10), Decimal("0.31"))]) == Decimal("0.60")


def test_a_crossing_order_takes_at_the_modelled_far_side_capped_by_depth(tmp_path: Path) -> None:
    exchange, _ = _exchange(tmp_path)
    # Last trade: a YES taker at 30 ¢ → YES ask 30 ¢ (then 31, 32), 30 contracts a level.
    book = exchange.get_orderbooks([M])[0]
    assert (book.best_yes_ask, book.best_yes_bid) == (Decimal("0.30"), Decimal("0.26"))
    outcome = exchange.create_order(request(M, "yes", "0.35", 40, "take"))
    order = outcome.order
    assert outcome.accepted and (order.status, order.fill_count, order.remaining_count) == ("executed", 40, 0)
    fills = sorted(exchange.iter_fills(), key=lambda f: f.yes_price)
    assert [(f.yes_price, f.count, f.is_taker) for f in fills] == [
        (Decimal("0.30"), 30, True), (Decimal("0.31"), 10, True)]
    assert sum(f.fee for f in fills) == Decimal("0.60") == exchange.get_order(order.order_id).taker_fees
    cost = Decimal(30) * Decimal("0.30") + Decimal(10) * Decimal("0.31") + Decimal("0.60")
    assert exchange.get_balance().balance == Decimal(1000) - cost
    # The depth we took stays taken until the next recorded trade: a second buy finds 31 ¢ (20 left) then 32 ¢.
    again = exchange.create_order(request(M, "yes", "0.35", 30, "again"))
    assert sorted((f.yes_price, f.count) for f in exchange.iter_fills(order_id=again.order.order_id)) == [
        (Decimal("0.31"), 20), (Decimal("0.32"), 10)]
    assert check_consistency(exchange) == []


def test_a_taker_never_pays_beyond_its_limit_and_the_rest_rests_or_is_cancelled(tmp_path: Path) -> None:
    exchange, _ = _exchange(tmp_path)
    rest = exchange.create_order(request(M, "yes", "0.30", 50, "gtc"))
    assert (rest.order.fill_count, rest.order.remaining_count, rest.order.status) == (30, 20, "resting")
    assert all(f.yes_price == Decimal("0.30") for f in exchange.iter_fills())
    book = exchange.get_orderbooks([M])[0]
    assert book.best_yes_bid == Decimal("0.30") and book.yes[-1].count == 20     # our resting rest, shown
    assert book.best_yes_ask == Decimal("0.31")
    # A YES ask at 25 ¢ would first meet our own 30 ¢ bid: self-trade prevention cancels the taker.
    stp = exchange.create_order(request(M, "no", "0.75", 50, "stp", tif="ioc"))
    assert (stp.order.status, stp.order.fill_count) == ("canceled", 0)
    exchange.cancel_order(rest.order.order_id)
    ioc = exchange.create_order(request(M, "no", "0.75", 50, "ioc", tif="ioc"))   # hits the modelled 26, 25
    fills = sorted((f.yes_price, f.count) for f in exchange.iter_fills(order_id=ioc.order.order_id))
    assert fills == [(Decimal("0.25"), 20), (Decimal("0.26"), 30)]
    assert (ioc.order.status, ioc.order.fill_count) == ("executed", 50)
    left = exchange.create_order(request(M, "no", "0.75", 50, "left", tif="ioc"))  # 10 left at 25 ¢, then none
    assert (left.order.status, left.order.fill_count, left.order.remaining_count) == ("canceled", 10, 0)
    assert check_consistency(exchange) == []


def test_buying_no_then_yes_nets_to_one_dollar(tmp_path: Path) -> None:
    exchange, _ = _exchange(tmp_path)
    exchange.create_order(request(M, "no", "0.74", 10, "no10"))              # sells YES into the 26 ¢ bid
    exchange.create_order(request(M, "yes", "0.30", 4, "yes4"))              # buys YES at the 30 ¢ ask
    positions = {p.ticker: p for p in exchange.iter_positions()}
    assert positions[M].position == -6
    fees = taker_fee(Decimal(10), Decimal("0.26")) + taker_fee(Decimal(4), Decimal("0.30"))
    # 10 NO at 0.74, 4 YES at 0.30; 4 pairs redeem for $1 each.
    assert exchange.account.cash == Decimal(1000) - Decimal("7.40") - Decimal("1.20") + 4 - fees
    assert check_consistency(exchange) == []


def test_settlement_credits_the_winning_side_at_the_known_time(tmp_path: Path) -> None:
    exchange, clock = _exchange(tmp_path)
    exchange.create_order(request(M, "no", "0.74", 10, "no-m"))               # M settles NO: we win $10
    exchange.create_order(request(N, "no", "0.46", 10, "no-n"))               # N settles YES: we lose
    settles = exchange.tape.results[M].settles_at
    clock.set(CLOSE + timedelta(minutes=1))
    assert list(exchange.iter_settlements()) == [] and exchange.get_market(M).status == "closed"
    assert exchange.get_market(M).result is None                              # not known before settles_at
    clock.set(settles - timedelta(microseconds=1))
    assert list(exchange.iter_settlements()) == []
    before = exchange.account.cash
    clock.set(settles)
    settled = {s.ticker: s for s in exchange.iter_settlements()}
    assert (settled[M].market_result, settled[M].no_count, settled[M].revenue_cents) == ("no", 10, 1000)
    assert (settled[N].market_result, settled[N].no_count, settled[N].revenue_cents) == ("yes", 10, 0)
    assert exchange.account.cash == before + 10
    assert list(exchange.iter_positions()) == []
    assert exchange.get_market(M).status == "finalized" and exchange.get_market(M).result == "no"
    assert check_consistency(exchange) == []


def test_a_market_without_a_recorded_result_never_settles(tmp_path: Path) -> None:
    rows = [market_row(M, result="")]
    tape = Tape.load(write_tape(tmp_path, rows, [T(-100, 30)]))
    clock = SimulatedClock(T0)
    exchange = TapeExchange(tape, clock)
    exchange.create_order(request(M, "no", "0.74", 10, "x"))
    clock.set(CLOSE + timedelta(days=30))
    assert list(exchange.iter_settlements()) == [] and exchange.unsettled() == [M]
    assert [p.position for p in exchange.iter_positions()] == [-10]
    assert exchange.get_market(M).status == "closed"


def test_a_duplicate_client_order_id_resolves_like_the_client_against_the_simulator(tmp_path: Path) -> None:
    sys.path.insert(0, str(Path(__file__).parents[1] / "trading"))
    from _oms_kit import active_tickers, running_sim

    exchange, _ = _exchange(tmp_path)
    first = exchange.create_order(request(M, "yes", "0.10", 5, "dup"))
    again = exchange.create_order(request(M, "yes", "0.12", 7, "dup"))
    clock = SimulatedClock(T0.replace(year=2026))
    (tmp_path / "sim").mkdir()
    with running_sim(clock, tmp_path / "sim") as sim, sim.client(clock) as client:
        ticker = active_tickers(sim, clock)[0]
        sim_first = client.create_order(request(ticker, "yes", "0.01", 5, "dup"))
        sim_again = client.create_order(request(ticker, "yes", "0.02", 7, "dup"))
    for ours, theirs in ((first, sim_first), (again, sim_again)):
        assert (ours.status, ours.duplicate, type(ours.error), getattr(ours.error, "code", None),
                getattr(ours.error, "http_status", None)) == (
            theirs.status, theirs.duplicate, type(theirs.error), getattr(theirs.error, "code", None),
            getattr(theirs.error, "http_status", None))
    assert isinstance(again.error, DuplicateOrderError) and again.order.order_id == first.order.order_id
    assert len(list(exchange.iter_orders())) == 1 and again.order.initial_count == 5


def test_refusals(tmp_path: Path) -> None:
    exchange, clock = _exchange(tmp_path, balance_cents=500)
    poor = exchange.create_order(request(M, "yes", "0.10", 100, "poor"))     # $10 + fee > $5
    assert poor.rejected and isinstance(poor.error, RejectedError) and poor.error.code == "available_balance_too_low"
    unknown = exchange.create_order(request("KXHIGHNY-25JAN10-B99.5", "yes", "0.10", 1, "nope"))
    assert unknown.rejected and unknown.error.http_status == 404
    clock.set(CLOSE)
    closed = exchange.create_order(request(M, "yes", "0.10", 1, "late"))      # 409 → looked up → unknown
    assert closed.unknown and closed.error.code == "market_closed"
    try:
        exchange.get_order("no-such-order")
    except NotFoundError:
        pass
    else:
        raise AssertionError("get_order of an unknown id must raise NotFoundError")


def test_cancel_releases_the_reserve_and_reads_the_order_back(tmp_path: Path) -> None:
    exchange, _ = _exchange(tmp_path)
    placed = exchange.create_order(request(M, "yes", "0.20", 10, "c"))
    assert exchange.get_balance().balance == Decimal(998)                     # $2 reserved
    cancelled = exchange.cancel_order(placed.order.order_id)
    assert (cancelled.status, cancelled.remaining_count) == ("canceled", 0)
    assert exchange.get_balance().balance == Decimal(1000)
    try:
        exchange.cancel_order(placed.order.order_id)
    except NotFoundError:
        pass
    else:
        raise AssertionError("cancelling a cancelled order must raise NotFoundError")
    assert check_consistency(exchange) == []


def test_market_data_is_point_in_time_and_never_the_recorded_quotes(tmp_path: Path) -> None:
    clock = SimulatedClock(OPEN - timedelta(seconds=1))
    exchange = TapeExchange(_tape(tmp_path, [T(60, 33)]), clock)
    assert exchange.discover_events(["KXHIGHNY"]) == {"KXHIGHNY": []}
    clock.set(T0)
    events = exchange.discover_events(["KXHIGHNY"])["KXHIGHNY"]
    assert [e.event_ticker for e in events] == ["KXHIGHNY-25JAN10"]
    market = {m.ticker: m for m in events[0].markets}[M]
    assert isinstance(market, Market) and market.is_open and market.status == "active"
    # Recorded rows carry yes_bid 99 / last 99 / volume 12345 (post-settlement): never shown.
    assert (market.last_price, market.yes_bid, market.yes_ask, market.volume) == (
        Decimal("0.30"), Decimal("0.26"), Decimal("0.30"), 10)
    assert market.result is None and market.rules_primary == f"rules of {M}"
    assert (market.floor_strike, market.cap_strike, market.close_time) == (33, 34, CLOSE)
    clock.set(T0 + timedelta(seconds=61))
    market = exchange.get_market(M)
    assert (market.last_price, market.volume) == (Decimal("0.33"), 20)
    clock.set(CLOSE)
    assert exchange.discover_events(["KXHIGHNY"]) == {"KXHIGHNY": []}
    book = exchange.get_orderbooks([M])[0]
    assert isinstance(book, OrderBook) and book.is_empty


def test_no_trade_yet_means_no_book(tmp_path: Path) -> None:
    tape = Tape.load(write_tape(tmp_path, [market_row(M)], [T(60, 30)]))
    exchange = TapeExchange(tape, SimulatedClock(T0))
    assert exchange.get_orderbooks([M])[0].is_empty and exchange.get_market(M).last_price is None
    rests = exchange.create_order(request(M, "yes", "0.99", 1, "any"))
    assert rests.order.status == "resting" and rests.order.fill_count == 0


def test_the_replay_is_deterministic(tmp_path: Path) -> None:
    def run(root: Path) -> list[str]:
        exchange, clock = _exchange(root, [T(10, 45, 4), T(20, 50, 30), T(25, 20, 9, "no")], fill_rule=Strict())
        exchange.create_order(request(M, "no", "0.60", 10, "a"))
        exchange.create_order(request(M, "yes", "0.22", 10, "b"))
        exchange.create_order(request(N, "yes", "0.70", 5, "c"))
        clock.set(CLOSE + timedelta(days=1))
        return [repr(x) for x in (*exchange.iter_fills(), *exchange.iter_orders(), *exchange.iter_settlements(),
                                  exchange.get_balance())]

    assert run(tmp_path / "a") == run(tmp_path / "b")


def test_the_order_manager_and_reconciler_run_against_it(duckdb_db: Database, tmp_path: Path) -> None:
    exchange, clock = _exchange(tmp_path, [T(120, 45, 6), T(180, 50, 30)])
    oms = OrderManager(duckdb_db, exchange, clock, registry=default_registry())
    assert oms.reconcile().ok
    key = make_intent_key(M, "no", "buy", DAY, "entry")
    intent = Intent(intent_key=key, ticker=M, city_code="NYC", climate_day=DAY, side="no", action="buy",
                    count=Decimal(10), limit_price=Decimal("0.60"))
    result = oms.submit(intent)
    assert result.status == "placed" and result.order_state == "resting"
    clock.set(T0 + timedelta(seconds=150))
    oms.refresh()
    report = oms.reconcile()
    assert report.ok, report.unexplained
    row = duckdb_db.query_one("SELECT state, filled_count FROM ops.orders WHERE intent_key = ?", (key,))
    assert (row["state"], Decimal(row["filled_count"])) == ("partial", 6)
    clock.set(T0 + timedelta(seconds=200))
    assert oms.reconcile().ok
    clock.set(exchange.tape.results[M].settles_at + timedelta(minutes=1))
    report = oms.reconcile()
    assert report.ok and report.settlements_ingested == 1, report.to_dict()
    fills = duckdb_db.query("SELECT count, price, fee FROM ops.fills ORDER BY filled_at")
    assert [(Decimal(f["count"]), Decimal(f["price"])) for f in fills] == [(6, Decimal("0.60")), (4, Decimal("0.60"))]
    settled = duckdb_db.query_one("SELECT market_result, revenue FROM ops.settlements WHERE ticker = ?", (M,))
    assert (settled["market_result"], Decimal(settled["revenue"])) == ("no", 10)
    assert check_consistency(exchange) == []


def test_the_reconciler_lists_many_orders_in_one_call_and_finds_no_discrepancy(duckdb_db: Database,
                                                                              tmp_path: Path) -> None:
    exchange, clock = _exchange(tmp_path, [T(60, 45, 3)])
    oms = OrderManager(duckdb_db, exchange, clock, registry=default_registry())
    assert oms.reconcile().ok
    for n, (ticker, price) in enumerate([(M, "0.60"), (M, "0.58"), (N, "0.20"), (N, "0.15"), (M, "0.55")]):
        key = make_intent_key(ticker, "no", "buy", DAY, f"entry{n}")
        intent = Intent(intent_key=key, ticker=ticker, city_code="NYC", climate_day=DAY, side="no", action="buy",
                        count=Decimal(5), limit_price=Decimal(price))
        assert oms.submit(intent).status == "placed"
    calls = exchange.request_count
    clock.set(T0 + timedelta(minutes=5))
    report = oms.reconcile()
    assert report.ok and report.orders_checked == 5, report.to_dict()
    assert exchange.request_count - calls < 10            # one listing, not a GET per order
    filled = duckdb_db.query("SELECT client_order_id, filled_count FROM ops.orders WHERE filled_count > 0")
    assert [Decimal(r["filled_count"]) for r in filled] == [3]
    clock.set(CLOSE + timedelta(minutes=1))
    report = oms.reconcile()
    assert report.ok
    assert {r["state"] for r in duckdb_db.query("SELECT state FROM ops.orders")} == {"canceled"}   # at close
    assert check_consistency(exchange) == []
