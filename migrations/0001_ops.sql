-- The operational ledger (schema ops) and the empty public schema (analytics).
-- Runs unchanged on Postgres and DuckDB: sequences with DEFAULT nextval, JSON, TIMESTAMPTZ, DECIMAL.
-- Money and prices are DECIMAL dollars (Kalshi quotes sub-cent prices, so 4 places); counts DECIMAL (fractional contracts exist).
-- Temperatures are DOUBLE PRECISION: they are measurements, not money.

CREATE SCHEMA IF NOT EXISTS ops;
CREATE SCHEMA IF NOT EXISTS analytics;

-- Every distinct canonical configuration, by SHA-256 of its canonical JSON (secrets excluded).
CREATE TABLE ops.config_versions (
    config_hash   TEXT PRIMARY KEY,
    config        JSON NOT NULL,
    first_seen_at TIMESTAMPTZ NOT NULL
);

CREATE SEQUENCE ops.runs_seq;
CREATE TABLE ops.runs (
    run_id       BIGINT PRIMARY KEY DEFAULT nextval('ops.runs_seq'),
    component    TEXT NOT NULL,               -- daemon | publisher | demo | backtest
    mode         TEXT NOT NULL,               -- shadow | demo | live
    env          TEXT NOT NULL,               -- dev | demo | live
    config_hash  TEXT NOT NULL REFERENCES ops.config_versions (config_hash),
    code_version TEXT NOT NULL,
    host         TEXT,
    pid          INTEGER,
    started_at   TIMESTAMPTZ NOT NULL,
    stopped_at   TIMESTAMPTZ,
    exit_reason  TEXT
);

CREATE SEQUENCE ops.model_params_seq;
CREATE TABLE ops.model_params (
    id            BIGINT PRIMARY KEY DEFAULT nextval('ops.model_params_seq'),
    params_hash   TEXT NOT NULL UNIQUE,
    model_version TEXT NOT NULL,
    fitted_at     TIMESTAMPTZ NOT NULL,
    fit_from      DATE,
    fit_to        DATE,
    params        JSON NOT NULL
);

-- What the daemon knew about the weather, exactly as received. issued_at: when the source issued it;
-- valid_at: the instant/period it describes; received_at: when we had it (the as-of key for replay).
CREATE SEQUENCE ops.weather_snapshots_seq;
CREATE TABLE ops.weather_snapshots (
    id              BIGINT PRIMARY KEY DEFAULT nextval('ops.weather_snapshots_seq'),
    city_code       TEXT NOT NULL,
    climate_day     DATE NOT NULL,
    source          TEXT NOT NULL,            -- nws_forecast | nws_hourly | nws_observations | cli | assembled | sim
    issued_at       TIMESTAMPTZ,
    valid_at        TIMESTAMPTZ,
    received_at     TIMESTAMPTZ NOT NULL,
    forecast_high_f DOUBLE PRECISION,
    hourly_max_f    DOUBLE PRECISION,
    observed_max_f  DOUBLE PRECISION,
    observed_until  TIMESTAMPTZ,
    payload         JSON NOT NULL
);
CREATE INDEX weather_snapshots_city_day ON ops.weather_snapshots (city_code, climate_day, received_at);

-- One market's state as received: top of book, depth, and the raw payload.
CREATE SEQUENCE ops.market_snapshots_seq;
CREATE TABLE ops.market_snapshots (
    id            BIGINT PRIMARY KEY DEFAULT nextval('ops.market_snapshots_seq'),
    ticker        TEXT NOT NULL,
    event_ticker  TEXT NOT NULL,
    city_code     TEXT NOT NULL,
    climate_day   DATE NOT NULL,
    status        TEXT NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    close_time    TIMESTAMPTZ,
    yes_bid       DECIMAL(10, 4),            -- NULL = no bid (an empty side is "no market", never 0)
    yes_ask       DECIMAL(10, 4),
    yes_bid_size  DECIMAL(18, 2),
    yes_ask_size  DECIMAL(18, 2),
    last_price    DECIMAL(10, 4),
    volume        DECIMAL(18, 2),
    open_interest DECIMAL(18, 2),
    orderbook     JSON NOT NULL,
    payload       JSON NOT NULL
);
CREATE INDEX market_snapshots_ticker ON ops.market_snapshots (ticker, received_at);

