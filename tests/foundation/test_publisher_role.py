"""Isolation: the publisher role reads analytics.* and nothing in ops.*."""

import pytest

from daemon.ledger.db import DatabaseError


def test_publisher_role_cannot_read_ops(pg_db):
    pg_db.execute("CREATE TABLE analytics.role_probe (x INTEGER)")
    pg_db.execute("INSERT INTO analytics.role_probe VALUES (1)")
    with pg_db.transaction():
        pg_db.execute("SET LOCAL ROLE milkbot_publisher")
        assert pg_db.scalar("SELECT count(*) FROM analytics.role_probe") == 1
    for table in ("ops.orders", "ops.fills", "ops.decisions", "ops.config_versions"):
        with pytest.raises(DatabaseError, match="permission denied"):
            with pg_db.transaction():
                pg_db.execute("SET LOCAL ROLE milkbot_publisher")
                pg_db.query(f"SELECT * FROM {table}")
