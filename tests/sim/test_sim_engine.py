"""Matching engine, listings, accounts and settlement of the simulated exchange (no HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from sim_helpers import DAY, QUIET, START, body, bracket, cash

from daemon.cities import default_registry
from daemon.clock import SimulatedClock
from daemon.economics.fees import taker_fee
from daemon.exchange.sim import SimConfig, SimError, SimExchange
from daemon.exchange.sim.journal import SimStateError
from daemon.simulation.truth import SyntheticTruth

D = Decimal


def fills_of(exchange: SimExchange, who: str) -> list:
    return exchange.accounts[who].fills


# -- listings -------------------------------------------------------------------------------------------

def test_lists_six_bracket_markets_per_city_and_day(quiet_exchange: SimExchange) -> None:
    registry = default_registry()
    assert len(quiet_exchange.events) == 2 * len(registry)          # today + tomorrow (created 09:30Z)
    markets = quiet_exchange.list_markets_for("NYC", DAY)
    assert [m.strike_type for m in markets] == ["less", "between", "between", "between", "between", "greater"]
    # The ladder partitions the integers: tail < floor, 2 °F brackets, tail > top.
    base = markets[0].cap_strike
    assert [(m.floor_strike, m.cap_strike) for m in markets[1:5]] == [(base + i, base + i + 1) for i in (0, 2, 4, 6)]
    assert markets[5].floor_strike == base + 7
    first = markets[1]
    assert first.ticker == f"KXHIGHNY-26JAN15-B{base}.5"
    # January 2026 is the NWS era of the rules text (settlement.rules.TWC_FROM): station by name, full date.
    assert "Central Park, New York for January 15, 2026" in first.rules_primary
    assert "National Weather Service's Daily Climate Report" in first.rules_primary
    assert first.close_time == datetime(2026, 1, 16, 5, tzinfo=UTC)       # 00:00 EST
    assert first.open_time == datetime(2026, 1, 14, 14, tzinfo=UTC)
    assert first.status == "active"
    chicago = quiet_exchange.list_markets_for("CHI", DAY)[0]
    assert chicago.close_time == datetime(2026, 1, 16, 6, tzinfo=UTC)
    assert "recorded in Chicago Midway, IL for" in chicago.rules_primary


def test_exactly_one_bracket_wins(quiet_exchange: SimExchange) -> None:
    markets = quiet_exchange.list_markets_for("DEN", DAY)
    for high in range(markets[0].cap_strike - 5, markets[5].floor_strike + 5):
        assert sum(m.wins(high) for m in markets) == 1


# -- matching -------------------------------------------------------------------------------------------

def test_price_then_time_priority(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    a = quiet_exchange.create_order("alice", body(ticker, "bid", "0.40", 5))
    b = quiet_exchange.create_order("bob", body(ticker, "bid", "0.40", 5))
    better = quiet_exchange.create_order("me", body(ticker, "bid", "0.41", 1))
    ack = quiet_exchange.create_order("me", body(ticker, "ask", "0.40", 8, tif="immediate_or_cancel",
                                                 stp="maker"))
    # 'me' crossing its own 0.41 bid with stp=maker cancels that resting bid, then trades with the others.
    assert quiet_exchange.orders[better["order_id"]].status == "canceled"
    assert ack["fill_count"] == "8.00" and ack["remaining_count"] == "0.00"
    assert quiet_exchange.orders[a["order_id"]].fill_count == D(5)       # earlier at the level fills first
    assert quiet_exchange.orders[b["order_id"]].fill_count == D(3)
    assert quiet_exchange.orders[b["order_id"]].status == "resting"
    quiet_exchange.check_invariants()


def test_better_price_fills_first_and_taker_gets_maker_price(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.45", 3))
    quiet_exchange.create_order("bob", body(ticker, "ask", "0.43", 3))
    ack = quiet_exchange.create_order("me", body(ticker, "bid", "0.50", 4, tif="immediate_or_cancel"))
    assert ack["fill_count"] == "4.00"
    prices = [(f.yes_price, f.count) for f in fills_of(quiet_exchange, "me")]
    assert prices == [(D("0.43"), D(3)), (D("0.45"), D(1))]
    assert D(ack["average_fill_price"]) == D("0.4350")


def test_joining_order_fills_only_after_size_ahead(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.40", 10))
    mine = quiet_exchange.create_order("me", body(ticker, "bid", "0.40", 5))["order_id"]
    assert quiet_exchange.queue_position("me", mine) == D(10)
    quiet_exchange.create_order("bob", body(ticker, "ask", "0.40", 7, tif="immediate_or_cancel"))
    assert quiet_exchange.orders[mine].fill_count == D(0)
    assert quiet_exchange.queue_position("me", mine) == D(3)
    quiet_exchange.create_order("bob", body(ticker, "ask", "0.40", 5, tif="immediate_or_cancel"))
    order = quiet_exchange.orders[mine]
    assert (order.fill_count, order.remaining_count, order.status) == (D(2), D(3), "resting")   # partial
    assert quiet_exchange.queue_position("me", mine) == D(0)


def test_self_trade_prevention_taker_at_cross_keeps_earlier_fills(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.30", 2))
    own = quiet_exchange.create_order("me", body(ticker, "ask", "0.31", 5))["order_id"]
    ack = quiet_exchange.create_order("me", body(ticker, "bid", "0.35", 6))
    taker = quiet_exchange.orders[ack["order_id"]]
    assert (taker.fill_count, taker.status, taker.last_update_reason) == (D(2), "canceled", "SelfTradePrevention")
    assert quiet_exchange.orders[own].status == "resting"          # the resting order survives
    quiet_exchange.check_invariants()


def test_ioc_fok_and_post_only(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.60", 3))
    ioc = quiet_exchange.create_order("me", body(ticker, "bid", "0.60", 5, tif="immediate_or_cancel"))
    assert (ioc["fill_count"], ioc["remaining_count"]) == ("3.00", "0.00")
    assert quiet_exchange.orders[ioc["order_id"]].status == "canceled"
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.61", 3))
    fok = quiet_exchange.create_order("me", body(ticker, "bid", "0.70", 4, tif="fill_or_kill"))
    assert fok["fill_count"] == "0.00" and quiet_exchange.orders[fok["order_id"]].status == "canceled"
    with pytest.raises(SimError) as post_only:
        quiet_exchange.create_order("me", body(ticker, "bid", "0.61", 1, post_only=True))
    assert (post_only.value.status, post_only.value.details) == (400, "post only cross")


def test_validation_errors(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    cases = [
        (body(ticker, "bid", "0.405", 1), 400, "invalid_order"),                 # off the 1¢ grid
        (body(ticker, "bid", "1.00", 1), 400, "invalid_order"),
        (body(ticker, "bid", "0.40", "0.001"), 400, "invalid_order_size"),
        (body(ticker, "buy", "0.40", 1), 400, "invalid_parameters"),
        (body("KXHIGHNY-99JAN01-B1.5", "bid", "0.40", 1), 404, "not_found"),
        (body(ticker, "bid", "0.40", 1, tif="immediate_or_cancel", expiration_time=2_000_000_000), 400,
         "invalid_order"),
        (body(ticker, "bid", "0.40", 1, expiration_time=1_000), 400, "invalid_order"),   # in the past
        (body(ticker, "bid", "0.99", 2000), 400, "available_balance_too_low"),
    ]
    for request, status, code in cases:
        with pytest.raises(SimError) as err:
            quiet_exchange.create_order("me", request)
        assert (err.value.status, err.value.code) == (status, code), request
    assert quiet_exchange.accounts["me"].order_ids == []


def test_duplicate_client_order_id_is_409(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    first = quiet_exchange.create_order("me", body(ticker, "bid", "0.20", 1, cid="abc"))
    with pytest.raises(SimError) as dup:
        quiet_exchange.create_order("me", body(ticker, "bid", "0.21", 1, cid="abc"))
    assert (dup.value.status, dup.value.code) == (409, "order_already_exists")
    quiet_exchange.cancel_order("me", first["order_id"])
    with pytest.raises(SimError):          # reserved forever by default, as Kalshi is assumed to
        quiet_exchange.create_order("me", body(ticker, "bid", "0.21", 1, cid="abc"))
    # Another account may use the same id.
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.21", 1, cid="abc"))


def test_cancel_decrease_amend(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    mine = quiet_exchange.create_order("me", body(ticker, "bid", "0.40", 10, cid="c1"))["order_id"]
    quiet_exchange.create_order("alice", body(ticker, "bid", "0.40", 4))
    before = quiet_exchange.accounts["me"].available
    out = quiet_exchange.decrease_order("me", mine, {"reduce_by": "4"})
    assert out["remaining_count"] == "6.00"
    assert quiet_exchange.accounts["me"].available - before == D("1.60")           # 4 × 0.40 released
    assert quiet_exchange.queue_position("me", mine) == D(0)                      # decrease keeps priority
    amended = quiet_exchange.amend_order("me", mine, {"ticker": ticker, "side": "bid", "price": "0.40",
                                                       "count": "8"})
    assert amended["remaining_count"] == "8.00"
    assert quiet_exchange.queue_position("me", mine) == D(4)                      # size up: back of the queue
    with pytest.raises(SimError) as wrong:
        quiet_exchange.amend_order("me", mine, {"ticker": ticker, "side": "ask", "price": "0.40", "count": "8"})
    assert wrong.value.code == "order_side_mismatch"
    cancelled = quiet_exchange.cancel_order("me", mine)
    assert cancelled["reduced_by"] == "8.00" and quiet_exchange.orders[mine].status == "canceled"
    assert quiet_exchange.accounts["me"].reserved == 0
    with pytest.raises(SimError) as again:
        quiet_exchange.cancel_order("me", mine)
    assert again.value.status == 404
    with pytest.raises(SimError):
        quiet_exchange.cancel_order("alice", quiet_exchange.accounts["me"].order_ids[0])   # not hers


def test_amend_to_crossing_price_trades(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.45", 2))
    mine = quiet_exchange.create_order("me", body(ticker, "bid", "0.40", 5))["order_id"]
    out = quiet_exchange.amend_order("me", mine, {"ticker": ticker, "side": "bid", "price": "0.45", "count": "5"})
    assert (out["fill_count"], out["remaining_count"]) == ("2.00", "3.00")
    quiet_exchange.check_invariants()


def test_expiry_cancels_and_releases(quiet_exchange: SimExchange, sim_clock: SimulatedClock) -> None:
    ticker = bracket(quiet_exchange)
    expires = int((START + timedelta(minutes=10)).timestamp())
    order_id = quiet_exchange.create_order("me", body(ticker, "bid", "0.30", 10, expiration_time=expires))["order_id"]
    assert quiet_exchange.accounts["me"].reserved == D("3.00")
    sim_clock.advance(timedelta(minutes=9))
    quiet_exchange.step()
    assert quiet_exchange.orders[order_id].status == "resting"
    sim_clock.advance(timedelta(minutes=2))
    quiet_exchange.step()
    order = quiet_exchange.orders[order_id]
    assert (order.status, order.last_update_reason) == ("canceled", "Expired")
    assert quiet_exchange.accounts["me"].reserved == 0


def test_market_close_cancels_resting_and_refuses_orders(quiet_exchange: SimExchange,
                                                          sim_clock: SimulatedClock) -> None:
    ticker = bracket(quiet_exchange)
    order_id = quiet_exchange.create_order("me", body(ticker, "bid", "0.30", 10))["order_id"]
    sim_clock.set(datetime(2026, 1, 16, 5, 0, 1, tzinfo=UTC))
    quiet_exchange.step()
    assert quiet_exchange.markets[ticker].status == "closed"
    assert quiet_exchange.orders[order_id].status == "canceled"
    with pytest.raises(SimError) as closed:
        quiet_exchange.create_order("me", body(ticker, "bid", "0.30", 1))
    assert (closed.value.status, closed.value.code) == (409, "market_closed")


# -- fees and money -------------------------------------------------------------------------------------

def test_taker_fee_to_the_cent_and_maker_free(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.25", 100))
    start_me, start_alice = cash(quiet_exchange, "me"), cash(quiet_exchange, "alice")
    quiet_exchange.create_order("me", body(ticker, "bid", "0.25", 100, tif="immediate_or_cancel"))
    fill = fills_of(quiet_exchange, "me")[0]
    assert fill.fee == D("1.32") == taker_fee(D(100), D("0.25"))          # Kalshi's fee table row
    assert start_me - cash(quiet_exchange, "me") == D("25.00") + D("1.32")
    assert fills_of(quiet_exchange, "alice")[0].fee == 0
    assert start_alice - cash(quiet_exchange, "alice") == D("75.00")      # bought NO at 0.75, no fee


def test_fees_accumulate_per_order_not_per_fill(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    for _ in range(3):
        quiet_exchange.create_order("alice", body(ticker, "ask", "0.50", 1))
    ack = quiet_exchange.create_order("me", body(ticker, "bid", "0.50", 3, tif="immediate_or_cancel"))
    per_fill = [f.fee for f in fills_of(quiet_exchange, "me")]
    # Three separate fills would pay 3 × $0.02; per-order rounding pays ceil(0.07·3·0.25) = $0.06 too,
    # but each fill only tops the order's total up to the ceiling of the exact running sum.
    assert sum(per_fill) == taker_fee(D(3), D("0.50")) == D("0.06")
    assert quiet_exchange.orders[ack["order_id"]].taker_fees == D("0.06")
    for _ in range(7):
        quiet_exchange.create_order("alice", body(ticker, "ask", "0.10", 1))
    quiet_exchange.create_order("me", body(ticker, "bid", "0.10", 7, tif="immediate_or_cancel"))
    assert sum(f.fee for f in fills_of(quiet_exchange, "me")[3:]) == taker_fee(D(7), D("0.10")) == D("0.05")


def test_netting_selling_yes_you_hold(quiet_exchange: SimExchange) -> None:
    ticker = bracket(quiet_exchange)
    quiet_exchange.create_order("alice", body(ticker, "ask", "0.40", 10))
    quiet_exchange.create_order("me", body(ticker, "bid", "0.40", 10, tif="immediate_or_cancel"))
    quiet_exchange.create_order("bob", body(ticker, "bid", "0.55", 10))
    before = cash(quiet_exchange, "me")
    quiet_exchange.create_order("me", body(ticker, "ask", "0.55", 10, tif="immediate_or_cancel"))
    position = quiet_exchange.accounts["me"].positions[ticker]
    fee = taker_fee(D(10), D("0.55"))
    assert position.position == 0 and position.cost == 0
    assert cash(quiet_exchange, "me") - before == D("5.50") - fee
    assert position.realized_pnl == D("1.50") - taker_fee(D(10), D("0.40")) - fee
    assert quiet_exchange.markets[ticker].open_interest == 10          # alice NO vs bob YES remain
    quiet_exchange.check_invariants()


def test_balance_positions_fills_and_settlement_reconcile(quiet_exchange: SimExchange,
                                                          sim_clock: SimulatedClock) -> None:
    markets = quiet_exchange.list_markets_for("NYC", DAY)
    start = cash(quiet_exchange, "me")
    for market in markets:
        quiet_exchange.create_order("alice", body(market.ticker, "ask", "0.30", 5))
        quiet_exchange.create_order("me", body(market.ticker, "bid", "0.30", 5, tif="immediate_or_cancel"))
        quiet_exchange.create_order("bob", body(market.ticker, "bid", "0.35", 2))
        quiet_exchange.create_order("me", body(market.ticker, "ask", "0.35", 2, tif="immediate_or_cancel"))
    me = quiet_exchange.accounts["me"]
    flows = D(0)
    for f in me.fills:
        flows -= f.fee
        flows -= f.count * (f.yes_price if f.book_side == "bid" else 1 - f.yes_price)
    # Selling 2 of the 5 YES (via NO) then netting pays back $1 per pair: +2 per market.
    flows += 2 * len(markets)
    assert start - cash(quiet_exchange, "me") == -flows
    for market in markets:
        assert me.positions[market.ticker].position == 3
    sim_clock.set(datetime(2026, 1, 16, 12, tzinfo=UTC))        # close + 6 h + timer
    quiet_exchange.step()
    assert all(m.status == "finalized" for m in markets)
    high = quiet_exchange.truth.settled_high("NYC", DAY)
    winners = [m for m in markets if m.wins(high)]
    assert len(winners) == 1 and winners[0].result == "yes"
    settlements = {s.ticker: s for s in me.settlements}
    assert set(settlements) == {m.ticker for m in markets}
    assert settlements[winners[0].ticker].revenue_cents == 300
    assert sum(s.revenue_cents for s in settlements.values()) == 300
    assert cash(quiet_exchange, "me") - start == flows + D(3)
    total_pnl = sum(p.realized_pnl for p in me.positions.values())
    assert total_pnl == cash(quiet_exchange, "me") - start
    assert sum(s.fee_cost for s in settlements.values()) == sum(f.fee for f in me.fills)
    quiet_exchange.check_invariants()


# -- agents, determinism, persistence -------------------------------------------------------------------

def _run_world(seed: int, store: Path | None = None, minutes: int = 20) -> SimExchange:
    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(seed, registry), clock, SimConfig(seed=seed), store)
    exchange.register_account("me", None, 50_000)
    for _ in range(minutes):
        clock.advance(60)
        exchange.step()
    return exchange


def test_agents_make_realistic_books_and_trade() -> None:
    exchange = _run_world(5)
    exchange.check_invariants()
    assert len(exchange.trades) > 100
    spreads = []
    for ticker, book in exchange.books.items():
        if exchange.markets[ticker].status != "active":
            continue
        bid, ask = book.best("bid"), book.best("ask")
        assert bid is None or ask is None or bid < ask            # never a crossed book
        if bid and ask:
            spreads.append(ask - bid)
    assert spreads and 1 <= sorted(spreads)[len(spreads) // 2] <= 20
    # Favourite–longshot bias: the makers' mids on near-impossible brackets sit above fair value.
    from daemon.exchange.sim.agents import biased
    assert biased(0.02, 0.15, 0.0) > 0.02 and biased(0.98, 0.15, 0.0) < 0.98


def test_deterministic_for_a_seed() -> None:
    first, second = _run_world(9, minutes=8), _run_world(9, minutes=8)
    assert [(t.trade_id, t.ticker, t.count, t.yes_price) for t in first.trades] == \
           [(t.trade_id, t.ticker, t.count, t.yes_price) for t in second.trades]
    other = _run_world(10, minutes=8)
    assert [t.yes_price for t in other.trades] != [t.yes_price for t in first.trades]


def test_restart_from_journal_keeps_orders_fills_and_balances(tmp_path: Path) -> None:
    store = tmp_path / "sim.jsonl"
    registry = default_registry()
    clock = SimulatedClock(START)
    exchange = SimExchange(registry, SyntheticTruth(3, registry), clock, QUIET.model_copy(update={"seed": 3}), store)
    exchange.register_account("me", None, 100_000)
    exchange.register_account("alice", None, 100_000)
    exchange.step()
    ticker = bracket(exchange)
    exchange.create_order("alice", body(ticker, "ask", "0.40", 5))
    resting = exchange.create_order("me", body(ticker, "bid", "0.40", 8, cid="keep"))
    clock.advance(30)
    exchange.close()

    revived = SimExchange(registry, SyntheticTruth(3, registry), clock, QUIET.model_copy(update={"seed": 3}), store)
    assert revived.orders[resting["order_id"]].remaining_count == D(3)
    assert revived.accounts["me"].cash == exchange.accounts["me"].cash
    assert [f.fill_id for f in revived.accounts["me"].fills] == [f.fill_id for f in exchange.accounts["me"].fills]
    with pytest.raises(SimError):
        revived.create_order("me", body(ticker, "bid", "0.40", 1, cid="keep"))
    revived.check_invariants()
    revived.close()
    with pytest.raises(SimStateError):
        SimExchange(registry, SyntheticTruth(3, registry), clock, QUIET.model_copy(update={"seed": 4}), store)


def test_thursday_maintenance_pause(sim_clock: SimulatedClock) -> None:
    registry = default_registry()
    exchange = SimExchange(registry, SyntheticTruth(1, registry), sim_clock,
                           QUIET.model_copy(update={"maintenance_pause": True}))
    exchange.register_account("me", None, 100_000)
    sim_clock.set(datetime(2026, 1, 22, 2, 0, tzinfo=UTC))                # Wednesday 21:00 EST
    exchange.step()
    ticker = exchange.list_markets_for("NYC", datetime(2026, 1, 22).date())[2].ticker
    keep = exchange.create_order("me", body(ticker, "bid", "0.10", 1))["order_id"]
    drop = exchange.create_order("me", body(ticker, "bid", "0.11", 1, cancel_order_on_pause=True))["order_id"]
    sim_clock.set(datetime(2026, 1, 22, 8, 30, tzinfo=UTC))               # Thursday 03:30 EST
    exchange.step()
    assert exchange.trading_paused(sim_clock.now())
    assert exchange.orders[drop].status == "canceled" and exchange.orders[keep].status == "resting"
    with pytest.raises(SimError) as paused:
        exchange.create_order("me", body(ticker, "bid", "0.10", 1))
    assert paused.value.code == "trading_paused"
    exchange.cancel_order("me", keep)                                      # cancels still work
    sim_clock.set(datetime(2026, 1, 22, 10, 0, 1, tzinfo=UTC))
    exchange.create_order("me", body(ticker, "bid", "0.10", 1))
