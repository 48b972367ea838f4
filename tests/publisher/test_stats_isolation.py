"""The publisher role learns nothing about ops younger than 60 minutes by any route Postgres offers
a role.

Each route is tried as milkbot_publisher (through the publisher's own reader) right after the
daemon's session has written fills, analysed the ops tables and still holds its advisory lock. Every
route must be denied. The routes Postgres cannot close for a role that may run the analytics
functions are listed in RESIDUAL_ROUTES and must be named, with their mitigation, in
deploy/RUNBOOK.md.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from publisher_ledger_kit import LedgerKit

from daemon.ledger.db import Database, connect
from daemon.ledger.migrate import MIGRATIONS_DIR, migrate
from daemon.runtime import lock as daemon_lock
from publisher.db import PostgresReader, PublisherDBError

pytestmark = pytest.mark.postgres

REPO = Path(__file__).resolve().parents[2]
HARDENING = MIGRATIONS_DIR / "0040_publisher_stats_isolation.postgres.sql"
MARKER = "fills_marker_9d1c"
LOCK_KEY = daemon_lock._ADVISORY_KEY

# Routes Postgres cannot close for a role that may call the analytics functions (see RUNBOOK).
RESIDUAL_ROUTES = ("EXPLAIN (ANALYZE, BUFFERS)", "timing")

# Each route, as SQL the publisher might send; {fills} is the oid of ops.fills, {seq} of its
# id sequence.
ROUTES = {
    "pg_stat_user_tables": "SELECT n_tup_ins FROM pg_stat_user_tables WHERE relname = 'fills'",
    "pg_stat_all_tables": "SELECT n_tup_ins, n_live_tup FROM pg_stat_all_tables"
    " WHERE relid = {fills}",
    "pg_stat_xact_user_tables": "SELECT n_tup_ins FROM pg_stat_xact_user_tables",
    "pg_statio_user_tables": "SELECT heap_blks_hit FROM pg_statio_user_tables"
    " WHERE relid = {fills}",
    "pg_statio_all_tables": "SELECT heap_blks_read FROM pg_statio_all_tables WHERE relid = {fills}",
    "pg_statio_user_indexes": "SELECT idx_blks_hit FROM pg_statio_user_indexes",
    "pg_statio_user_sequences": "SELECT blks_hit FROM pg_statio_user_sequences",
    "pg_stat_user_indexes": "SELECT idx_scan FROM pg_stat_user_indexes",
    "pg_stat_get_tuples_inserted": "SELECT pg_stat_get_tuples_inserted({fills})",
    "pg_stat_get_live_tuples": "SELECT pg_stat_get_live_tuples({fills})",
    "pg_stat_get_xact_tuples_inserted": "SELECT pg_stat_get_xact_tuples_inserted({fills})",
    "pg_stat_get_ins_since_vacuum": "SELECT pg_stat_get_ins_since_vacuum({fills})",
    "pg_stat_get_last_analyze_time": "SELECT pg_stat_get_last_analyze_time({fills})",
    "pg_relation_size": "SELECT pg_relation_size({fills})",
    "pg_relation_size fork": "SELECT pg_relation_size({fills}, 'main')",
    "pg_total_relation_size": "SELECT pg_total_relation_size({fills})",
    "pg_table_size": "SELECT pg_table_size({fills})",
    "pg_indexes_size": "SELECT pg_indexes_size({fills})",
    "pg_database_size": "SELECT pg_database_size(current_database())",
    "pg_tablespace_size": "SELECT pg_tablespace_size('pg_default')",
    "pg_class.reltuples": "SELECT reltuples FROM pg_class WHERE oid = {fills}",
    "pg_class.relpages": "SELECT relpages FROM pg_class WHERE oid = {fills}",
    "pg_class.relallvisible": "SELECT relallvisible FROM pg_class WHERE oid = {fills}",
    "pg_class.*": "SELECT * FROM pg_class WHERE oid = {fills}",
    "pg_database.datfrozenxid": "SELECT datfrozenxid FROM pg_database"
    " WHERE datname = current_database()",
    "pg_locks": "SELECT locktype, objid FROM pg_locks",
    "pg_lock_status": "SELECT * FROM pg_lock_status()",
    "pg_blocking_pids": "SELECT pg_blocking_pids(pg_backend_pid())",
    "pg_stat_activity": f"SELECT query, state FROM pg_stat_activity WHERE query LIKE '%{MARKER}%'",
    "pg_stat_get_activity": "SELECT * FROM pg_stat_get_activity(NULL)",
    "pg_stat_database xact_commit": "SELECT xact_commit, tup_inserted FROM pg_stat_database",
    "pg_stat_get_db_tuples_inserted": "SELECT pg_stat_get_db_tuples_inserted(oid) FROM pg_database",
    "pg_stat_wal": "SELECT wal_records FROM pg_stat_wal",
    "pg_stat_bgwriter": "SELECT buffers_alloc FROM pg_stat_bgwriter",
    "pg_sequence_last_value": "SELECT pg_sequence_last_value({seq})",
    "sequence last_value by name": "SELECT last_value FROM ops.fills_seq",
    "txid_current": "SELECT txid_current()",
    "pg_current_xact_id": "SELECT pg_current_xact_id()",
    "txid_current_snapshot": "SELECT txid_current_snapshot()",
    "pg_current_snapshot": "SELECT pg_current_snapshot()",
    "age(xid)": "SELECT age('3'::xid)",
    "mxid_age": "SELECT mxid_age('1'::xid)",
    "pg_get_multixact_members": "SELECT * FROM pg_get_multixact_members('1'::xid)",
    "pg_xact_status": "SELECT pg_xact_status('3'::xid8)",
    "txid_status": "SELECT txid_status(3)",
    "pg_control_checkpoint": "SELECT next_xid FROM pg_control_checkpoint()",
    "pg_current_wal_lsn": "SELECT pg_current_wal_lsn()",
    "pg_current_wal_insert_lsn": "SELECT pg_current_wal_insert_lsn()",
    "pg_replication_slots": "SELECT restart_lsn FROM pg_replication_slots",
    "advisory lock probe": f"SELECT pg_try_advisory_lock({LOCK_KEY})",
    "advisory shared lock probe": f"SELECT pg_try_advisory_lock_shared({LOCK_KEY})",
    "catalog xmin": "SELECT xmin FROM pg_namespace LIMIT 1",
    "pg_db_role_setting xmin": "SELECT xmin FROM pg_db_role_setting",
    "pg_default_acl xmin": "SELECT xmin FROM pg_default_acl",
    "lo_create (an xid of one's own)": "SELECT lo_create(0)",
    "temporary table (an xid of one's own)": "CREATE TEMPORARY TABLE probe (a INTEGER)",
    "table in public (an xid of one's own)": "CREATE TABLE public.probe (a INTEGER)",
}


@dataclass(frozen=True)
class Busy:
    db: Database
    url: str
    oids: dict[str, int]


def _oid(db: Database, name: str) -> int:
    return db.scalar("SELECT ?::regclass::oid", [name])


@pytest.fixture(scope="module")
def busy_ops(pg_server_url: str) -> Iterator[Busy]:
    """A database migrated from nothing, as in production (CREATE DATABASE … TEMPLATE would not
    copy the database's own ACL), and the daemon's session seconds after writing fills: analysed,
    statistics flushed,
    holding its advisory lock."""
    name = f"milkbot_stats_{os.getpid()}"
    with connect(pg_server_url) as admin:
        admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        admin.execute(f"CREATE DATABASE {name}")
    url = urlunsplit(urlsplit(pg_server_url)._replace(path=f"/{name}"))
    db = connect(url)
    try:
        migrate(db)
        now = db.scalar("SELECT now()")
        kit = LedgerKit(db, secret="stats")
        for minute in range(1, 6):
            kit.trade(
                now - timedelta(minutes=minute),
                "NYC",
                now.date(),
                40 + minute,
                received_at=now - timedelta(minutes=minute),
            )
        db.execute("ANALYZE ops.fills")
        db.scalar("SELECT pg_stat_force_next_flush() IS NULL")
        oids = {"fills": _oid(db, "ops.fills"), "seq": _oid(db, "ops.fills_seq")}
        # The last statement of the daemon's session, as pg_stat_activity would show it.
        assert db.scalar(f"SELECT pg_try_advisory_lock({LOCK_KEY}) /* {MARKER} */") is True
        yield Busy(db, url, oids)
    finally:
        db.close()
        with connect(pg_server_url) as admin:
            admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(scope="module")
def publisher(busy_ops: Busy) -> Iterator[PostgresReader]:
    reader = PostgresReader(busy_ops.url, role="milkbot_publisher")
    yield reader
    reader.close()


@pytest.mark.parametrize("route", sorted(ROUTES))
def test_each_route_is_denied_to_the_publisher(busy_ops, publisher, route):
    sql = ROUTES[route].format(**busy_ops.oids)
    publisher.query(
        "SET default_transaction_read_only = off"
    )  # an adversary holding the role would
    with pytest.raises(PublisherDBError, match="permission denied|must be owner"):
        rows = publisher.query(sql)
        print(f"{route} revealed {rows!r}")


def test_the_daemon_session_sees_its_own_statistics(busy_ops):
    """Sanity: the routes are live (the daemon's session sees the fresh inserts), so denial is what
    protects them."""
    db, fills = busy_ops.db, busy_ops.oids["fills"]
    assert db.scalar("SELECT pg_stat_get_tuples_inserted(?)", [fills]) >= 5
    assert db.scalar("SELECT reltuples FROM pg_class WHERE oid = ?", [fills]) >= 5
    assert db.scalar("SELECT pg_relation_size(?)", [fills]) > 0


def test_no_statistics_function_or_view_is_left_to_the_publisher(busy_ops, publisher):
    """A sweep, so a route missing from ROUTES (or new in a later Postgres) is still caught."""
    open_functions = publisher.query(
        "SELECT p.oid::regprocedure::text AS f FROM pg_proc p "
        "WHERE p.pronamespace = 'pg_catalog'::regnamespace "
        "AND (p.proname ~ '^pg_stat_|size$|lock|_lsn$|xact|txid|snapshot$|^pg_control_|blocking' "
        "     OR p.oid = 'age(xid)'::regprocedure) "
        "AND p.proname NOT IN ('pg_size_pretty', 'pg_size_bytes', 'pg_column_size', "
        "                      'pg_export_snapshot', "
        "                     'clock_timestamp') "
        "AND p.proname !~ "
        "    '^(txid_snapshot|pg_snapshot|pg_lsn|pg_visible|txid_visible|brin_|numeric_)' "
        "AND p.prorettype <> 'trigger'::regtype "
        "AND has_function_privilege(current_user, p.oid, 'EXECUTE') ORDER BY 1"
    )
    assert [r["f"] for r in open_functions] == []
    open_views = publisher.query(
        "SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'pg_catalog'::regnamespace "
        "AND (c.relname ~ '^pg_stat(io){0,1}_' "
        "     OR c.relname IN ('pg_locks', 'pg_replication_slots')) "
        "AND has_table_privilege(current_user, c.oid, 'SELECT') ORDER BY 1"
    )
    assert [r["relname"] for r in open_views] == []
    readable_system_columns = publisher.query(
        "SELECT c.relname FROM pg_class c "
        "WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r' "
        "AND has_column_privilege(current_user, c.oid, 'xmin', 'SELECT') ORDER BY 1"
    )
    assert [r["relname"] for r in readable_system_columns] == []


def test_the_publisher_has_no_role_to_inherit_from(busy_ops, publisher):
    assert publisher.query(
        "SELECT rolsuper, rolbypassrls, rolreplication, rolcreaterole, rolcreatedb "
        "FROM pg_roles WHERE rolname = current_user"
    ) == [
        {
            "rolsuper": False,
            "rolbypassrls": False,
            "rolreplication": False,
            "rolcreaterole": False,
            "rolcreatedb": False,
        }
    ]
    assert (
        publisher.query(
            "SELECT roleid::regrole::text AS r FROM pg_auth_members "
            "WHERE member = 'milkbot_publisher'::regrole"
        )
        == []
    )
    for role in ("pg_monitor", "pg_read_all_stats", "pg_read_all_data", "pg_stat_scan_tables"):
        assert publisher.query("SELECT pg_has_role(current_user, ?, 'USAGE') AS m", [role]) == [
            {"m": False}
        ]


def test_the_publisher_still_reads_the_catalog_and_its_analytics(busy_ops, publisher):
    """Over-revoking would break the publisher: names in pg_class and the delayed analytics still
    work."""
    assert publisher.query("SELECT relname FROM pg_class WHERE relname = 'fills'") == [
        {"relname": "fills"}
    ]
    assert publisher.query(
        "SELECT count(*) AS n FROM pg_namespace WHERE nspname = 'analytics'"
    ) == [{"n": 1}]
    now = busy_ops.db.scalar("SELECT now()")
    assert (
        publisher.query("SELECT ticker FROM analytics.public_trades(?)", [now]) == []
    )  # all 1–5 min old


def _rerun_hardening_as_superuser(db: Database) -> None:
    db.executescript(HARDENING.read_text(encoding="utf-8"))


def test_rerunning_the_hardening_strips_memberships_and_new_stats_extensions(pg_db, pg_url):
    """deploy/postgres-roles.sh and the runbook run the file again as the superuser: it is
    idempotent, takes away every role membership (pg_monitor and the like; a harmless role stands in
    for them here, because milkbot_publisher is shared by the whole server) and closes statistics
    extensions installed since."""
    group = f"milkbot_probe_group_{pg_db.scalar('SELECT pg_backend_pid()')}"
    pg_db.execute(f"CREATE ROLE {group} NOLOGIN")
    try:
        pg_db.execute(f"GRANT {group} TO milkbot_publisher")
        pg_db.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
        assert pg_db.scalar(
            "SELECT has_table_privilege('milkbot_publisher', 'pg_stat_statements', 'SELECT')"
        )
        _rerun_hardening_as_superuser(pg_db)
        _rerun_hardening_as_superuser(pg_db)
        reader = PostgresReader(pg_url, role="milkbot_publisher")
        try:
            assert (
                reader.query(
                    "SELECT roleid::regrole::text AS r FROM pg_auth_members "
                    "WHERE member = 'milkbot_publisher'::regrole"
                )
                == []
            )
            assert reader.query(
                "SELECT has_table_privilege(current_user, 'pg_stat_statements', 'SELECT') AS v, "
                "has_function_privilege(current_user, 'pg_stat_statements(boolean)', 'EXECUTE')"
                " AS f"
            ) == [{"v": False, "f": False}]
            with pytest.raises(PublisherDBError, match="permission denied"):
                reader.query("SELECT * FROM ops.fills LIMIT 1")
        finally:
            reader.close()
    finally:
        pg_db.execute(f"DROP ROLE IF EXISTS {group}")


def test_a_non_superuser_migrator_closes_what_it_can_and_does_not_fail(pg_db, pg_url):
    """The daemon role runs `milkbot db migrate` without superuser: the file must not fail there."""
    owner = f"milkbot_probe_owner_{pg_db.scalar('SELECT pg_backend_pid()')}"
    pg_db.execute(f"CREATE ROLE {owner} NOLOGIN")
    try:
        name = pg_db.scalar("SELECT current_database()")
        pg_db.execute(f"ALTER DATABASE {name} OWNER TO {owner}")
        pg_db.execute(f"GRANT TEMPORARY ON DATABASE {name} TO PUBLIC")
        with pg_db.transaction():
            pg_db.execute(f"SET LOCAL ROLE {owner}")
            pg_db.executescript(HARDENING.read_text(encoding="utf-8"))
        assert not pg_db.scalar(
            f"SELECT has_database_privilege('milkbot_publisher', '{name}', 'TEMPORARY')"
        )
    finally:
        with connect(pg_url) as again:
            again.execute(
                "ALTER DATABASE " + again.scalar("SELECT current_database()") + " OWNER TO postgres"
            )
        pg_db.execute(f"DROP OWNED BY {owner}")
        pg_db.execute(f"DROP ROLE {owner}")


def test_the_residual_routes_are_documented_with_their_mitigation():
    runbook = (REPO / "deploy" / "RUNBOOK.md").read_text(encoding="utf-8")
    for route in RESIDUAL_ROUTES:
        assert route in runbook, f"{route} is not named in deploy/RUNBOOK.md"
    assert "delayed replica" in runbook
    assert "0040_publisher_stats_isolation.postgres.sql" in runbook
    assert (
        "0040_publisher_stats_isolation.postgres.sql"
        in (REPO / "deploy" / "postgres-roles.sh").read_text()
    )