-- One row per evaluated market per cycle, with every input reference needed to replay it.
CREATE SEQUENCE ops.decisions_seq;
CREATE TABLE ops.decisions (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('ops.decisions_seq'),
    run_id              BIGINT REFERENCES ops.runs (run_id),
    cycle_id            TEXT NOT NULL,
    decided_at          TIMESTAMPTZ NOT NULL,
    ticker              TEXT NOT NULL,
    event_ticker        TEXT NOT NULL,
    city_code           TEXT NOT NULL,
    climate_day         DATE NOT NULL,
    config_hash         TEXT NOT NULL REFERENCES ops.config_versions (config_hash),
    model_params_id     BIGINT REFERENCES ops.model_params (id),
    market_snapshot_id  BIGINT REFERENCES ops.market_snapshots (id),
    weather_snapshot_id BIGINT REFERENCES ops.weather_snapshots (id),
    p_yes               DOUBLE PRECISION,
    p_uncertainty       DOUBLE PRECISION,
    side                TEXT,                 -- yes | no | NULL when no trade
    action              TEXT,                 -- buy | sell
    price               DECIMAL(10, 4),       -- limit price of the side traded
    fee_per_contract    DECIMAL(10, 4),
    edge                DECIMAL(10, 4),       -- per contract, after fees
    size                DECIMAL(18, 2) NOT NULL DEFAULT 0,
    outcome             TEXT NOT NULL,        -- trade | skip | blocked
    reason_codes        JSON NOT NULL,
    features            JSON NOT NULL,
    intent_key          TEXT
);
CREATE INDEX decisions_ticker ON ops.decisions (ticker, decided_at);

-- What the daemon wants to hold. Written BEFORE any order is sent; the client order id derives from (intent_key, version).
CREATE TABLE ops.intents (
    intent_key      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    decision_id     BIGINT REFERENCES ops.decisions (id),
    ticker          TEXT NOT NULL,
    city_code       TEXT NOT NULL,
    climate_day     DATE NOT NULL,
    side            TEXT NOT NULL,
    action          TEXT NOT NULL,
    count           DECIMAL(18, 2) NOT NULL,
    limit_price     DECIMAL(10, 4) NOT NULL,
    client_order_id TEXT NOT NULL UNIQUE,
    state           TEXT NOT NULL,            -- pending | sending | unknown | live | done | rejected | superseded | canceled
    reason          TEXT,
    created_at      TIMESTAMPTZ NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (intent_key, version)
);

