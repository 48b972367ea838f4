"""ModelParams: hash, save (dedup), load_latest / load_by_id on both engines."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from daemon.model.params import (
    CityClimate,
    ParamsError,
    default_params,
    load_by_id,
    load_latest,
    save_params,
)


def test_hash_is_stable_and_content_sensitive():
    a, b = default_params(), default_params()
    assert a.hash() == b.hash()
    changed = a.model_copy(update={"climate": {"NYC": CityClimate(mean_coef=(50.0, 1.0, 2.0))}})
    assert changed.hash() != a.hash()


def test_save_load_roundtrip(db, clock):
    assert load_latest(db) is None
    params = default_params().model_copy(update={"climate": {"NYC": CityClimate(mean_coef=(50.0, 1.0, 2.0))},
                                                 "market_gamma": {"3": 1.2}})
    first = save_params(db, params, clock, date(2024, 8, 1), date(2024, 12, 31))
    assert save_params(db, params, clock) == first           # same content: same row
    clock.advance(timedelta(minutes=1))
    second = save_params(db, default_params(), clock)
    assert second != first
    latest_id, latest = load_latest(db)
    assert latest_id == second and latest == default_params()
    assert load_by_id(db, first) == params
    row = db.query_one("SELECT model_version, fit_from, fit_to, params_hash FROM ops.model_params WHERE id = ?", [first])
    assert row["params_hash"] == params.hash() and str(row["fit_to"])[:10] == "2024-12-31"
    with pytest.raises(ParamsError):
        load_by_id(db, 999_999)
