#!/bin/bash
# healthcheck.sh [--connect] [--innodb_initialized] [--su-mysql]: the official
# mariadb image's health checks that compose files use most. Exit 0 when healthy.
# Uses the healthcheck@127.0.0.1 account the entrypoint made at initialisation, over
# TCP as upstream's .my-healthcheck.cnf does: the entrypoint's temporary server
# (--skip-networking) never passes, so "healthy" means the real server is up.
set -uo pipefail
cnf=/var/lib/mysql/.my-healthcheck.cnf
sql() { mariadb --defaults-extra-file="$cnf" --protocol=tcp -h127.0.0.1 --skip-column-names -B -e "$1"; }
[ $# -gt 0 ] || set -- --connect
for check in "$@"; do
  case "$check" in
    --su-mysql|--su=mysql) ;;
    --connect) sql 'SELECT 1' >/dev/null || { echo "healthcheck connect failed" >&2; exit 1; } ;;
    --innodb_initialized)
      [ "$(sql "SELECT 1 FROM information_schema.ENGINES WHERE engine='innodb' AND support IN ('YES','DEFAULT')")" = 1 ] ||
        { echo "healthcheck innodb_initialized failed" >&2; exit 1; } ;;
    *) echo "healthcheck.sh: unsupported check $check (Berth's image knows --connect and --innodb_initialized)" >&2; exit 2 ;;
  esac
done