CREATE SEQUENCE ops.orders_seq;
CREATE TABLE ops.orders (
    id                BIGINT PRIMARY KEY DEFAULT nextval('ops.orders_seq'),
    client_order_id   TEXT NOT NULL UNIQUE,
    exchange_order_id TEXT UNIQUE,
    intent_key        TEXT NOT NULL,
    intent_version    INTEGER NOT NULL,
    ticker            TEXT NOT NULL,
    city_code         TEXT NOT NULL,
    climate_day       DATE NOT NULL,
    side              TEXT NOT NULL,
    action            TEXT NOT NULL,
    count             DECIMAL(18, 2) NOT NULL,
    limit_price       DECIMAL(10, 4) NOT NULL,
    state             TEXT NOT NULL,          -- pending | sent | unknown | resting | executed | canceled | rejected | expired
    filled_count      DECIMAL(18, 2) NOT NULL DEFAULT 0,
    remaining_count   DECIMAL(18, 2) NOT NULL,
    fees_paid         DECIMAL(18, 4) NOT NULL DEFAULT 0,
    last_error        TEXT,
    created_at        TIMESTAMPTZ NOT NULL,
    sent_at           TIMESTAMPTZ,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- Append-only: every state transition of every order, with who/what caused it.
CREATE SEQUENCE ops.order_events_seq;
CREATE TABLE ops.order_events (
    id              BIGINT PRIMARY KEY DEFAULT nextval('ops.order_events_seq'),
    client_order_id TEXT NOT NULL,
    occurred_at     TIMESTAMPTZ NOT NULL,
    from_state      TEXT,
    to_state        TEXT NOT NULL,
    cause           TEXT NOT NULL,            -- send | response | reconcile | cancel | fill | expiry | operator
    detail          JSON NOT NULL
);
CREATE INDEX order_events_order ON ops.order_events (client_order_id, id);

CREATE SEQUENCE ops.fills_seq;
CREATE TABLE ops.fills (
    id                BIGINT PRIMARY KEY DEFAULT nextval('ops.fills_seq'),
    exchange_fill_id  TEXT NOT NULL UNIQUE,
    exchange_order_id TEXT NOT NULL,
    client_order_id   TEXT,                   -- joined via exchange_order_id; fills carry no client id on the wire
    ticker            TEXT NOT NULL,
    city_code         TEXT NOT NULL,
    climate_day       DATE NOT NULL,
    side              TEXT NOT NULL,
    action            TEXT NOT NULL,
    count             DECIMAL(18, 2) NOT NULL,
    price             DECIMAL(10, 4) NOT NULL,   -- price paid for the side traded
    is_taker          BOOLEAN NOT NULL,
    fee               DECIMAL(18, 4) NOT NULL,
    filled_at         TIMESTAMPTZ NOT NULL,
    received_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX fills_filled_at ON ops.fills (filled_at);

-- Current holdings per market: signed YES contracts (NO held = negative), as last reconciled.
CREATE TABLE ops.positions (
    ticker          TEXT PRIMARY KEY,
    city_code       TEXT NOT NULL,
    climate_day     DATE NOT NULL,
    position        DECIMAL(18, 2) NOT NULL,
    cost_basis      DECIMAL(18, 4) NOT NULL,  -- dollars paid for the open contracts, fees excluded
    fees_paid       DECIMAL(18, 4) NOT NULL,
    realized_pnl    DECIMAL(18, 4) NOT NULL,
    updated_at      TIMESTAMPTZ NOT NULL,
    reconciled_at   TIMESTAMPTZ
);

CREATE TABLE ops.settlements (
    ticker        TEXT PRIMARY KEY,
    event_ticker  TEXT NOT NULL,
    city_code     TEXT NOT NULL,
    climate_day   DATE NOT NULL,
    market_result TEXT NOT NULL,              -- yes | no | void
    settled_value DOUBLE PRECISION,
    yes_count     DECIMAL(18, 2) NOT NULL,
    no_count      DECIMAL(18, 2) NOT NULL,
    revenue       DECIMAL(18, 4) NOT NULL,    -- dollars paid out by the exchange
    settled_at    TIMESTAMPTZ NOT NULL,
    received_at   TIMESTAMPTZ NOT NULL,
    payload       JSON NOT NULL
);

CREATE SEQUENCE ops.risk_events_seq;
CREATE TABLE ops.risk_events (
    id          BIGINT PRIMARY KEY DEFAULT nextval('ops.risk_events_seq'),
    occurred_at TIMESTAMPTZ NOT NULL,
    kind        TEXT NOT NULL,                -- cap_breach | loss_limit | breaker | kill_switch | stale_data | reconcile | ...
    severity    TEXT NOT NULL,                -- info | warning | critical
    ticker      TEXT,
    city_code   TEXT,
    intent_key  TEXT,
    message     TEXT NOT NULL,
    detail      JSON NOT NULL
);
CREATE INDEX risk_events_time ON ops.risk_events (occurred_at);

-- Trading state history; the newest row is the current state. It survives restarts.
CREATE SEQUENCE ops.trading_state_seq;
CREATE TABLE ops.trading_state (
    id          BIGINT PRIMARY KEY DEFAULT nextval('ops.trading_state_seq'),
    state       TEXT NOT NULL,                -- ACTIVE | REDUCING | HALTED
    kill_switch BOOLEAN NOT NULL,
    reason      TEXT NOT NULL,
    set_by      TEXT NOT NULL,                -- operator:<name> | risk:<rule> | system
    set_at      TIMESTAMPTZ NOT NULL,
    until_at    TIMESTAMPTZ                   -- automatic resume time, e.g. the 24 h daily-loss pause
);

CREATE TABLE ops.heartbeats (
    component TEXT PRIMARY KEY,
    run_id    BIGINT,
    beat_at   TIMESTAMPTZ NOT NULL,
    status    TEXT NOT NULL,
    detail    JSON NOT NULL
);
