-- Public, delayed, sanitised read functions for the publisher (DESIGN invariants 1 and 5). Postgres flavour;
-- 0030_analytics.duckdb.sql holds the same queries as DuckDB table macros with the same names and columns.
--
-- Every function takes the cut-off explicitly (the publisher passes publish time − 60 min) so tests can move it.
-- As a second lock, Postgres clamps the cut-off to the database's own now() − 60 min: even a publisher that asks
-- for the present cannot see younger rows. SECURITY DEFINER lets milkbot_publisher call them without any
-- privilege on ops.*; search_path is pinned so a caller cannot shadow the ops tables.
-- Public rows carry no order ids, client order ids, run ids or payloads; times are truncated to the minute.

CREATE OR REPLACE FUNCTION analytics.public_trades(p_cutoff TIMESTAMPTZ)
RETURNS TABLE (
    seq           BIGINT,
    trade_time    TIMESTAMPTZ,
    city_code     TEXT,
    ticker        TEXT,
    climate_day   DATE,
    side          TEXT,
    action        TEXT,
    count         DECIMAL(18, 2),
    price         DECIMAL(10, 4),
    fee           DECIMAL(18, 4),
    liquidity     TEXT,
    p_side        DOUBLE PRECISION,
    market_result TEXT,
    settled_at    TIMESTAMPTZ,
    pnl           DECIMAL(18, 4)
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH cut AS (SELECT LEAST(p_cutoff, now() - INTERVAL '60 minutes') AS t),
f AS (
    SELECT fl.id, fl.filled_at, fl.city_code, fl.ticker, fl.climate_day, fl.side, fl.action, fl.count, fl.price,
           fl.fee, fl.is_taker, COALESCE(fl.client_order_id, o.client_order_id) AS coid, cut.t AS cutoff
    FROM ops.fills fl
    CROSS JOIN cut
    LEFT JOIN ops.orders o ON o.exchange_order_id = fl.exchange_order_id
    WHERE fl.filled_at <= cut.t AND fl.received_at <= cut.t
),
priced AS (
    SELECT f.*, d.p_yes, s.market_result AS result, s.settled_at AS s_at
    FROM f
    LEFT JOIN ops.intents i ON i.client_order_id = f.coid
    LEFT JOIN ops.decisions d ON d.id = i.decision_id AND d.decided_at <= f.cutoff
    LEFT JOIN ops.settlements s ON s.ticker = f.ticker AND s.settled_at <= f.cutoff AND s.received_at <= f.cutoff
)
SELECT
    row_number() OVER (ORDER BY filled_at, id) AS seq,
    date_trunc('minute', filled_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS trade_time,
    city_code, ticker, climate_day, side, action, count, price, fee,
    CASE WHEN is_taker THEN 'taker' ELSE 'maker' END AS liquidity,
    CASE WHEN p_yes IS NULL THEN NULL WHEN side = 'yes' THEN p_yes ELSE 1 - p_yes END AS p_side,
    result AS market_result,
    date_trunc('minute', s_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS settled_at,
    CAST(CASE
        WHEN result IS NULL THEN NULL
        WHEN result NOT IN ('yes', 'no') THEN -fee
        WHEN action = 'buy' THEN (CASE WHEN side = result THEN count ELSE 0 END) - count * price - fee
        ELSE count * price - (CASE WHEN side = result THEN count ELSE 0 END) - fee
    END AS DECIMAL(18, 4)) AS pnl
FROM priced
ORDER BY seq
$$;

CREATE OR REPLACE FUNCTION analytics.city_weather(p_cutoff TIMESTAMPTZ)
RETURNS TABLE (
    city_code          TEXT,
    climate_day        DATE,
    observed_max_f     DOUBLE PRECISION,
    observed_until     TIMESTAMPTZ,
    observed_at        TIMESTAMPTZ,
    forecast_high_f    DOUBLE PRECISION,
    forecast_day       DATE,
    forecast_at        TIMESTAMPTZ
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH cut AS (SELECT LEAST(p_cutoff, now() - INTERVAL '60 minutes') AS t),
w AS (
    SELECT ws.* FROM ops.weather_snapshots ws CROSS JOIN cut
    WHERE ws.received_at <= cut.t AND (ws.observed_until IS NULL OR ws.observed_until <= cut.t)
),
obs AS (
    SELECT city_code, climate_day, observed_max_f, observed_until, received_at,
           row_number() OVER (PARTITION BY city_code ORDER BY received_at DESC, id DESC) AS rn
    FROM w WHERE observed_max_f IS NOT NULL
),
fc AS (
    SELECT city_code, climate_day, forecast_high_f, received_at,
           row_number() OVER (PARTITION BY city_code ORDER BY received_at DESC, id DESC) AS rn
    FROM w WHERE forecast_high_f IS NOT NULL
),
cities AS (SELECT DISTINCT city_code FROM w)
SELECT c.city_code AS city_code, obs.climate_day AS climate_day, obs.observed_max_f AS observed_max_f,
       date_trunc('minute', obs.observed_until AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS observed_until,
       date_trunc('minute', obs.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS observed_at,
       fc.forecast_high_f AS forecast_high_f, fc.climate_day AS forecast_day,
       date_trunc('minute', fc.received_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC' AS forecast_at
FROM cities c
LEFT JOIN obs ON obs.city_code = c.city_code AND obs.rn = 1
LEFT JOIN fc ON fc.city_code = c.city_code AND fc.rn = 1
ORDER BY c.city_code
$$;

CREATE OR REPLACE FUNCTION analytics.system_status(p_cutoff TIMESTAMPTZ)
RETURNS TABLE (
    cutoff              TIMESTAMPTZ,
    mode                TEXT,
    trading_state       TEXT,
    kill_switch         BOOLEAN,
    last_decision_at    TIMESTAMPTZ,
    decisions_24h       BIGINT,
    last_market_data_at TIMESTAMPTZ,
    last_weather_at     TIMESTAMPTZ,
    last_fill_at        TIMESTAMPTZ,
    risk_warning_24h    BIGINT,
    risk_critical_24h   BIGINT
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH cut AS (SELECT LEAST(p_cutoff, now() - INTERVAL '60 minutes') AS t)
SELECT
    cut.t AS cutoff,
    (SELECT r.mode FROM ops.runs r WHERE r.component IN ('daemon', 'demo') AND r.started_at <= cut.t
     ORDER BY r.started_at DESC, r.run_id DESC LIMIT 1) AS mode,
    (SELECT s.state FROM ops.trading_state s WHERE s.set_at <= cut.t ORDER BY s.set_at DESC, s.id DESC LIMIT 1) AS trading_state,
    (SELECT s.kill_switch FROM ops.trading_state s WHERE s.set_at <= cut.t ORDER BY s.set_at DESC, s.id DESC LIMIT 1) AS kill_switch,
    (SELECT date_trunc('minute', max(d.decided_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     FROM ops.decisions d WHERE d.decided_at <= cut.t) AS last_decision_at,
    (SELECT count(*) FROM ops.decisions d WHERE d.decided_at <= cut.t AND d.decided_at > cut.t - INTERVAL '24 hours') AS decisions_24h,
    (SELECT date_trunc('minute', max(m.received_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     FROM ops.market_snapshots m WHERE m.received_at <= cut.t) AS last_market_data_at,
    (SELECT date_trunc('minute', max(w.received_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     FROM ops.weather_snapshots w WHERE w.received_at <= cut.t) AS last_weather_at,
    (SELECT date_trunc('minute', max(f.filled_at) AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
     FROM ops.fills f WHERE f.filled_at <= cut.t AND f.received_at <= cut.t) AS last_fill_at,
    (SELECT count(*) FROM ops.risk_events e
     WHERE e.severity = 'warning' AND e.occurred_at <= cut.t AND e.occurred_at > cut.t - INTERVAL '24 hours') AS risk_warning_24h,
    (SELECT count(*) FROM ops.risk_events e
     WHERE e.severity = 'critical' AND e.occurred_at <= cut.t AND e.occurred_at > cut.t - INTERVAL '24 hours') AS risk_critical_24h
FROM cut
$$;

REVOKE ALL ON FUNCTION analytics.public_trades(TIMESTAMPTZ) FROM PUBLIC;
REVOKE ALL ON FUNCTION analytics.city_weather(TIMESTAMPTZ) FROM PUBLIC;
REVOKE ALL ON FUNCTION analytics.system_status(TIMESTAMPTZ) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics.public_trades(TIMESTAMPTZ) TO milkbot_publisher;
GRANT EXECUTE ON FUNCTION analytics.city_weather(TIMESTAMPTZ) TO milkbot_publisher;
GRANT EXECUTE ON FUNCTION analytics.system_status(TIMESTAMPTZ) TO milkbot_publisher;
