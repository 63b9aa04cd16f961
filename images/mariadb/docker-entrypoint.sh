#!/bin/bash
# The official mariadb image's start-up, for the parts lessons and compose files use.
set -eo pipefail
shopt -s nullglob

DATADIR=/var/lib/mysql
SOCKET=/run/mysqld/mysqld.sock

mysql_log() { printf '%s %s [Entrypoint]: %s\n' "$(date --rfc-3339=seconds)" "$1" "${*:2}"; }
mysql_note() { mysql_log Note "$@"; }
mysql_warn() { mysql_log Warn "$@" >&2; }
mysql_error() { mysql_log ERROR "$@" >&2; exit 1; }

# VAR or VAR_FILE (Docker secrets), MARIADB_* first, then the MYSQL_* alias.
file_env() {
	local var=$1 def=${2:-} mysqlvar=${1/MARIADB/MYSQL}
	local val=$def
	if [ -n "${!var:-}" ]; then val=${!var}
	elif [ -n "${!mysqlvar:-}" ]; then val=${!mysqlvar}
	elif [ -n "$(eval echo "\${${var}_FILE:-}")" ]; then val=$(< "$(eval echo "\${${var}_FILE}")")
	elif [ -n "$(eval echo "\${${mysqlvar}_FILE:-}")" ]; then val=$(< "$(eval echo "\${${mysqlvar}_FILE}")")
	fi
	export "$var"="$val"
	unset "${var}_FILE" "${mysqlvar}_FILE"
}

