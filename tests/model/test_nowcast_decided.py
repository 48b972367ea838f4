"""Brackets decided by observations: the rule, its margin, and its record on every recorded Miami day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from daemon.model.data import load_dataset
from daemon.model.nowcast_decided import (
    MARGIN_F,
    audit,
    decided,
    decided_from_snapshot,
    settled_floor,
)
from daemon.settlement.brackets import Bracket
from daemon.weather.asof import AsOfWeather
from daemon.weather.recorded import RecordedWeatherFeed
from daemon.weather.snapshots import store_snapshot
from daemon.weather.units import c_to_f

LADDER = (("T84", Bracket(None, 83)), ("B84.5", Bracket(84, 85)), ("B86.5", Bracket(86, 87)),
          ("B88.5", Bracket(88, 89)), ("B90.5", Bracket(90, 91)), ("T91", Bracket(92, None)))  # fmt: skip
END = datetime(2024, 12, 2, 5, 0, tzinfo=UTC)
UNTIL = datetime(2024, 12, 1, 20, 53, tzinfo=UTC)


def test_a_t_group_just_under_a_whole_degree_decides_that_degree() -> None:
    # 85 °F = 29.44 °C → T02940 → 84.92 °F: the high is at least 85, so "83 or below" is lost, nothing else.
    calls = decided(LADDER, c_to_f(29.4), UNTIL, END)
    assert calls == {
        "T84": "lost",
        "B84.5": None,
        "B86.5": None,
        "B88.5": None,
        "B90.5": None,
        "T91": None,
    }
    # 84 °F = 28.89 °C → 28.9 → 84.02 °F: still only "83 or below".
    assert decided(LADDER, c_to_f(28.9), UNTIL, END)["T84"] == "lost"
    assert decided(LADDER, c_to_f(28.3), UNTIL, END)["T84"] is None  # 82.94: 83 is still possible


def test_an_or_above_bracket_reached_has_won() -> None:
    calls = decided(LADDER, c_to_f(33.3), UNTIL, END)  # 91.94 °F: only 92 °F converts to 33.3 °C
    assert calls["T91"] == "won"
    assert [calls[t] for t, _ in LADDER[:-1]] == ["lost"] * 5
    assert decided(LADDER, c_to_f(32.8), UNTIL, END)["T91"] is None  # 91.04 °F: 91 °F


def test_nothing_above_the_maximum_is_ever_decided() -> None:
    calls = decided(LADDER, c_to_f(30.0), END, END)  # 86.0 °F, even with the whole day observed
    assert calls == {
        "T84": "lost",
        "B84.5": "lost",
        "B86.5": None,
        "B88.5": None,
        "B90.5": None,
        "T91": None,
    }


def test_no_or_inconsistent_observations_decide_nothing() -> None:
    for observed, until in ((None, UNTIL), (90.0, None), (90.0, END + timedelta(seconds=1))):
        assert set(decided(LADDER, observed, until, END).values()) == {None}
    with pytest.raises(ValueError):
        settled_floor(float("nan"))


def test_margin_floor_is_exact_at_float_edges() -> None:
    assert settled_floor(84.92) == 85 and settled_floor(85.08) == 85 and settled_floor(84.02) == 84
    assert (
        settled_floor(c_to_f(29.4), 0.9) == 85
    )  # 84.92 - 0.9 is 84.0199999…; must not ceil to 85 by noise
    assert MARGIN_F == 0.9


def test_decided_from_a_stored_snapshot(shared_data: Path, registry, duckdb_db) -> None:
    feed = RecordedWeatherFeed(shared_data, registry)
    mia, day = registry.get("MIA"), date(2024, 9, 25)  # settled 89
    now = datetime(2024, 9, 25, 21, 0, tzinfo=UTC)
    store_snapshot(duckdb_db, feed.poll(mia, day, now))
    row = AsOfWeather(duckdb_db).latest("MIA", day, now)
    _, end = mia.climate_day_bounds(day)
    calls = decided_from_snapshot(LADDER, row, end)
    assert calls == {
        "T84": "lost",
        "B84.5": "lost",
        "B86.5": "lost",
        "B88.5": None,
        "B90.5": None,
        "T91": None,
    }


# -- every recorded Miami day ---------------------------------------------------------------------------
@pytest.fixture(scope="module")
def recorded(shared_data: Path, registry):
    return RecordedWeatherFeed(shared_data, registry), load_dataset(shared_data, registry)


def test_decided_brackets_are_never_wrong_on_recorded_miami_days(
    shared_data: Path, recorded
) -> None:
    feed, dataset = recorded
    result = audit(shared_data, "MIA", feed=feed, dataset=dataset)
    hours = sorted(result.hours_before_close)
    print(
        f"\nMiami, margin {MARGIN_F}: {result.days} days, {result.decided} brackets decided before close "
        f"({result.lost} lost, {result.won} won), median {result.median_hours_before_close:.2f} h before close "
        f"(10th pct {hours[len(hours) // 10]:.2f} h, min {hours[0]:.2f} h), wrong {len(result.wrong)}"
    )
    assert result.days == 197 and result.wrong == []
    assert (result.lost, result.won) == (678, 26)  # edge study §4: 704 = 678 lost + 26 won
    assert 12 < result.median_hours_before_close < 14


def test_the_margin_is_needed_and_has_room(shared_data: Path, recorded) -> None:
    feed, dataset = recorded
    naive = audit(shared_data, "MIA", 0.0, feed=feed, dataset=dataset)  # ceil(observed): no margin
    assert len(naive.wrong) > 0
    smallest = audit(shared_data, "MIA", 0.09, feed=feed, dataset=dataset)
    assert smallest.wrong == [] and smallest.decided == 704  # the whole safe range decides the same
    too_wide = audit(shared_data, "MIA", 0.95, feed=feed, dataset=dataset)
    assert too_wide.wrong == [] and too_wide.decided < 704
