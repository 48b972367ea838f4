-- The public trade record names the strategy that made each trade (issue 11). Postgres flavour of
-- 0041_analytics_strategy.duckdb.sql: redefines analytics.public_trades(cutoff) from 0030_analytics.postgres.sql
-- with one more column, `strategy` (the intent key's purpose; `entry` is the taker; NULL unless a known
-- strategy). A function's result columns cannot change in place, so it is dropped and created again, with
-- 0030's SECURITY DEFINER, pinned search_path, clamp to now() − 60 min, PUBLIC revoked and EXECUTE for
-- milkbot_publisher only.

DROP FUNCTION analytics.public_trades(TIMESTAMPTZ);

CREATE FUNCTION analytics.public_trades(p_cutoff TIMESTAMPTZ)
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
    pnl           DECIMAL(18, 4),
    strategy      TEXT
)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH cut AS (SELECT LEAST(p_cutoff, now() - INTERVAL '60 minutes') AS t),
f AS (
    SELECT fl.id, fl.filled_at, fl.city_code, fl.ticker, fl.climate_day, fl.side, fl.action, fl.count, fl.price,
           fl.fee, fl.is_taker, COALESCE(fl.client_order_id, o.client_order_id) AS coid, o.intent_key AS order_key,
           cut.t AS cutoff
    FROM ops.fills fl
    CROSS JOIN cut
    LEFT JOIN ops.orders o ON o.exchange_order_id = fl.exchange_order_id
    WHERE fl.filled_at <= cut.t AND fl.received_at <= cut.t
),
priced AS (
    SELECT f.*, COALESCE(f.order_key, i.intent_key) AS intent_key, d.p_yes, s.market_result AS result,
           s.settled_at AS s_at
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
    END AS DECIMAL(18, 4)) AS pnl,
    CASE
        WHEN length(intent_key) - length(replace(intent_key, ':', '')) <> 4 THEN NULL
        WHEN split_part(intent_key, ':', 5) IN ('entry', 'taker') THEN 'taker'
        WHEN split_part(intent_key, ':', 5) IN ('fixed_offset_maker', 'model_maker')
            THEN split_part(intent_key, ':', 5)
    END AS strategy
FROM priced
ORDER BY seq
$$;

REVOKE ALL ON FUNCTION analytics.public_trades(TIMESTAMPTZ) FROM PUBLIC;
GRANT EXECUTE ON FUNCTION analytics.public_trades(TIMESTAMPTZ) TO milkbot_publisher;
