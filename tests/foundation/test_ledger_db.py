from datetime import datetime, timedelta, timezone
from decimal import Decimal

import pytest

from daemon.ledger.db import DatabaseError, DatabaseURLError, Json, parse_database_url


def test_url_parsing():
    assert parse_database_url("duckdb:///tmp/x.duckdb") == ("duckdb", "/tmp/x.duckdb")
    assert parse_database_url("duckdb:///:memory:") == ("duckdb", ":memory:")
    assert parse_database_url("postgresql://u@h/db")[0] == "postgres"
    for bad in ("duckdb://host/x", "sqlite:///x", "duckdb:///"):
        with pytest.raises(DatabaseURLError):
            parse_database_url(bad)


def test_types_round_trip_identically_on_both_engines(db):
    at = datetime(2026, 3, 8, 6, 59, 59, tzinfo=timezone(timedelta(hours=-5)))
    db.execute(
        "INSERT INTO ops.config_versions (config_hash, config, first_seen_at) VALUES (?, ?, ?)",
        ["h1", Json({"price": Decimal("0.4512"), "nested": [1, "a%?"]}), at],
    )
    row = db.query_one("SELECT config, first_seen_at, 'lit%?' AS lit FROM ops.config_versions WHERE config_hash = ?", ["h1"])
    assert row["config"] == {"price": "0.4512", "nested": [1, "a%?"]}
    assert row["first_seen_at"] == at and row["first_seen_at"].tzinfo == timezone.utc
    assert row["lit"] == "lit%?"


def test_decimal_money_is_exact(db):
    db.execute("INSERT INTO ops.config_versions VALUES ('h', ?, ?)", [Json({}), datetime(2026, 1, 1, tzinfo=timezone.utc)])
    db.execute(
        "INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) VALUES (?, 'k', 'info', 'm', ?)",
        [datetime(2026, 1, 1, tzinfo=timezone.utc), Json({})],
    )
    total = db.scalar("SELECT CAST(0.1 AS DECIMAL(18,4)) + CAST(0.2 AS DECIMAL(18,4)) AS s")
    assert total == Decimal("0.3000")


def test_transaction_rolls_back_everything_on_error(db):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    with pytest.raises(RuntimeError):
        with db.transaction():
            db.execute("INSERT INTO ops.config_versions VALUES ('a', ?, ?)", [Json({}), now])
            with db.transaction():  # nested joins the outer one
                db.execute("INSERT INTO ops.config_versions VALUES ('b', ?, ?)", [Json({}), now])
            raise RuntimeError("boom")
    assert db.scalar("SELECT count(*) FROM ops.config_versions") == 0


def test_constraint_violation_is_a_database_error_naming_the_statement(db):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    db.execute("INSERT INTO ops.config_versions VALUES ('a', ?, ?)", [Json({}), now])
    with pytest.raises(DatabaseError, match="ops.config_versions"):
        db.execute("INSERT INTO ops.config_versions VALUES ('a', ?, ?)", [Json({}), now])
    assert db.scalar("SELECT count(*) FROM ops.config_versions") == 1


def test_nan_is_refused(db):
    with pytest.raises(DatabaseError, match="NaN"):
        db.execute("SELECT ?", [float("nan")])


def test_sequences_and_returning(db):
    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    ids = [
        db.query_one(
            "INSERT INTO ops.risk_events (occurred_at, kind, severity, message, detail) VALUES (?, 'k', 'info', 'm', ?) RETURNING id",
            [now, Json({})],
        )["id"]
        for _ in range(3)
    ]
    assert ids == sorted(set(ids)) and len(ids) == 3
