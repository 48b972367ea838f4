"""The risk engine on both ledger engines: every cap, loss limit and breaker fires with its risk event."""

from __future__ import annotations

import sys
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from daemon.cities import CityRegistry
from daemon.clock import SimulatedClock
from daemon.ledger.db import Database, DatabaseError
from daemon.trading import exposure as ex
from daemon.trading import state as st
from daemon.trading.config import TradingConfig
from daemon.trading.risk import ProposedOrder, RiskEngine

sys.path.insert(0, str(Path(__file__).parent))
from _risk_kit import DAY, add_fill, add_open_order, add_settlement, risk_events, ticker

D = Decimal
# bankroll $1,000: per trade $20, per event $25, per city $30, per cluster $50, open risk $100;
# daily loss $50, weekly $120, monthly $200.
POLICY = TradingConfig(bankroll=D("1000"), max_per_event_pct=D("0.025"))


def engine(db: Database, clock: SimulatedClock, registry: CityRegistry, policy: TradingConfig = POLICY) -> RiskEngine:
    return RiskEngine(db, clock, policy, registry, lambda: policy.bankroll)


def order(city: str = "NYC", *, bracket: str = "B44.5", day: date = DAY, count: str = "30", price: str = "0.40",
          side: str = "yes", action: str = "buy", key: str | None = "k1") -> ProposedOrder:
    return ProposedOrder(ticker(city, bracket, day), city, day, side, action, D(count), D(price), key)


def only_breach(db: Database, limit: str) -> dict[str, Any]:
    events = [e for e in risk_events(db, "cap_breach") if e["detail"]["limit"] == limit]
    assert len(events) == 1, risk_events(db)
    return events[0]


def test_order_within_every_cap_is_allowed_silently(db: Database, clock: SimulatedClock, registry) -> None:
    verdict = engine(db, clock, registry).check(order())
    assert verdict.allowed and verdict.max_count is None and verdict.reasons == ()
    assert risk_events(db) == []


def test_per_trade_cap_clips_to_what_fits(db: Database, clock: SimulatedClock, registry) -> None:
    # 48 × (0.40 + 0.02 one-contract fee) = 20.16 > 20.00 → 47 fit
    verdict = engine(db, clock, registry).check(order(count="48"))
    assert verdict.allowed and verdict.max_count == D(47)
    event = only_breach(db, "per_trade")
    assert event["detail"]["actual"] == "20.16" and event["detail"]["allowed"] == "20.00"
    assert event["detail"]["max_count"] == "47" and event["ticker"] == ticker("NYC", "B44.5")
    assert event["intent_key"] == "k1" and event["severity"] == "warning"


def test_max_contracts(db: Database, clock: SimulatedClock, registry) -> None:
    policy = TradingConfig(bankroll=D("1000"), max_contracts=D("5"))
    verdict = engine(db, clock, registry, policy).check(order(count="10", price="0.05"))
    assert verdict.allowed and verdict.max_count == D(5)
    event = only_breach(db, "max_contracts")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("10", "5")


