-- Isolation, second half (DESIGN invariant 5): milkbot_publisher must learn nothing about ops
-- younger than 60 minutes by any route, and Postgres hands every role a lot by default: statistics
-- views and pg_stat_get_* functions (tuples inserted into ops.fills a second ago), relation and
-- database sizes, pg_locks, pg_stat_activity, WAL positions, the transaction-id counter
-- (txid_current, age(xid), pg_xact_status, pg_control_checkpoint), pg_class.reltuples/relpages
-- after ANALYZE, advisory locks (is a daemon running?), and the xmin of catalog rows the role can
-- make itself (ALTER ROLE self SET, ALTER DEFAULT PRIVILEGES, lo_create). This migration takes all
-- of it away from PUBLIC and from milkbot_publisher.
--
-- pg_catalog objects belong to the bootstrap superuser, so only a superuser can revoke on them.
-- Run as a non-superuser (the daemon role running `milkbot db migrate`) it does what a database
-- owner can (no temporary tables, no CREATE in schema public) and warns while the routes are open.
-- deploy/postgres-roles.sh runs this same file as the superuser; it is idempotent, so run it again
-- (as the superuser) after installing any extension. The database owner (the daemon role in
-- production) gets back everything taken from PUBLIC: the daemon needs advisory locks, and its own
-- view of the statistics is no leak. What Postgres cannot close (timing and EXPLAIN BUFFERS of the
-- analytics functions) is in deploy/RUNBOOK.md with its mitigation.
DO $$
DECLARE
    db_owner   name := (SELECT pg_get_userbyid(datdba) FROM pg_database
                        WHERE datname = current_database());
    stats_ext  text[] := ARRAY['pg_stat_statements', 'pg_buffercache', 'pgstattuple',
                               'pg_freespacemap', 'pg_visibility', 'pg_walinspect', 'pageinspect',
                               'pg_stat_kcache', 'pg_wait_sampling', 'pg_qualstats',
                               'pg_stat_monitor'];
    grant_back boolean;
    obj        record;
    cols       text;
