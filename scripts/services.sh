#!/usr/bin/env bash
# Makes sure the servers the distributed topology and its tests need are running on this
# machine: PostgreSQL (5432), Redis (6379), NATS with JetStream (4222) and MariaDB (3306, the
# legacy WooCommerce database of the import tests; user root without a password from
# 127.0.0.1). Starts any that is down, using the system's packaged binaries (installing Debian's
# mariadb-server when it is missing and apt-get can), then waits until each answers.
#
# Usage: scripts/services.sh up      start what is missing and wait
#        scripts/services.sh check   report and exit non-zero if any is down
#        scripts/services.sh env     print the MERCATO_TEST_* exports for these servers
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379 NATS_PORT=4222 MYSQL_PORT=3306
STATE_DIR="${MERCATO_SERVICES_DIR:-/tmp/mercato-services}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
nats_up() { port_open "$NATS_PORT"; }
mysql_up() { mysql -h 127.0.0.1 -P "$MYSQL_PORT" -u root -e 'SELECT 1' >/dev/null 2>&1; }

start_postgres() {
  if command -v pg_ctlcluster >/dev/null && [ -d /etc/postgresql ]; then
    local version
    version="$(ls /etc/postgresql | sort -V | tail -1)"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  elif command -v pg_ctl >/dev/null; then
    mkdir -p "$STATE_DIR/pg"
    [ -f "$STATE_DIR/pg/PG_VERSION" ] || initdb -D "$STATE_DIR/pg" -A trust -U postgres >/dev/null
    pg_ctl -D "$STATE_DIR/pg" -l "$STATE_DIR/pg.log" -o "-p $PG_PORT -h $PG_HOST" start
  else
    echo "services: no PostgreSQL server found" >&2; return 1
  fi
}

start_redis() {
  local dir=/var/lib/redis log=/var/log/redis/ci.log
  if [ ! -w "$dir" ] || [ ! -d /var/log/redis ]; then
    mkdir -p "$STATE_DIR"; dir="$STATE_DIR"; log="$STATE_DIR/redis.log"
  fi
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "$dir" --logfile "$log"
}

start_nats() {
  local bin store=/var/lib/nats-server log=/var/log/nats-server.log
  bin="$(command -v nats-server || echo /usr/sbin/nats-server)"
  if [ ! -w "$(dirname "$store")" ]; then
    mkdir -p "$STATE_DIR"; store="$STATE_DIR/nats"; log="$STATE_DIR/nats.log"
  fi
  if command -v start-stop-daemon >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec "$bin" -- \
      -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$store" -l "$log"
  else
    nohup "$bin" -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$store" -l "$log" >/dev/null 2>&1 &
  fi
}

start_mariadb() {
  local bin=/usr/sbin/mariadbd datadir=/var/lib/mysql
  if [ ! -x "$bin" ] && command -v apt-get >/dev/null && [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q mariadb-server >/dev/null
  fi
  [ -x "$bin" ] || bin="$(command -v mariadbd || command -v mysqld || true)"
  if [ -z "$bin" ]; then echo "services: no MariaDB server found" >&2; return 1; fi
  local args=(--bind-address=127.0.0.1 --port="$MYSQL_PORT")
  if [ "$(id -u)" = 0 ]; then
    mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
    args+=(--user=mysql)
  fi
  if [ ! -d "$datadir/mysql" ] || [ ! -w "$datadir" ]; then
    datadir="$STATE_DIR/mariadb"; mkdir -p "$datadir"
    [ -d "$datadir/mysql" ] || mariadb-install-db --datadir="$datadir" --auth-root-authentication-method=normal >/dev/null
    args+=(--datadir="$datadir" --socket="$STATE_DIR/mariadb.sock" --pid-file="$STATE_DIR/mariadb.pid")
  fi
  if command -v start-stop-daemon >/dev/null; then
    start-stop-daemon --start --oknodo --background --exec "$bin" -- "${args[@]}"
  else
    nohup "$bin" "${args[@]}" >"$STATE_DIR/mariadb.log" 2>&1 &
  fi
}

# A fresh Debian install lets root in over the socket only; the tests come over TCP.
mariadb_root_over_tcp() {
  mysql_up && return 0
  mysql -u root -e "ALTER USER 'root'@'localhost' IDENTIFIED VIA mysql_native_password USING PASSWORD('') OR unix_socket; CREATE USER IF NOT EXISTS 'root'@'127.0.0.1'; GRANT ALL ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION" 2>/dev/null || true
  mysql_up
}

wait_for() {
  local name="$1" check="$2"
  for _ in $(seq 1 60); do
    if "$check"; then echo "services: $name is up"; return 0; fi
    sleep 0.5
  done
  echo "services: $name did not come up" >&2
  return 1
}

up() {
  pg_up || start_postgres
  redis_up || start_redis
  nats_up || start_nats
  mysql_up || port_open "$MYSQL_PORT" || start_mariadb
  wait_for postgres pg_up
  wait_for redis redis_up
  wait_for nats nats_up
  wait_for mariadb-port mariadb_port_open
  mariadb_root_over_tcp || { echo "services: MariaDB refuses root from 127.0.0.1" >&2; return 1; }
  echo "services: mariadb is up"
}

mariadb_port_open() { port_open "$MYSQL_PORT"; }

check() {
  local ok=0
  pg_up && echo "postgres: up" || { echo "postgres: down"; ok=1; }
  redis_up && echo "redis: up" || { echo "redis: down"; ok=1; }
  nats_up && echo "nats: up" || { echo "nats: down"; ok=1; }
  mysql_up && echo "mariadb: up" || { echo "mariadb: down"; ok=1; }
  return $ok
}

env_exports() {
  echo "export MERCATO_TEST_POSTGRES_URL=postgres://postgres@$PG_HOST:$PG_PORT/postgres"
  echo "export MERCATO_TEST_NATS_URL=nats://127.0.0.1:$NATS_PORT"
  echo "export MERCATO_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
  echo "export MERCATO_TEST_MYSQL_URL=mysql://root@127.0.0.1:$MYSQL_PORT"
}

case "${1:-up}" in
  up) up ;;
  check) check ;;
  env) env_exports ;;
  *) echo "usage: $0 up|check|env" >&2; exit 2 ;;
esac
