"""The ledger has the same tables and columns on both engines, with the names external checks rely on."""

from daemon.ledger.db import connect

REQUIRED = {
    "ops": {
        "config_versions", "runs", "weather_snapshots", "market_snapshots", "decisions", "intents", "orders",
        "order_events", "fills", "positions", "settlements", "risk_events", "trading_state", "heartbeats",
        "schema_migrations", "model_params",
    }
}
MONEY_TYPES = {"DECIMAL", "NUMERIC", "INTEGER", "BIGINT"}


def catalogue(db):
    rows = db.query(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema IN ('ops', 'analytics') ORDER BY 1, 2, 3"
    )
    return {(r["table_schema"], r["table_name"], r["column_name"]): r["data_type"].upper() for r in rows}


def test_required_tables_and_columns(db):
    cols = catalogue(db)
    tables = {t for (s, t, _c) in cols if s == "ops"}
    assert REQUIRED["ops"] <= tables
    for column in [("ops", "orders", "client_order_id"), ("ops", "orders", "exchange_order_id"),
                   ("ops", "fills", "exchange_fill_id"), ("ops", "fills", "filled_at")]:
        assert column in cols


def test_money_columns_are_never_floating_point(db):
    money = {"price", "limit_price", "fee", "fees_paid", "revenue", "cost_basis", "realized_pnl", "edge",
             "fee_per_contract", "yes_bid", "yes_ask", "last_price"}
    for (schema, table, column), dtype in catalogue(db).items():
        if schema == "ops" and column in money:
            assert dtype.split("(")[0] in MONEY_TYPES, (table, column, dtype)


def test_both_engines_have_the_same_ops_tables_and_columns(pg_url, duckdb_url):
    with connect(pg_url) as pg, connect(duckdb_url) as duck:
        pg_cols = {k for k in catalogue(pg) if k[0] == "ops"}
        duck_cols = {k for k in catalogue(duck) if k[0] == "ops"}
    assert pg_cols == duck_cols


def test_client_order_id_is_unique(db):
    from datetime import datetime, timezone

    now = datetime(2026, 1, 1, tzinfo=timezone.utc)
    sql = ("INSERT INTO ops.orders (client_order_id, intent_key, intent_version, ticker, city_code, climate_day, side, action, "
           "count, limit_price, state, remaining_count, created_at, updated_at) "
           "VALUES ('c1', 'k', 1, 'T', 'NYC', DATE '2026-01-01', 'yes', 'buy', 1, 0.5, 'pending', 1, ?, ?) ON CONFLICT DO NOTHING")
    assert db.execute(sql, [now, now]) == 1
    assert db.execute(sql, [now, now]) == 0
