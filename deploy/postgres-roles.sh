#!/usr/bin/env bash
# Create the production database and its two login roles. Run once as the postgres superuser:
#   sudo -u postgres bash deploy/postgres-roles.sh milkbot_live
# The daemon role owns the schema and runs migrations; the publisher role (created NOLOGIN by migration 0002)
# gets LOGIN and a password here and can SELECT analytics.* only.
set -euo pipefail
db="${1:?usage: postgres-roles.sh DATABASE}"
read -r -s -p "password for milkbot (daemon): " daemon_pw; echo
read -r -s -p "password for milkbot_publisher: " publisher_pw; echo
psql -v ON_ERROR_STOP=1 <<SQL
DO \$\$ BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'milkbot') THEN CREATE ROLE milkbot LOGIN; END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'milkbot_publisher') THEN CREATE ROLE milkbot_publisher NOLOGIN; END IF;
END \$\$;
ALTER ROLE milkbot PASSWORD '${daemon_pw}';
ALTER ROLE milkbot_publisher LOGIN PASSWORD '${publisher_pw}';
SELECT 'CREATE DATABASE ${db} OWNER milkbot' WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = '${db}')\gexec
REVOKE ALL ON DATABASE ${db} FROM PUBLIC;
GRANT CONNECT ON DATABASE ${db} TO milkbot, milkbot_publisher;
SQL
# As the superuser: close the statistics, size, lock and xid routes to the publisher (idempotent;
# see RUNBOOK "What the publisher role may not see").
hardening="$(dirname "$0")/../migrations/0040_publisher_stats_isolation.postgres.sql"
psql -v ON_ERROR_STOP=1 -d "$db" -f "$hardening"
echo "now run, as the daemon user: MILKBOT_DATABASE_URL=postgresql://milkbot:…@127.0.0.1/${db} milkbot db migrate"
