"""The spread model: measured from opposite-side sweeps within 60 s, by price level, walk-forward only."""

from __future__ import annotations

import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from daemon.backtest.spread import (
    DEFAULT_CENTS,
    SpreadModel,
    SpreadSamples,
    WalkForwardSpread,
    bucket_of,
)
from daemon.backtest.tape import Tape

sys.path.insert(0, str(Path(__file__).parent))
from _tape_kit import T0, T, market_row, shared_data, write_tape

M = "KXHIGHNY-25JAN10-B33.5"


def test_buckets_fold_yes_and_no_prices() -> None:
    assert [bucket_of(p) for p in (1, 2, 3, 9, 10, 19, 20, 34, 35, 50)] == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert bucket_of(97) == bucket_of(3) and bucket_of(70) == bucket_of(30)
    assert SpreadModel().spread_cents(30) == DEFAULT_CENTS[3]
    with pytest.raises(ValueError):
        SpreadModel((0, 1, 1, 1, 1))


def test_samples_are_opposite_side_sweeps_within_60_s(tmp_path: Path) -> None:
    root = write_tape(tmp_path, [market_row(M)], [
        T(0, 30), T(0, 32),                      # YES sweep, deepest 32
        T(30, 26, taker="no"),                   # NO taker 30 s later at 26: spread 32 − 26 = 6 at mid 29
        T(200, 27, taker="no"),                  # 170 s later, opposite side: too far apart
        T(230, 27, taker="no"),                  # same side: no sample
        T(240, 30),                              # YES 10 s after a NO at 27: spread 3 at mid 28.5
    ])
    samples = SpreadSamples(Tape.load(root))
    assert sorted(samples.spread.tolist()) == [3, 6]
    assert set(samples.bucket.tolist()) == {3}
    assert samples.time_us.tolist() == sorted(samples.time_us.tolist())


def test_fit_uses_only_samples_known_before_the_cut_and_defaults_when_thin(tmp_path: Path) -> None:
    trades = []
    for k in range(60):            # 60 pairs at 30 ¢ with a 2 ¢ spread before T0 + 2 h, then 60 with 8 ¢ after
        at = k * 100.0             # pairs 95 s apart: no sample across two pairs
        trades += [T(at, 31), T(at + 5, 29, taker="no")]
        late = 7200 + k * 100.0
        trades += [T(late, 34), T(late + 5, 26, taker="no")]
    samples = SpreadSamples(Tape.load(write_tape(tmp_path, [market_row(M)], trades)))
    early = samples.fit_before(T0 + timedelta(hours=2), min_samples=50)
    assert early.cents[3] == 2 and early.samples[3] == 60
    assert early.cents[0] == DEFAULT_CENTS[0] and early.samples[0] == 0     # no data there: the default
    later = samples.fit_before(T0 + timedelta(days=1), min_samples=50)
    assert later.samples[3] == 120 and later.cents[3] == 5                 # median of 2s and 8s = 5
    assert samples.fit_before(T0, min_samples=50).cents == DEFAULT_CENTS
    walk = WalkForwardSpread(Tape.load(write_tape(tmp_path / "b", [market_row(M)], trades)), min_samples=50)
    assert walk.model_at(T0 + timedelta(hours=5)).cents == DEFAULT_CENTS   # nothing before 00:00 of that day
    assert walk.model_at(T0 + timedelta(days=1)).cents[3] == 5


def test_the_real_tape_gives_the_studys_level_dependent_spread() -> None:
    samples = SpreadSamples(Tape.load(shared_data()))
    model = samples.fit_before(datetime(2025, 3, 2, tzinfo=UTC))
    print("\nspread by level on all of shared/data:", model.describe())
    # The study: 3 ¢ at 3–20 ¢ and 4–5 ¢ at 20–80 ¢; it widens with the level and is narrowest at the edges.
    assert model.cents[0] <= model.cents[1] <= model.cents[2] <= model.cents[3] <= model.cents[4]
    assert 2 <= model.cents[1] <= 3 and model.cents[2] == 3 and 4 <= model.cents[3] <= 5 and 4 <= model.cents[4] <= 5
    assert min(model.samples) > 1000
    # Walk-forward: the model for 2025-01-01 knows nothing of 2025 trades.
    assert samples.fit_before(datetime(2025, 1, 1, tzinfo=UTC), trailing=None).samples[3] \
        < samples.fit_before(datetime(2025, 3, 2, tzinfo=UTC), trailing=None).samples[3]
    # The thin legacy months (a few hundred pairs a bucket, median 0–1 ¢) keep the default table.
    assert samples.fit_before(datetime(2024, 10, 20, tzinfo=UTC)).cents == DEFAULT_CENTS
    assert samples.fit_before(datetime(2024, 10, 20, tzinfo=UTC), min_samples=100).cents[4] == 1


def test_the_fit_forgets_samples_older_than_its_window(tmp_path: Path) -> None:
    trades = []
    for k in range(60):
        trades += [T(k * 100.0, 34), T(k * 100.0 + 5, 26, taker="no")]          # 8 ¢ spreads on day 0
    samples = SpreadSamples(Tape.load(write_tape(tmp_path, [market_row(M)], trades)))
    assert samples.fit_before(T0 + timedelta(days=1), min_samples=50).cents[3] == 8
    assert samples.fit_before(T0 + timedelta(days=61), min_samples=50).cents == DEFAULT_CENTS
    assert samples.fit_before(T0 + timedelta(days=61), min_samples=50, trailing=None).cents[3] == 8