def test_per_event_counts_all_brackets_of_the_city_day(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", bracket="B40.5", count="40", price="0.45")  # 18.00 + fee 0.70 = 18.70
    verdict = engine(db, clock, registry).check(order(bracket="B44.5"))  # + 12.60 = 31.30
    # per event 25: (25 − 18.70) / 0.42 = 15; per city 30: 26 → the tighter wins
    assert verdict.allowed and verdict.max_count == D(15)
    event = only_breach(db, "per_event")
    assert event["detail"]["actual"] == "31.30" and event["detail"]["allowed"] == "25.00"
    assert event["detail"]["scope"] == "NYC/2026-01-15"
    assert only_breach(db, "per_city")["detail"]["max_count"] == "26"


def test_per_city_spans_climate_days(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", count="40", price="0.45")  # 18.70 on Jan 15
    verdict = engine(db, clock, registry).check(order(day=date(2026, 1, 16)))  # 12.60 on Jan 16
    assert verdict.allowed and verdict.max_count == D(26)  # (30 − 18.70) / 0.42
    event = only_breach(db, "per_city")
    assert (event["detail"]["actual"], event["detail"]["allowed"], event["detail"]["scope"]) == ("31.30", "30.00", "NYC")
    assert not [e for e in risk_events(db, "cap_breach") if e["detail"]["limit"] == "per_event"]


def test_per_cluster(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "PHL", count="40", price="0.45")
    add_fill(db, clock, "BOS", count="40", price="0.45")  # NE: 37.40
    verdict = engine(db, clock, registry).check(order("NYC", count="31"))  # + 13.02 = 50.42 > 50
    assert verdict.allowed and verdict.max_count == D(30)
    event = only_breach(db, "per_cluster")
    assert (event["detail"]["actual"], event["detail"]["allowed"], event["detail"]["scope"]) == ("50.42", "50.00", "NE")
    # the same order in another cluster is fine
    assert engine(db, clock, registry).check(order("CHI", count="31")).max_count is None


def test_open_risk_counts_confirmed_and_pending(db: Database, clock: SimulatedClock, registry) -> None:
    for city in ("CHI", "LAX", "MIA", "DEN"):
        add_fill(db, clock, city, count="40", price="0.45")  # 4 × 18.70 confirmed
    # 18.80 pending (a committed, unfilled intent; worst-case fee 0.02 per contract as it may fill one by one)
    add_open_order(db, clock, "SEA", count="40", price="0.45")
    verdict = engine(db, clock, registry).check(order("NYC"))  # 93.60 + 12.60
    assert verdict.allowed and verdict.max_count == D(15)  # (100 − 93.60) / 0.42
    event = only_breach(db, "open_risk")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("106.20", "100.00")


def test_no_room_left_refuses_with_max_count_zero(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", count="50", price="0.48")  # 24.00 + 1.22 fee = 25.22 > 25 already
    verdict = engine(db, clock, registry).check(order(count="1"))
    assert not verdict.allowed and verdict.max_count == 0
    event = only_breach(db, "per_event")
    assert event["severity"] == "critical" and event["detail"]["max_count"] == "0"


def test_recheck_of_an_intent_does_not_count_its_own_open_order(db: Database, clock: SimulatedClock, registry) -> None:
    intent = add_open_order(db, clock, "NYC", count="40", price="0.45")
    risk = engine(db, clock, registry)
    same = ProposedOrder(intent.ticker, "NYC", DAY, "yes", "buy", D("40"), D("0.45"), intent.intent_key)
    assert risk.check(same).max_count is None
    other = ProposedOrder(intent.ticker, "NYC", DAY, "yes", "buy", D("40"), D("0.45"), "another-intent")
    assert risk.check(other).max_count is not None  # 18.80 pending + 18.80 > 25


def test_fills_reported_on_create_or_cancel_count_before_fill_ingestion(db: Database, clock: SimulatedClock,
                                                                        registry) -> None:
    """An order whose create/cancel reply already shows fills stays in exposure until its fills are ingested,
    and is not double counted once they are (review r1)."""
    from daemon.trading.intents import client_order_id_for
    from daemon.trading.order_store import FillRecord, OrderStore

    store = OrderStore(db, clock)
    filled = add_open_order(db, clock, "NYC", count="40", price="0.45")  # filled at once on create
    coid = client_order_id_for(filled.intent_key, 1)
    store.transition(coid, "filled", "create", exchange_order_id="ex-filled", filled_count=D(40),
                     remaining_count=D(0))
    cancelled = add_open_order(db, clock, "PHL", count="40", price="0.45")  # cancel reply shows 10 filled
    store.transition(client_order_id_for(cancelled.intent_key, 1), "canceled", "cancel",
                     exchange_order_id="ex-cancelled", filled_count=D(10), remaining_count=D(0))
    risk = engine(db, clock, registry)
    report = risk.exposure_report()
    assert report.by_event[("NYC", DAY)] == D("18.80")  # 40 × (0.45 + 0.02 worst-case fee)
    assert report.by_event[("PHL", DAY)] == D("4.70")
    assert risk.check(order(count="20")).max_count is not None  # 18.80 + 8.40 > 25
    # once the fills are in ops.fills they count once, at their exact price and fee
    store.insert_fill(FillRecord("f-1", "ex-filled", coid, filled.ticker, "NYC", DAY, "yes", "buy", D(40),
                                 D("0.45"), True, D("0.70"), clock.now()))
    assert engine(db, clock, registry).exposure_report().by_event[("NYC", DAY)] == D("18.70")


def test_settled_positions_are_not_exposure(db: Database, clock: SimulatedClock, registry) -> None:
    t = add_fill(db, clock, "NYC", count="50", price="0.48")
    add_settlement(db, clock, t, "NYC", result="yes", revenue="50", at=clock.now())
    assert engine(db, clock, registry).check(order()).max_count is None


# -- exposure arithmetic --------------------------------------------------------------------------------
def _lot(bracket: str, side: str, count: str, cost: str) -> ex.Lot:
    return ex.Lot(ticker("NYC", bracket), "NYC", DAY, side, D(count), D(cost), "fill")


def test_event_exposure_is_worst_case_loss_over_outcomes() -> None:
    two_yes = [_lot("B40.5", "yes", "10", "4"), _lot("B42.5", "yes", "10", "3")]
    assert ex.event_exposure(two_yes) == D("7")  # both lose when a third bracket wins
    two_no = [_lot("B40.5", "no", "10", "6"), _lot("B42.5", "no", "10", "7")]
    assert ex.event_exposure(two_no) == D("3")  # at most one NO loses: 13 − 10
    assert ex.normalise("yes", "sell", D("0.30")) == ("no", D("0.70"))
    hedged = [_lot("B40.5", "yes", "10", "4"), _lot("B40.5", "no", "10", "5.5")]
    assert ex.event_exposure(hedged) == D(0)  # pays 10 in every outcome for 9.5


# -- trading state + kill switch --------------------------------------------------------------------------
def test_halted_refuses_and_kill_switch_survives_restart_until_resume(db: Database, clock: SimulatedClock,
                                                                       registry) -> None:
    st.kill(db, clock, "operator test", "operator:alice")
    restarted = engine(db, clock, registry)
    verdict = restarted.check(order())
    assert not verdict.allowed and verdict.max_count == 0 and "HALTED" in verdict.reasons[0]
    refusal = risk_events(db, "trading_state")[-1]
    assert refusal["detail"]["limit"] == "trading_state" and refusal["detail"]["actual"] == "HALTED"
    restarted.set_state("ACTIVE", "automatic attempt", "risk:auto")  # automatic callers cannot lower it
    restarted.set_state("HALTED", "daily", "risk:daily_loss", until=clock.now() + timedelta(hours=1))
    clock.advance(timedelta(days=40))
    assert engine(db, clock, registry).current_state() == "HALTED"
    assert st.latest(db).kill_switch
    restarted.resume("checked", "operator:alice")
    assert engine(db, clock, registry).current_state() == "ACTIVE" and not st.latest(db).kill_switch
    assert engine(db, clock, registry).check(order()).allowed


def test_automatic_changes_never_shorten_a_pause(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)
    risk.set_state("HALTED", "long", "risk:monthly_loss", until=clock.now() + timedelta(days=30))
    risk.set_state("HALTED", "short", "risk:daily_loss", until=clock.now() + timedelta(hours=24))
    clock.advance(timedelta(hours=25))
    assert risk.current_state() == "HALTED"
    risk.set_state("REDUCING", "operator choice", "operator:bob")
    assert risk.current_state() == "REDUCING"


# -- loss limits --------------------------------------------------------------------------------------------
def _lose(db: Database, clock: SimulatedClock, count: str, price: str, days_ago: float, bracket: str = "B30.5") -> None:
    at = clock.now() - timedelta(days=days_ago)
    t = add_fill(db, clock, "NYC", bracket=bracket, count=count, price=price, at=at)
    add_settlement(db, clock, t, "NYC", result="no", revenue="0", at=at)


def _loss_event(db: Database, limit: str) -> dict[str, Any]:
    events = [e for e in risk_events(db, "loss_limit") if e["detail"]["limit"] == limit]
    assert len(events) == 1, risk_events(db)
    return events[0]


def test_daily_loss_pauses_24h_then_resumes(db: Database, clock: SimulatedClock, registry) -> None:
    _lose(db, clock, "100", "0.60", days_ago=0)  # 60 + 1.68 fee lost
    risk = engine(db, clock, registry)
    verdict = risk.check(order())  # check() evaluates the loss limits itself
    assert not verdict.allowed
    event = _loss_event(db, "daily_loss")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("61.68", "50.00")
    current = st.latest(db)
    assert current.state == "HALTED" and current.until_at == clock.now() + timedelta(hours=24)
    clock.advance(timedelta(hours=23))
    assert engine(db, clock, registry).current_state() == "HALTED"  # survives a restart
    clock.advance(timedelta(hours=1, seconds=1))
    risk = engine(db, clock, registry)
    assert risk.current_state() == "ACTIVE"
    risk.evaluate_loss_limits()
    assert risk.current_state() == "ACTIVE" and len(risk_events(db, "loss_limit")) == 1


def test_weekly_loss_halves_size(db: Database, clock: SimulatedClock, registry) -> None:
    _lose(db, clock, "250", "0.55", days_ago=2)  # 137.50 + 4.34 fee, outside the daily window
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    assert risk.current_state() == "REDUCING" and risk.size_multiplier() == D("0.5")
    event = _loss_event(db, "weekly_loss")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("141.84", "120.00")
    verdict = risk.check(order(count="30"))  # 12.60 > half the per-trade cap (10.00)
    assert verdict.allowed and verdict.max_count == D(23)
    assert only_breach(db, "per_trade")["detail"]["allowed"] == "10.00"
    clock.advance(timedelta(days=7, seconds=1))
    assert engine(db, clock, registry).current_state() == "ACTIVE"


def test_monthly_loss_stops_new_positions(db: Database, clock: SimulatedClock, registry) -> None:
    _lose(db, clock, "400", "0.50", days_ago=10)  # 200 + 7.00 fee
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    assert risk.current_state() == "HALTED" and risk.size_multiplier() == 0
    event = _loss_event(db, "monthly_loss")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("207.00", "200.00")
    assert not risk.check(order()).allowed
    clock.advance(timedelta(days=29))
    assert risk.current_state() == "HALTED"


def test_pause_falls_back_to_reduced_size(db: Database, clock: SimulatedClock, registry) -> None:
    _lose(db, clock, "250", "0.55", days_ago=0)  # trips weekly (REDUCING) and daily (HALTED 24 h)
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    assert risk.current_state() == "HALTED"
    assert {e["detail"]["limit"] for e in risk_events(db, "loss_limit")} == {"daily_loss", "weekly_loss"}
    clock.advance(timedelta(hours=24, seconds=1))
    assert risk.current_state() == "REDUCING"


def test_weekly_loss_tripping_during_a_daily_pause_applies_after_it(db: Database, clock: SimulatedClock,
                                                                     registry) -> None:
    """The weekly limit trips 3 h into the daily HALT: REDUCING must follow the pause (review r2)."""
    _lose(db, clock, "100", "0.60", days_ago=0)  # 61.68 → daily pause until +24 h
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    pause_until = st.latest(db).until_at
    clock.advance(timedelta(hours=3))
    _lose(db, clock, "120", "0.60", days_ago=0, bracket="B32.5")  # weekly 135.70 >= 120
    risk.evaluate_loss_limits()
    assert {e["detail"]["limit"] for e in risk_events(db, "loss_limit")} == {"daily_loss", "weekly_loss"}
    assert risk.current_state() == "HALTED" and st.latest(db).until_at == pause_until  # the pause is unchanged
    clock.advance(timedelta(hours=21, seconds=1))
    assert risk.current_state() == "REDUCING" and risk.size_multiplier() == D("0.5")
    clock.advance(timedelta(days=6))
    assert engine(db, clock, registry).current_state() == "REDUCING"  # within the 7 days from the weekly trip
    clock.advance(timedelta(hours=3))
    assert engine(db, clock, registry).current_state() == "ACTIVE"


def test_realized_loss_on_a_closed_unsettled_position_counts(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", count="200", price="0.60")
    add_fill(db, clock, "NYC", action="sell", count="200", price="0.35")  # flat: lost 50 + fees
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    assert risk.current_state() == "HALTED"
    assert _loss_event(db, "daily_loss")["detail"]["actual"] == "56.55"  # 50 + 3.36 + 3.19


def test_pnl_events_are_in_yes_book_terms(db: Database, clock: SimulatedClock, registry) -> None:
    """A YES + NO pair nets (only fees are lost) and a sell opens a short (review r3)."""
    t = add_fill(db, clock, "NYC", side="no", count="100", price="0.40")
    add_fill(db, clock, "NYC", side="yes", count="100", price="0.60")  # 1.68 + 1.68 fees
    assert [e.pnl for e in ex.pnl_events(db)] == [D("-3.36")]
    add_settlement(db, clock, t, "NYC", result="no", revenue="0", at=clock.now())
    assert [e.pnl for e in ex.pnl_events(db)] == [D("-3.36")]
    short = add_fill(db, clock, "NYC", bracket="B32.5", side="yes", action="sell", count="100", price="0.30")
    add_settlement(db, clock, short, "NYC", result="yes", revenue="0", at=clock.now())  # the NO side lost 70
    assert sorted(e.pnl for e in ex.pnl_events(db)) == [D("-71.47"), D("-3.36")]
    risk = engine(db, clock, registry)
    risk.evaluate_loss_limits()
    assert _loss_event(db, "daily_loss")["detail"]["actual"] == "74.83"


def test_loss_limits_skipped_while_bankroll_is_not_positive(db: Database, clock: SimulatedClock, registry,
                                                            caplog: pytest.LogCaptureFixture) -> None:
    """A zero bankroll (failed balance read) must not trip every loss limit on a zero loss (review r5)."""
    bank = {"value": D(0)}
    risk = RiskEngine(db, clock, POLICY, registry, lambda: bank["value"])
    risk.evaluate_loss_limits()
    assert risk_events(db, "loss_limit") == [] and risk.current_state() == "ACTIVE"
    assert "bankroll" in caplog.text and "not positive" in caplog.text
    assert not risk.check(order(count="1")).allowed  # caps of a zero bankroll still refuse every order
    bank["value"] = D(1000)
    _lose(db, clock, "100", "0.60", days_ago=0)  # evaluated again once the bankroll is known
    risk.evaluate_loss_limits()
    assert _loss_event(db, "daily_loss")["detail"]["allowed"] == "50.00"


# -- breakers --------------------------------------------------------------------------------------------------
def test_reject_breaker_n_in_m_minutes(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)  # 5 rejects in 10 minutes
    for _ in range(4):
        risk.record_reject("T", "insufficient balance")
        clock.advance(timedelta(minutes=1))
    assert risk.current_state() == "ACTIVE"
    risk.record_reject("T", "insufficient balance")
    assert risk.current_state() == "HALTED"
    breaker = risk_events(db, "breaker")[-1]["detail"]
    assert (breaker["limit"], breaker["actual"], breaker["allowed"]) == ("reject_breaker", 5, 4)
    clock.advance(timedelta(minutes=60, seconds=1))
    assert risk.current_state() == "ACTIVE"  # the pause ends by itself


def test_rejects_spread_out_do_not_trip(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)
    for _ in range(6):
        risk.record_reject("T", "x")
        clock.advance(timedelta(minutes=3))
    assert risk.current_state() == "ACTIVE" and risk_events(db, "breaker") == []


def test_stale_data_blocks_only_that_city(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)
    risk.record_stale("NYC", "forecast 14 h old")
    risk.record_stale("NYC", "forecast 14 h old")  # no duplicate event
    assert risk.city_blocked("NYC") == ["stale data: forecast 14 h old"]
    verdict = risk.check(order("NYC"))
    assert not verdict.allowed and "stale" in verdict.reasons[0]
    assert risk.check(order("CHI")).allowed
    stale = risk_events(db, "stale_data")
    assert len(stale) == 2 and stale[-1]["city_code"] == "NYC" and stale[-1]["detail"]["limit"] == "stale_data"
    risk.record_fresh("NYC")
    assert risk.check(order("NYC")).allowed


def test_auth_failure_halts_until_operator_resume(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)
    risk.record_auth_failure("401 invalid signature")
    assert risk.current_state() == "HALTED" and st.latest(db).until_at is None
    assert risk_events(db, "breaker")[-1]["detail"]["limit"] == "auth_failure"
    clock.advance(timedelta(days=3))
    assert engine(db, clock, registry).current_state() == "HALTED"


class FlakyDb:
    """A Database whose every call fails while `down` is set (a lost connection, a full disk)."""

    def __init__(self, db: Database) -> None:
        self.db, self.down = db, False

    def __getattr__(self, name: str) -> Any:
        attr = getattr(self.db, name)
        if name in ("query", "query_one", "scalar", "execute", "transaction") and self.down:
            def fail(*args: Any, **kwargs: Any) -> Any:
                raise DatabaseError("could not write: disk full")
            return fail
        return attr


def test_database_failure_halts_even_when_the_halt_cannot_be_written(db: Database, clock: SimulatedClock,
                                                                     registry) -> None:
    flaky = FlakyDb(db)
    risk = RiskEngine(flaky, clock, POLICY, registry)  # type: ignore[arg-type]
    flaky.down = True
    verdict = risk.check(order())
    assert not verdict.allowed and verdict.max_count == 0
    assert risk.current_state() == "HALTED"  # held in memory while the ledger is down
    flaky.down = False
    assert risk.current_state() == "HALTED"
    assert st.latest(db).state == "HALTED" and st.latest(db).set_by == "risk:db_failure"
    assert risk_events(db, "breaker")[-1]["detail"]["limit"] == "db_failure"
    assert engine(db, clock, registry).current_state() == "HALTED"  # persisted: survives a restart


def test_unknown_city_and_bad_order_refused(db: Database, clock: SimulatedClock, registry) -> None:
    risk = engine(db, clock, registry)
    bogus = ProposedOrder("KXHIGHXX-26JAN15-B1", "XXX", DAY, "yes", "buy", D("1"), D("0.5"), "k")
    assert not risk.check(bogus).allowed
    assert not risk.check(order(price="1.00")).allowed
    assert {e["kind"] for e in risk_events(db)} == {"stale_data", "invalid_order"}


def test_exposure_report_and_cli_snapshot(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", count="40", price="0.45")
    add_open_order(db, clock, "BOS", count="40", price="0.45")
    report = engine(db, clock, registry).exposure_report()
    assert report.open_risk == D("37.50") and report.by_cluster == {"NE": D("37.50")}
    assert report.by_city == {"NYC": D("18.70"), "BOS": D("18.80")}
    assert (report.confirmed_lots, report.pending_lots) == (1, 1)
    assert report.limits["per_city"] == D("30.00")


def test_closing_a_position_is_never_blocked_by_a_cap(db: Database, clock: SimulatedClock, registry) -> None:
    add_fill(db, clock, "NYC", bracket="B44.5", count="60", price="0.48")  # 28.80 + fee: over the $25 event cap
    risk = engine(db, clock, registry)
    close = order(bracket="B44.5", side="yes", action="sell", count="60", price="0.40")
    assert risk.check(close).max_count is None
    assert risk.check(order(bracket="B44.5", count="1")).max_count == 0  # adding is refused


def test_max_contracts_bounds_an_order_that_lowers_worst_case_loss(db: Database, clock: SimulatedClock,
                                                                    registry) -> None:
    """Holding 95 YES with max 95 per order, buying 150 NO lowers the event's worst case (95 pairs net to $1)
    but is still 150 contracts in one order: clipped to 95, with the cap event."""
    policy = TradingConfig(bankroll=D("100000"))
    add_fill(db, clock, "NYC", bracket="B44.5", count="95", price="0.40")
    risk = engine(db, clock, registry, policy)
    verdict = risk.check(order(bracket="B44.5", side="no", count="150", price="0.50"))
    assert verdict.allowed and verdict.max_count == D(95), verdict
    event = only_breach(db, "max_contracts")
    assert (event["detail"]["actual"], event["detail"]["allowed"]) == ("150", "95")
    assert risk.check(order(bracket="B44.5", side="yes", action="sell", count="96")).max_count == D(95)


# -- policy + CLI ----------------------------------------------------------------------------------------------
def test_policy_defaults_are_the_owner_policy() -> None:
    p = TradingConfig()
    assert (p.bankroll, p.max_per_trade_pct, p.max_per_city_pct, p.max_per_cluster_pct, p.max_open_risk_pct) == (
        D(5000), D("0.02"), D("0.03"), D("0.05"), D("0.10"))
    assert (p.daily_loss_pct, p.weekly_loss_pct, p.monthly_loss_pct, p.daily_pause_hours) == (
        D("0.05"), D("0.12"), D("0.20"), 24.0)
    assert (p.max_spread, p.max_contracts, p.reprice_seconds, p.max_chase_cents) == (D("0.03"), D(95), 120.0, 3)
    from daemon.trading.oms import OmsPolicy

    assert OmsPolicy.from_config(p).reprice_seconds == 120.0


@pytest.mark.parametrize("bad", [{"max_per_trade_pct": "0.2"}, {"max_per_city_pct": "0.06"},
                                 {"daily_loss_pct": "0.3"}, {"kelly_fraction": "nan"}, {"typo_field": 1}])
def test_policy_refuses_inconsistent_values(bad: dict[str, Any]) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError):
        TradingConfig(**bad)


def test_cli_risk_show(tmp_path: Path, clock: SimulatedClock) -> None:
    import json

    from typer.testing import CliRunner

    from daemon.cli.main import app
    from daemon.ledger.db import connect
    from daemon.ledger.migrate import migrate

    with connect(f"duckdb:///{tmp_path / 'milkbot.duckdb'}") as ledger:
        migrate(ledger)
        add_fill(ledger, clock, "NYC", count="40", price="0.45")
        st.kill(ledger, clock, "maintenance", "operator:test")
    result = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "risk", "show", "--json"],
                                env={"MILKBOT_DATABASE_URL": ""})
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert data["state"]["state"] == "HALTED" and data["state"]["kill_switch"] is True
    assert data["exposure"]["by_city"] == {"NYC": "18.70"} and data["caps"]["per_city"] == "150.00"
    assert data["recent_events"][0]["kind"] == "kill_switch"
    text = CliRunner().invoke(app, ["--data-dir", str(tmp_path), "risk", "show"], env={"MILKBOT_DATABASE_URL": ""})
    assert text.exit_code == 0 and "KILL SWITCH ON" in text.output and "NYC" in text.output


def test_rejected_submits_feed_the_breaker_and_old_books_are_stale(db: Database, clock: SimulatedClock,
                                                                   registry) -> None:
    from daemon.trading.oms import SubmitResult

    risk = engine(db, clock, registry)
    for n in range(5):
        risk.note_submit("T", SubmitResult("placed", f"k{n}"))
    assert risk_events(db) == []
    for n in range(5):
        risk.note_submit("T", SubmitResult("rejected", f"k{n}", reasons=["market closed"]))
    assert risk.current_state() == "HALTED"
    assert risk.market_data_problems(clock.now() - timedelta(seconds=180)) == []
    assert risk.market_data_problems(clock.now() - timedelta(seconds=181)) == ["market data 181s old > 180s"]
    assert risk.market_data_problems(None) == ["no market data"]


def test_resting_legs_never_hedge_each_other() -> None:
    """NO on two brackets held: at most one settles YES, so the worst case is one leg lost. Resting, either may
    fill alone, so each outcome counts every resting leg that would lose in it."""
    from daemon.trading.exposure import Lot, event_exposure

    day = date(2026, 1, 6)
    legs = [Lot(t, "MIA", day, "no", Decimal(10), Decimal("7.00"), source) for t in ("B80.5", "B82.5")
            for source in ("fill",)]
    held = event_exposure(legs)
    resting = event_exposure([Lot(x.ticker, x.city_code, x.climate_day, x.side, x.count, x.cost, "order")
                              for x in legs])
    assert held == Decimal("4.00")      # 14.00 paid, 10 paid back whichever bracket wins
    assert resting == Decimal("7.00")   # only one leg fills, and its bracket wins