sql_string() { local s=${1//\\/\\\\}; s=${s//\'/\\\'}; printf "'%s'" "$s"; }
sql_ident() { printf '`%s`' "${1//\`/\`\`}"; }

setup_env() {
	file_env MARIADB_ROOT_PASSWORD
	file_env MARIADB_ROOT_HOST '%'
	file_env MARIADB_DATABASE
	file_env MARIADB_USER
	file_env MARIADB_PASSWORD
	# MYSQL_ALLOW_EMPTY_PASSWORD is the mysql image's name for the first one.
	: "${MARIADB_ALLOW_EMPTY_ROOT_PASSWORD:=${MARIADB_ALLOW_EMPTY_PASSWORD:-${MYSQL_ALLOW_EMPTY_PASSWORD:-}}}"
	: "${MARIADB_RANDOM_ROOT_PASSWORD:=${MYSQL_RANDOM_ROOT_PASSWORD:-}}"
	: "${MARIADB_INITDB_SKIP_TZINFO:=${MYSQL_INITDB_SKIP_TZINFO:-}}"
}

verify_env() {
	if [ -z "$MARIADB_ROOT_PASSWORD" ] && [ -z "$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD" ] && [ -z "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		mysql_error $'Database is uninitialized and password option is not specified\n\tYou need to specify one of MARIADB_ROOT_PASSWORD, MARIADB_ROOT_PASSWORD_HASH, MARIADB_ALLOW_EMPTY_ROOT_PASSWORD and MARIADB_RANDOM_ROOT_PASSWORD'
	fi
	if [ -n "$MARIADB_USER" ] && [ "$MARIADB_USER" = root ]; then
		mysql_error "MARIADB_USER=root: the root user is already created; use MARIADB_ROOT_PASSWORD for its password"
	fi
	if [ -n "$MARIADB_USER" ] && [ -z "$MARIADB_PASSWORD" ]; then
		mysql_warn "MARIADB_USER is set but MARIADB_PASSWORD is empty: the user will have no password"
	fi
}

# SQL through the temporary server's socket, as root (no password yet, or the one set).
process_sql() { mariadb --defaults-extra-file=/run/mysqld/.init.cnf --protocol=socket -uroot -hlocalhost --socket="$SOCKET" "$@"; }

temp_server_start() {
	"$@" --skip-networking --default-time-zone=SYSTEM --socket="$SOCKET" --wsrep_on=OFF \
		--loose-innodb_buffer_pool_load_at_startup=0 &
	TEMP_PID=$!
	local i
	for i in $(seq 60); do
		if mariadb-admin --protocol=socket --socket="$SOCKET" -uroot ping >/dev/null 2>&1 ||
		   process_sql -e 'SELECT 1' >/dev/null 2>&1; then return 0; fi
		kill -0 "$TEMP_PID" 2>/dev/null || mysql_error "the temporary server exited while starting"
		sleep 0.5
	done
	mysql_error "Unable to start the temporary server"
}

temp_server_stop() {
	kill -TERM "$TEMP_PID"
	wait "$TEMP_PID" || true
}

init_database() {
	mysql_note "Initializing database files"
	mariadb-install-db --datadir="$DATADIR" --rpm --auth-root-authentication-method=normal \
		--skip-test-db --default-time-zone=SYSTEM --skip-log-bin --expire-logs-days=0 \
		--loose-innodb_buffer_pool_load_at_startup=0 --loose-innodb_buffer_pool_dump_at_shutdown=0 >/dev/null
	mysql_note "Database files initialized"

	printf '[client]\npassword=\n' > /run/mysqld/.init.cnf
	chmod 600 /run/mysqld/.init.cnf
	mysql_note "Starting temporary server"
	temp_server_start "$@"
	mysql_note "Temporary server started."

	if [ -z "$MARIADB_INITDB_SKIP_TZINFO" ]; then
		mariadb-tzinfo-to-sql --skip-write-binlog /usr/share/zoneinfo 2>/dev/null | process_sql --database=mysql || true
	fi

	if [ -n "$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
		MARIADB_ROOT_PASSWORD=$(pwgen --numerals --capitalize --symbols --remove-chars="'\\" -1 32)
		mysql_note "GENERATED ROOT PASSWORD: $MARIADB_ROOT_PASSWORD"
	fi
	local root_pw health_pw
	root_pw=$(sql_string "$MARIADB_ROOT_PASSWORD")
	health_pw=$(pwgen --numerals --capitalize --remove-chars="'\\" -1 32)
	{
		echo "SET @@SESSION.SQL_LOG_BIN=0;"
		echo "DROP USER IF EXISTS root@'127.0.0.1', root@'::1';"
		echo "EXECUTE IMMEDIATE CONCAT('DROP USER IF EXISTS root@\\'', @@hostname,'\\'');"
		echo "SET PASSWORD FOR 'root'@'localhost' = PASSWORD($root_pw);"
		if [ "$MARIADB_ROOT_HOST" != localhost ]; then
			local host; host=$(sql_string "$MARIADB_ROOT_HOST")
			echo "CREATE USER 'root'@$host IDENTIFIED BY $root_pw;"
			echo "GRANT ALL ON *.* TO 'root'@$host WITH GRANT OPTION;"
			echo "GRANT PROXY ON ''@'%' TO 'root'@$host WITH GRANT OPTION;"
		fi
		echo "CREATE USER healthcheck@'127.0.0.1' IDENTIFIED BY '$health_pw';"
		echo "CREATE USER healthcheck@'::1' IDENTIFIED BY '$health_pw';"
		echo "CREATE USER healthcheck@localhost IDENTIFIED BY '$health_pw';"
		echo "GRANT USAGE ON *.* TO healthcheck@'127.0.0.1', healthcheck@'::1', healthcheck@localhost;"
		if [ -n "$MARIADB_DATABASE" ]; then
			mysql_note "Creating database ${MARIADB_DATABASE}" >&2
			echo "CREATE DATABASE IF NOT EXISTS $(sql_ident "$MARIADB_DATABASE");"
		fi
		if [ -n "$MARIADB_USER" ]; then
			mysql_note "Creating user ${MARIADB_USER}" >&2
			echo "CREATE USER $(sql_string "$MARIADB_USER")@'%' IDENTIFIED BY $(sql_string "$MARIADB_PASSWORD");"
			if [ -n "$MARIADB_DATABASE" ]; then
				mysql_note "Giving user ${MARIADB_USER} access to schema ${MARIADB_DATABASE}" >&2
				echo "GRANT ALL ON $(sql_ident "${MARIADB_DATABASE//_/\\_}").* TO $(sql_string "$MARIADB_USER")@'%';"
			fi
		fi
		echo "FLUSH PRIVILEGES;"
	} | process_sql --binary-mode
	printf '[client]\npassword=%s\n' "$MARIADB_ROOT_PASSWORD" > /run/mysqld/.init.cnf
	printf '[mariadb-client]\nport=3306\nsocket=%s\nuser=healthcheck\npassword=%s\n' "$SOCKET" "$health_pw" > "$DATADIR/.my-healthcheck.cnf"
	chmod 600 "$DATADIR/.my-healthcheck.cnf"

	local f
	for f in /docker-entrypoint-initdb.d/*; do
		case "$f" in
			*.sh) if [ -x "$f" ]; then mysql_note "$0: running $f"; "$f"; else mysql_note "$0: sourcing $f"; . "$f"; fi ;;
			*.sql) mysql_note "$0: running $f"; process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} < "$f" ;;
			*.sql.gz) mysql_note "$0: running $f"; gunzip -c "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
			*.sql.xz) mysql_note "$0: running $f"; xzcat "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
			*.sql.zst) mysql_note "$0: running $f"; zstd -dc "$f" | process_sql ${MARIADB_DATABASE:+--database="$MARIADB_DATABASE"} ;;
			*) mysql_warn "$0: ignoring $f" ;;
		esac
	done

	mysql_note "Stopping temporary server"
	temp_server_stop
	rm -f /run/mysqld/.init.cnf
	mysql_note "Temporary server stopped"
	echo
	mysql_note "MariaDB init process done. Ready for start up."
	echo
}

# `docker run mariadb --character-set-server=utf8mb4`: options for the server.
if [ "${1:0:1}" = '-' ]; then
	set -- mariadbd "$@"
fi

if [ "$1" = mariadbd ] || [ "$1" = mysqld ]; then
	mysql_note "Entrypoint script for MariaDB Server (Berth's build from Debian packages) started."
	if [ "$(id -u)" = 0 ]; then
		mkdir -p "$DATADIR" /run/mysqld
		find "$DATADIR" /run/mysqld \! -user mysql -exec chown mysql: '{}' +
		mysql_note "Switching to dedicated user 'mysql'"
		exec setpriv --reuid=mysql --regid=mysql --init-groups "${BASH_SOURCE[0]}" "$@"
	fi
	if [ ! -d "$DATADIR/mysql" ]; then
		setup_env
		verify_env
		init_database "$@"
	fi
fi

exec "$@"