BEGIN
    -- A row the publisher writes carries its transaction id (xmin): no temporary tables, no tables
    -- in public.
    EXECUTE format('REVOKE TEMPORARY ON DATABASE %I FROM PUBLIC, milkbot_publisher',
                   current_database());
    IF EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = 'public') THEN
        REVOKE CREATE ON SCHEMA public FROM PUBLIC, milkbot_publisher;
    END IF;

    IF NOT (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
        IF has_table_privilege('milkbot_publisher', 'pg_catalog.pg_stat_all_tables', 'SELECT') THEN
            RAISE WARNING 'milkbot: not a superuser, so the statistics routes stay open to '
                          'milkbot_publisher; run this file as the postgres superuser '
                          '(deploy/postgres-roles.sh does)';
        END IF;
        RETURN;
    END IF;
    grant_back := db_owner <> 'milkbot_publisher'
                  AND NOT (SELECT rolsuper FROM pg_roles WHERE rolname = db_owner);

    -- No inherited way round: not pg_monitor, pg_read_all_stats, pg_read_all_data, the daemon role.
    FOR obj IN SELECT m.roleid::regrole::text AS role, m.grantor::regrole::text AS grantor
               FROM pg_auth_members m WHERE m.member = 'milkbot_publisher'::regrole LOOP
        -- Postgres 16+ keeps one membership per grantor and revokes only the one named.
        EXECUTE format('REVOKE %s FROM milkbot_publisher GRANTED BY %s', obj.role, obj.grantor);
    END LOOP;
    ALTER ROLE milkbot_publisher NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION NOBYPASSRLS;

    -- Statistics and lock views, in pg_catalog and in any statistics extension installed here.
    FOR obj IN
        SELECT c.oid::regclass AS rel FROM pg_class c
        WHERE c.relkind IN ('v', 'm', 'r')
          AND ((c.relnamespace = 'pg_catalog'::regnamespace
                AND (c.relname ~ '^pg_stat(io)?_'
                     OR c.relname IN ('pg_locks', 'pg_replication_slots', 'pg_prepared_xacts')))
               OR c.oid IN (SELECT d.objid FROM pg_depend d
                            JOIN pg_extension e ON e.oid = d.refobjid
                            WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e'
                              AND e.extname = ANY (stats_ext)))
    LOOP
        EXECUTE format('REVOKE ALL ON %s FROM PUBLIC, milkbot_publisher', obj.rel);
        IF grant_back THEN
            EXECUTE format('GRANT SELECT ON %s TO %I', obj.rel, db_owner);
        END IF;
    END LOOP;

    -- Functions behind those views and every other counter, size, lock, WAL or xid probe.
    FOR obj IN
        SELECT p.oid::regprocedure AS fn FROM pg_proc p
        WHERE (p.pronamespace = 'pg_catalog'::regnamespace
               AND (p.proname ~ '^pg_stat_'
                    OR p.proname ~ '^pg_(try_)?advisory_'
                    OR p.proname IN (
                        'pg_relation_size', 'pg_total_relation_size', 'pg_table_size',
                        'pg_indexes_size', 'pg_database_size', 'pg_tablespace_size',
                        'pg_relation_filenode', 'pg_relation_filepath',
                        'pg_lock_status', 'pg_blocking_pids', 'pg_safe_snapshot_blocking_pids',
                        'pg_isolation_test_session_is_blocked', 'pg_prepared_xact',
                        'pg_get_replication_slots',
                        'pg_current_wal_lsn', 'pg_current_wal_insert_lsn',
                        'pg_current_wal_flush_lsn', 'pg_last_wal_receive_lsn',
                        'pg_last_wal_replay_lsn', 'pg_last_xact_replay_timestamp',
                        'pg_control_checkpoint', 'pg_control_recovery', 'pg_control_system',
                        'pg_control_init',
                        'txid_current', 'txid_current_if_assigned', 'txid_current_snapshot',
                        'txid_status', 'pg_current_xact_id', 'pg_current_xact_id_if_assigned',
                        'pg_current_snapshot', 'pg_xact_status', 'pg_xact_commit_timestamp',
                        'pg_xact_commit_timestamp_origin', 'pg_last_committed_xact',
                        'mxid_age', 'pg_get_multixact_members', 'pg_notification_queue_usage',
                        'pg_cancel_backend', 'pg_terminate_backend',
                        'lo_create', 'lo_creat', 'lo_from_bytea', 'lo_import')
                    OR (p.proname = 'age' AND p.proargtypes = '28'::oidvector)))  -- age(xid)
           OR p.oid IN (SELECT d.objid FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                        WHERE d.classid = 'pg_proc'::regclass AND d.deptype = 'e'
                          AND e.extname = ANY (stats_ext))
    LOOP
        EXECUTE format('REVOKE ALL ON FUNCTION %s FROM PUBLIC, milkbot_publisher', obj.fn);
        IF grant_back THEN
            EXECUTE format('GRANT EXECUTE ON FUNCTION %s TO %I', obj.fn, db_owner);
        END IF;
    END LOOP;

    -- Catalog tables stay readable column by column, so clients keep working, but no system column
    -- (xmin, xmax, ctid: the xid of a row the publisher made with ALTER ROLE … SET) and none of the
    -- columns ANALYZE and VACUUM keep current (pg_class.reltuples/relpages/…,
    -- pg_database.datfrozenxid/datminmxid).
    FOR obj IN
        SELECT c.oid::regclass AS rel, c.relname FROM pg_class c
        WHERE c.relnamespace = 'pg_catalog'::regnamespace AND c.relkind = 'r'
          AND has_table_privilege('public', c.oid, 'SELECT')
    LOOP
        SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) INTO cols
        FROM pg_attribute a
        WHERE a.attrelid = obj.rel AND a.attnum > 0 AND NOT a.attisdropped
          AND NOT (obj.relname = 'pg_class' AND a.attname IN
                   ('relpages', 'reltuples', 'relallvisible', 'relfrozenxid', 'relminmxid'))
          AND NOT (obj.relname = 'pg_database'
                   AND a.attname IN ('datfrozenxid', 'datminmxid'));
        EXECUTE format('REVOKE SELECT ON %s FROM PUBLIC, milkbot_publisher', obj.rel);
        EXECUTE format('GRANT SELECT (%s) ON %s TO PUBLIC', cols, obj.rel);
        IF grant_back THEN
            EXECUTE format('GRANT SELECT ON %s TO %I', obj.rel, db_owner);
        END IF;
    END LOOP;
END
$$;
