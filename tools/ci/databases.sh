#!/usr/bin/env bash
# Starts throw-away PostgreSQL and MariaDB servers on 127.0.0.1 for the server-database tests and
# prints the `export` lines that point the tests at them (source the output:
# `eval "$(tools/ci/databases.sh)"`). Each gets a fresh data folder under $DB_ROOT and a free port;
# `tools/ci/databases.sh stop` stops both. Needs Debian's `postgresql` and `mariadb-server`.
set -euo pipefail
root="${DB_ROOT:-${TMPDIR:-/tmp}/stratus-databases}"

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

if [ "${1:-}" = stop ]; then
  pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
  [ -d "$root/pg" ] && su postgres -c "$pg_bin/pg_ctl -D '$root/pg' stop -m immediate" >/dev/null 2>&1 || true
  [ -f "$root/mariadb.pid" ] && kill "$(cat "$root/mariadb.pid")" 2>/dev/null || true
  exit 0
fi

rm -rf "$root" && mkdir -p "$root" && chmod 755 "$root"

# PostgreSQL: initdb as the postgres user (it refuses to run as root), password auth on TCP.
pg_bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
pg_port=$(free_port)
mkdir -p "$root/pg" && chown postgres "$root/pg"
echo stratus-test >"$root/pgpass" && chown postgres "$root/pgpass"
su postgres -c "$pg_bin/initdb -D '$root/pg' -U postgres --pwfile='$root/pgpass' -A scram-sha-256 --auth-local=trust" >"$root/pg-init.log" 2>&1
su postgres -c "$pg_bin/pg_ctl -D '$root/pg' -l '$root/pg/server.log' -w -o \"-h 127.0.0.1 -p $pg_port -k '$root/pg' -c fsync=off -c max_connections=200\" start" >/dev/null
su postgres -c "psql -h '$root/pg' -p $pg_port -U postgres -qc 'CREATE DATABASE stratus'" >/dev/null

# MariaDB: its own data folder and socket, root over TCP with a password.
my_port=$(free_port)
mariadb-install-db --no-defaults --datadir="$root/mariadb" --user=root --auth-root-authentication-method=normal >"$root/mariadb-init.log" 2>&1
mariadbd --no-defaults --datadir="$root/mariadb" --user=root --bind-address=127.0.0.1 --port="$my_port" \
  --socket="$root/mariadb.sock" --pid-file="$root/mariadb.pid" --skip-log-bin --innodb-flush-log-at-trx-commit=0 \
  --max-connections=300 >"$root/mariadb.log" 2>&1 &
for _ in $(seq 1 120); do
  mariadb --no-defaults --socket="$root/mariadb.sock" -uroot -e 'SELECT 1' >/dev/null 2>&1 && break
  sleep 0.5
done
mariadb --no-defaults --socket="$root/mariadb.sock" -uroot -e "
  CREATE DATABASE IF NOT EXISTS stratus;
  CREATE USER IF NOT EXISTS 'stratus'@'127.0.0.1' IDENTIFIED BY 'stratus-test';
  GRANT ALL PRIVILEGES ON *.* TO 'stratus'@'127.0.0.1';"

echo "export STRATUS_TEST_POSTGRES=postgres://postgres:stratus-test@127.0.0.1:$pg_port/stratus"
echo "export STRATUS_TEST_MYSQL=mysql://stratus:stratus-test@127.0.0.1:$my_port/stratus"
