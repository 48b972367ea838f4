#!/usr/bin/env bash
# Nightly logical backup of the ledger, kept 14 days. Cron: 15 3 * * * milkbot /opt/milkbot/deploy/backup.sh
set -euo pipefail
url="${MILKBOT_DATABASE_URL:?set MILKBOT_DATABASE_URL}"
dest="${MILKBOT_BACKUP_DIR:-/var/lib/milkbot/backups}"
mkdir -p "$dest"
stamp=$(date -u +%Y%m%dT%H%M%SZ)
case "$url" in
  postgresql://*|postgres://*) pg_dump --format=custom --file "$dest/milkbot-$stamp.dump" "$url" ;;
  duckdb:///*) file="${url#duckdb://}"; cp "$file" "$dest/milkbot-$stamp.duckdb" ;;  # stop the daemon first: one writer
  *) echo "unknown database url" >&2; exit 2 ;;
esac
find "$dest" -name 'milkbot-*' -mtime +14 -delete
echo "backup written to $dest (stamp $stamp)"
