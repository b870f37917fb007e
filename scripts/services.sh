#!/usr/bin/env bash
# Makes sure the servers the distributed topology and its tests need are running on this
# machine: PostgreSQL (5432), Redis (6379) and NATS with JetStream (4222). Starts any that is
# down, using the system's packaged binaries, then waits until each answers.
#
# Usage: scripts/services.sh up      start what is missing and wait
#        scripts/services.sh check   report and exit non-zero if any is down
#        scripts/services.sh env     print the MERCATO_TEST_* exports for these servers
set -euo pipefail

PG_HOST=127.0.0.1 PG_PORT=5432 REDIS_PORT=6379 NATS_PORT=4222
STATE_DIR="${MERCATO_SERVICES_DIR:-/tmp/mercato-services}"

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

pg_up() { pg_isready -q -h "$PG_HOST" -p "$PG_PORT" 2>/dev/null; }
redis_up() { [ "$(redis-cli -p "$REDIS_PORT" ping 2>/dev/null)" = "PONG" ]; }
nats_up() { port_open "$NATS_PORT"; }

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
  wait_for postgres pg_up
  wait_for redis redis_up
  wait_for nats nats_up
}

check() {
  local ok=0
  pg_up && echo "postgres: up" || { echo "postgres: down"; ok=1; }
  redis_up && echo "redis: up" || { echo "redis: down"; ok=1; }
  nats_up && echo "nats: up" || { echo "nats: down"; ok=1; }
  return $ok
}

env_exports() {
  echo "export MERCATO_TEST_POSTGRES_URL=postgres://postgres@$PG_HOST:$PG_PORT/postgres"
  echo "export MERCATO_TEST_NATS_URL=nats://127.0.0.1:$NATS_PORT"
  echo "export MERCATO_TEST_REDIS_URL=redis://127.0.0.1:$REDIS_PORT"
}

case "${1:-up}" in
  up) up ;;
  check) check ;;
  env) env_exports ;;
  *) echo "usage: $0 up|check|env" >&2; exit 2 ;;
esac
