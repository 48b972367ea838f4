-- Isolation (DESIGN invariant 5): the publisher connects as milkbot_publisher, which can read the analytics
-- schema and nothing else. NOLOGIN here; deploy/postgres-roles.sh gives it a password and LOGIN in production.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'milkbot_publisher') THEN
        CREATE ROLE milkbot_publisher NOLOGIN;
    END IF;
END
$$;

REVOKE ALL ON SCHEMA ops FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ops FROM PUBLIC;
REVOKE ALL ON SCHEMA ops FROM milkbot_publisher;
REVOKE ALL ON ALL TABLES IN SCHEMA ops FROM milkbot_publisher;
GRANT USAGE ON SCHEMA analytics TO milkbot_publisher;
GRANT SELECT ON ALL TABLES IN SCHEMA analytics TO milkbot_publisher;
ALTER DEFAULT PRIVILEGES IN SCHEMA analytics GRANT SELECT ON TABLES TO milkbot_publisher;
