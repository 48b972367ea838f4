"""Isolation: the publisher role reads analytics.* and gets "permission denied" on every ops table."""

import pytest

from daemon.ledger.db import DatabaseError


def select_as_publisher(db, sql):
    with db.transaction():
        db.execute("SET LOCAL ROLE milkbot_publisher")
        return db.query(sql)


def test_publisher_role_reads_analytics(pg_db):
    pg_db.execute("CREATE TABLE analytics.role_probe (x INTEGER)")
    pg_db.execute("INSERT INTO analytics.role_probe VALUES (1)")
    assert select_as_publisher(pg_db, "SELECT count(*) AS n FROM analytics.role_probe") == [{"n": 1}]


def test_publisher_role_is_denied_every_ops_table(pg_db):
    tables = [r["table_name"] for r in pg_db.query(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = 'ops' ORDER BY 1")]
    assert len(tables) >= 15
    for table in tables:
        with pytest.raises(DatabaseError, match="permission denied"):
            select_as_publisher(pg_db, f"SELECT * FROM ops.{table} LIMIT 1")
